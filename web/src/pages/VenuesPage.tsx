import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, DatePicker, Form, Grid, Input, InputNumber, Modal, Popconfirm, Radio, Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import { DownloadOutlined, PlusOutlined, PrinterOutlined, SearchOutlined } from '@ant-design/icons';
import type { Dayjs } from 'dayjs';
import { ApiError, api, csrfToken } from '../api/client';
import { useUser, type CurrentUser } from '../auth/session';
import { ErrorAlert, PageTitle } from '../components/common';
import { CODE_COLORS, VENUE_KIND_LABELS, formatDateTime, shanghai, venueKindOptions } from '../format';
import { MIN_TRACE_PURPOSE_CHARACTERS, tracePurposeLength } from '../../../src/modules/venues/trace-purpose.js';
import { VenueDevicesDrawer } from './venues/VenueDevices';

/** GET /api/venues item. */
interface Venue {
  id: string;
  kind: string;
  name: string;
  address: string | null;
  operator: string;
  line: string | null;
  plate: string | null;
  status: string;
  codeVersion: number;
  codeIssuedAt: number;
  codeUrl: string;
  latitude: number | null;
  longitude: number | null;
}

/** POST /api/venue-tracing/* entry. */
interface TraceEntry {
  checkinId: string;
  checkedInAt: number;
  venueId: string;
  venueName: string;
  line: string | null;
  plate: string | null;
  operator: string;
  name: string;
  idNumber: string | null;
  phone: string | null;
  codeColor: string;
  method: string;
  codeSeen: boolean | null;
  flagged: boolean;
}

interface TraceResult {
  entries: TraceEntry[];
  truncated: boolean;
  venueCount: number;
}

interface Flag {
  id: string;
  checkinId: string;
  previousCheckinId: string;
  distanceM: number;
  minutes: number;
  status: string;
  createdAt: number;
  reviewedAt: number | null;
  reviewNote: string | null;
}

interface RetentionRun {
  id: string;
  ranAt: number;
  cutoff: number;
  retentionDays: number;
  checkinsDeleted: number;
  flagsDeleted: number;
  durationMs: number;
}


const CHECKIN_METHODS: Record<string, string> = { scan: '扫码', card_reader: '刷卡', card_typed: '输入卡号', manual: '人工登记' };

const MANAGER_ROLES = ['district_admin', 'school_admin'];
const TRACE_ROLES = ['district_admin', 'task_force'];

/** 'YYYY-MM-DD HH:mm' in Beijing time, the form the tracing API reads. */
function beijingText(value: Dayjs): string {
  return value.format('YYYY-MM-DD HH:mm');
}

function VenueList() {
  const isPhone = !Grid.useBreakpoint().md;
  const { message } = App.useApp();
  const client = useQueryClient();
  const user = useUser();
  const kindOptions = venueKindOptions(user.role);
  const [filter, setFilter] = useState<{ search?: string; line?: string; kind?: string; status?: string }>({ status: 'active' });
  const [creating, setCreating] = useState(false);
  const [reissuing, setReissuing] = useState<Venue | null>(null);
  const [devicesOf, setDevicesOf] = useState<Venue | null>(null);
  const [form] = Form.useForm();
  const [reissueForm] = Form.useForm<{ reason: string }>();

  const query = new URLSearchParams({ limit: '500' });
  for (const [key, value] of Object.entries(filter)) if (value) query.set(key, value);
  const venues = useQuery({ queryKey: ['venues', filter], queryFn: () => api<{ venues: Venue[]; total: number }>(`/api/venues?${query}`) });

  const refresh = () => client.invalidateQueries({ queryKey: ['venues'] });
  const create = useMutation({
    mutationFn: (values: Record<string, unknown>) => api<Venue>('/api/venues', { method: 'POST', body: values }),
    onSuccess: (venue) => {
      message.success(`已登记场所“${venue.name}”，可打印场所码`);
      setCreating(false);
      form.resetFields();
      void refresh();
    },
  });
  const reissue = useMutation({
    mutationFn: ({ venue, reason }: { venue: Venue; reason: string }) => api<Venue>(`/api/venues/${venue.id}/reissue`, { method: 'POST', body: { reason } }),
    onSuccess: (venue) => {
      message.success(`已换发第 ${venue.codeVersion} 版场所码，旧码已作废，请重新打印张贴`);
      setReissuing(null);
      reissueForm.resetFields();
      void refresh();
    },
  });
  const retire = useMutation({
    mutationFn: (venue: Venue) => api<Venue>(`/api/venues/${venue.id}/retire`, { method: 'POST' }),
    onSuccess: (venue) => {
      message.success(`场所“${venue.name}”已停用`);
      void refresh();
    },
    onError: (error) => message.error(error instanceof Error ? error.message : '停用失败'),
  });

  return (
    <>
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search aria-label="搜索场所" placeholder="名称、车牌或地址" allowClear style={{ width: 220 }} onSearch={(search) => setFilter((f) => ({ ...f, search }))} />
        <Input aria-label="线路" placeholder="线路，如 K101" allowClear style={{ width: 140 }} onChange={(e) => setFilter((f) => ({ ...f, line: e.target.value.trim() || undefined }))} />
        <Select aria-label="类型" placeholder="类型" allowClear style={{ width: 120 }} options={venueKindOptions()} onChange={(kind) => setFilter((f) => ({ ...f, kind }))} />
        <Select
          aria-label="状态"
          value={filter.status ?? ''}
          style={{ width: 110 }}
          options={[
            { value: 'active', label: '在用' },
            { value: 'retired', label: '已停用' },
            { value: '', label: '全部' },
          ]}
          onChange={(status) => setFilter((f) => ({ ...f, status: status || undefined }))}
        />
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
          登记场所
        </Button>
        <Button icon={<PrinterOutlined />} disabled={!filter.line} href={filter.line ? `/api/venue-posters?line=${encodeURIComponent(filter.line)}` : undefined} target="_blank" title={filter.line ? undefined : '先在“线路”中填写线路'}>
          打印整条线路
        </Button>
      </Space>
      {venues.error && <ErrorAlert error={venues.error} />}
      <Table<Venue>
        rowKey="id"
        size="middle"
        loading={venues.isLoading}
        dataSource={venues.data?.venues ?? []}
        pagination={{ pageSize: 20, showTotal: (total) => `共 ${total} 个场所` }}
        scroll={{ x: 900 }}
        columns={[
          { title: '名称', dataIndex: 'name' },
          { title: '类型', dataIndex: 'kind', width: 80, render: (kind: string) => VENUE_KIND_LABELS[kind] ?? kind },
          { title: '线路 / 车牌', key: 'bus', render: (_, v) => (v.line || v.plate ? `${v.line ? `${v.line}路 ` : ''}${v.plate ?? ''}` : '—') },
          { title: '运营单位', dataIndex: 'operator' },
          { title: '状态', dataIndex: 'status', width: 80, render: (status: string) => (status === 'active' ? <Tag color="green">在用</Tag> : <Tag>已停用</Tag>) },
          { title: '码版本', dataIndex: 'codeVersion', width: 80, render: (version: number, v) => <span title={`发码时间 ${formatDateTime(v.codeIssuedAt)}`}>第 {version} 版</span> },
          {
            title: '操作',
            key: 'actions',
            // Kept at the right edge, so on a phone the actions stay in view while the other columns scroll sideways.
            fixed: 'right',
            width: isPhone ? 124 : 270,
            render: (_, v) =>
              v.status === 'active' ? (
                <Space size="small" wrap>
                  <a href={`/api/venues/${v.id}/poster`} target="_blank" rel="noreferrer">
                    海报
                  </a>
                  <a href={`/api/venues/${v.id}/qr.png?width=1024`} download>
                    PNG
                  </a>
                  <a href={`/api/venues/${v.id}/qr.svg`} download>
                    SVG
                  </a>
                  <a onClick={() => setDevicesOf(v)}>设备</a>
                  <a onClick={() => setReissuing(v)}>换码</a>
                  <Popconfirm title={`停用“${v.name}”？停用后此码不能再登记。`} okText="停用" cancelText="取消" onConfirm={() => retire.mutate(v)}>
                    <a>停用</a>
                  </Popconfirm>
                </Space>
              ) : (
                '—'
              ),
          },
        ]}
      />

      <Modal open={creating} title="登记场所" okText="登记" cancelText="取消" confirmLoading={create.isPending} onCancel={() => setCreating(false)} onOk={() => form.submit()} destroyOnHidden>
        {create.error && <ErrorAlert error={create.error} />}
        <Form form={form} layout="vertical" initialValues={{ kind: kindOptions[0].value }} onFinish={(values) => create.mutate(values)}>
          <Form.Item name="kind" label="类型" rules={[{ required: true, message: '请选择类型' }]}>
            <Select options={kindOptions} />
          </Form.Item>
          <Form.Item name="name" label="名称" rules={[{ required: true, whitespace: true, message: '请填写场所名称' }, { max: 60, message: '名称不能超过 60 个字' }]}>
            <Input placeholder="如 1001 号车、城东菜场" />
          </Form.Item>
          <Form.Item name="operator" label="运营单位" rules={[{ required: true, whitespace: true, message: '请填写运营单位' }]}>
            <Input placeholder="如 市公交集团一公司" />
          </Form.Item>
          <Form.Item noStyle shouldUpdate={(a, b) => a.kind !== b.kind}>
            {({ getFieldValue }) =>
              getFieldValue('kind') === 'bus' ? (
                <Space style={{ display: 'flex' }} align="start">
                  <Form.Item name="line" label="线路" tooltip="不用写“路”字：K101路、k101 都按 K101 保存，显示为 K101路" rules={[{ required: true, whitespace: true, message: '公交车请填写线路' }]}>
                    <Input placeholder="K101" />
                  </Form.Item>
                  <Form.Item name="plate" label="车牌" rules={[{ required: true, whitespace: true, message: '公交车请填写车牌' }]}>
                    <Input placeholder="浙A·12345" />
                  </Form.Item>
                </Space>
              ) : (
                <Form.Item name="address" label="地址">
                  <Input />
                </Form.Item>
              )
            }
          </Form.Item>
          <Space style={{ display: 'flex' }} align="start">
            <Form.Item name="latitude" label="纬度（选填）" rules={[{ type: 'number', min: -90, max: 90, message: '纬度应在 -90 到 90 之间' }]}>
              <InputNumber style={{ width: 160 }} step={0.0001} />
            </Form.Item>
            <Form.Item name="longitude" label="经度（选填）" rules={[{ type: 'number', min: -180, max: 180, message: '经度应在 -180 到 180 之间' }]}>
              <InputNumber style={{ width: 160 }} step={0.0001} />
            </Form.Item>
          </Space>
          <Typography.Text type="secondary">填写经纬度后，同一身份证号在相距很远的场所短时间内登记会被标记待核查。</Typography.Text>
        </Form>
      </Modal>

      <VenueDevicesDrawer venue={devicesOf} onClose={() => setDevicesOf(null)} />

      <Modal
        open={reissuing !== null}
        title={`换发场所码：${reissuing?.name ?? ''}`}
        okText="换码"
        okButtonProps={{ danger: true }}
        cancelText="取消"
        confirmLoading={reissue.isPending}
        onCancel={() => setReissuing(null)}
        onOk={() => reissueForm.submit()}
        destroyOnHidden
      >
        <Alert type="warning" showIcon title="换码后旧海报立即失效，扫旧码的人会看到“场所码已作废”。请随后打印新海报张贴。" style={{ marginBottom: 16 }} />
        {reissue.error && <ErrorAlert error={reissue.error} />}
        <Form form={reissueForm} layout="vertical" onFinish={(values) => reissuing && reissue.mutate({ venue: reissuing, reason: values.reason })}>
          <Form.Item name="reason" label="换码原因" rules={[{ required: true, whitespace: true, message: '请填写换码原因，例如海报被涂改' }]}>
            <Input />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

interface TraceForm {
  mode: 'venue' | 'line' | 'person';
  venueId?: string;
  line?: string;
  idNumber?: string;
  phone?: string;
  period: [Dayjs, Dayjs];
  purpose: string;
}

/**
 * Return the period a new trace form starts with: from the start of this hour yesterday to
 * the end of this hour. The end lies ahead of now, so check-ins of the last minutes are found, and
 * still are when the form stays open for a while before the query is sent.
 */
function defaultTracePeriod(): [Dayjs, Dayjs] {
  const hour = shanghai().startOf('hour');
  return [hour.subtract(1, 'day'), hour.add(1, 'hour')];
}

/** Check a trace purpose by the server's rule, so a short one is caught before the query is sent. */
function checkPurpose(value: string | undefined): Promise<void> {
  const characters = tracePurposeLength(value ?? '');
  if (characters === 0) return Promise.reject(new Error('请填写查询目的，例如某病例的密接排查'));
  if (characters < MIN_TRACE_PURPOSE_CHARACTERS) {
    return Promise.reject(new Error(`查询目的至少 ${MIN_TRACE_PURPOSE_CHARACTERS} 个字（不含首尾空格），现在只有 ${characters} 个字，例如“12月3日确诊病例密接排查”`));
  }
  return Promise.resolve();
}

/** The request body of a trace form, and the API path it goes to. */
function traceRequest(values: TraceForm): { path: string; body: Record<string, unknown> } {
  const period = { from: beijingText(values.period[0]), to: beijingText(values.period[1]), purpose: values.purpose.trim() };
  if (values.mode === 'person') {
    return { path: '/api/venue-tracing/person', body: { ...period, idNumber: values.idNumber?.trim() || undefined, phone: values.phone?.trim() || undefined } };
  }
  return { path: '/api/venue-tracing/venue', body: { ...period, venueId: values.mode === 'venue' ? values.venueId : undefined, line: values.mode === 'line' ? values.line?.trim() : undefined } };
}

/** POST a trace with format xlsx and save the file the server returns. */
async function downloadTrace(values: TraceForm): Promise<void> {
  const { path, body } = traceRequest(values);
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
    body: JSON.stringify({ ...body, format: 'xlsx' }),
  });
  if (!response.ok) {
    const reply = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(response.status, reply.error ?? 'HTTP_ERROR', reply.message ?? `导出失败（HTTP ${response.status}）`);
  }
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `流调查询-${shanghai().format('YYYYMMDD-HHmm')}.xlsx`;
  link.click();
  URL.revokeObjectURL(link.href);
}

function Tracing() {
  const { message } = App.useApp();
  const [form] = Form.useForm<TraceForm>();
  const mode = Form.useWatch('mode', form) ?? 'line';
  const [venueSearch, setVenueSearch] = useState('');
  const venues = useQuery({
    queryKey: ['venue-options', venueSearch],
    queryFn: () => api<{ venues: Venue[] }>(`/api/venues?limit=50&search=${encodeURIComponent(venueSearch)}`),
    enabled: mode === 'venue',
  });
  const trace = useMutation({ mutationFn: (values: TraceForm) => api<TraceResult>(traceRequest(values).path, { method: 'POST', body: traceRequest(values).body }) });
  const exporting = useMutation({ mutationFn: downloadTrace, onError: (error) => message.error(error instanceof Error ? error.message : '导出失败') });

  const isPhone = !Grid.useBreakpoint().md;
  return (
    <>
      <Alert type="info" showIcon style={{ marginBottom: 16 }} title="每次查询和导出都会连同查询目的写入审计日志。结果含完整身份证号和手机号，仅用于流调。" />
      <Form<TraceForm>
        form={form}
        layout={isPhone ? 'vertical' : 'inline'}
        initialValues={{ mode: 'line', period: defaultTracePeriod() }}
        onFinish={(values) => trace.mutate(values)}
        style={{ rowGap: 12, marginBottom: 16 }}
      >
        <Form.Item name="mode">
          <Radio.Group
            optionType="button"
            options={[
              { value: 'line', label: '公交线路' },
              { value: 'venue', label: '单个场所' },
              { value: 'person', label: '个人行程' },
            ]}
          />
        </Form.Item>
        {mode === 'line' && (
          <Form.Item name="line" label="线路" rules={[{ required: true, whitespace: true, message: '请填写线路' }]}>
            <Input placeholder="K101" style={{ width: 120 }} />
          </Form.Item>
        )}
        {mode === 'venue' && (
          <Form.Item name="venueId" label="场所" rules={[{ required: true, message: '请选择场所' }]}>
            <Select
              showSearch={{ filterOption: false, onSearch: setVenueSearch }}
              placeholder="输入名称或车牌搜索"
              style={{ width: 240 }}
              loading={venues.isFetching}
              options={(venues.data?.venues ?? []).map((v) => ({ value: v.id, label: `${v.name}${v.plate ? ` ${v.plate}` : ''}` }))}
            />
          </Form.Item>
        )}
        {mode === 'person' && (
          <>
            <Form.Item name="idNumber" label="身份证号" dependencies={['phone']} rules={[
                ({ getFieldValue }) => ({ validator: (_, value) => (value?.trim() || getFieldValue('phone')?.trim() ? Promise.resolve() : Promise.reject(new Error('身份证号和手机号至少填一项'))) }),
                { pattern: /^\s*\d{17}[\dXx]\s*$/, message: '身份证号应为 18 位，最后一位可以是 X' },
              ]}>
              <Input style={{ width: 200 }} />
            </Form.Item>
            <Form.Item name="phone" label="手机号" rules={[{ pattern: /^\s*1\d{10}\s*$/, message: '手机号应为 11 位数字' }]}>
              <Input style={{ width: 150 }} />
            </Form.Item>
          </>
        )}
        <Form.Item name="period" label="时间（北京时间）" rules={[{ required: true, message: '请选择时间段' }]}>
          <DatePicker.RangePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" allowClear={false} style={isPhone ? { width: '100%' } : undefined} />
        </Form.Item>
        <Form.Item name="purpose" label="查询目的" required rules={[{ validator: (_, value: string | undefined) => checkPurpose(value) }]}>
          <Input placeholder="如 12月3日确诊病例密接排查" style={{ width: isPhone ? '100%' : 260 }} />
        </Form.Item>
        <Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />} loading={trace.isPending}>
              查询
            </Button>
            <Button icon={<DownloadOutlined />} loading={exporting.isPending} onClick={() =>
                form.validateFields().then(
                  (values) => exporting.mutate(values),
                  // The form already shows what is missing next to each field.
                  () => undefined,
                )
              }>
              导出 Excel
            </Button>
          </Space>
        </Form.Item>
      </Form>
      {trace.error && <ErrorAlert error={trace.error} />}
      {trace.data?.truncated && <Alert type="warning" showIcon style={{ marginBottom: 16 }} title="结果过多，只显示了前面的部分，请缩短时间段。" />}
      {trace.data && (
        <Typography.Paragraph data-testid="trace-summary">
          共 {trace.data.entries.length} 条登记，涉及 {trace.data.venueCount} 个场所。
        </Typography.Paragraph>
      )}
      <Table<TraceEntry>
        rowKey="checkinId"
        size="small"
        dataSource={trace.data?.entries ?? []}
        pagination={{ pageSize: 50 }}
        scroll={{ x: 1000 }}
        columns={[
          { title: '时间', dataIndex: 'checkedInAt', width: 150, render: formatDateTime },
          { title: '场所', key: 'venue', render: (_, e) => `${e.venueName}${e.line ? `（${e.line}路${e.plate ? ` ${e.plate}` : ''}）` : ''}` },
          { title: '姓名', dataIndex: 'name' },
          { title: '身份证号', dataIndex: 'idNumber', render: (value: string | null) => value ?? '—' },
          { title: '手机号', dataIndex: 'phone', render: (value: string | null) => value ?? '—' },
          { title: '健康码', dataIndex: 'codeColor', width: 90, render: (color: string) => <Tag color={CODE_COLORS[color]?.color}>{CODE_COLORS[color]?.label ?? color}</Tag> },
          { title: '方式', dataIndex: 'method', width: 90, render: (method: string, e) => `${CHECKIN_METHODS[method] ?? method}${e.codeSeen === false ? '（未见码）' : ''}` },
          { title: '核查', dataIndex: 'flagged', width: 80, render: (flagged: boolean) => (flagged ? <Tag color="orange">待核查</Tag> : null) },
        ]}
      />
    </>
  );
}

function Flags() {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [status, setStatus] = useState<'open' | 'reviewed'>('open');
  const flags = useQuery({ queryKey: ['venue-flags', status], queryFn: () => api<{ flags: Flag[] }>(`/api/venue-flags?status=${status}`) });
  const review = useMutation({
    mutationFn: ({ flag, note }: { flag: Flag; note: string }) => api(`/api/venue-flags/${flag.id}/review`, { method: 'POST', body: { note } }),
    onSuccess: () => {
      message.success('已标记为已核查');
      void client.invalidateQueries({ queryKey: ['venue-flags'] });
    },
    onError: (error) => message.error(error instanceof Error ? error.message : '操作失败'),
  });
  const [notes, setNotes] = useState<Record<string, string>>({});

  return (
    <>
      <Radio.Group
        optionType="button"
        value={status}
        onChange={(e) => setStatus(e.target.value)}
        options={[
          { value: 'open', label: '待核查' },
          { value: 'reviewed', label: '已核查' },
        ]}
        style={{ marginBottom: 16 }}
      />
      <Typography.Paragraph type="secondary">同一身份证号在相距很远的两个场所、短时间内先后登记，可能是代登记或证件被冒用。登记照常保存，这里只提示核查。</Typography.Paragraph>
      {flags.error && <ErrorAlert error={flags.error} />}
      <Table<Flag>
        rowKey="id"
        size="middle"
        loading={flags.isLoading}
        dataSource={flags.data?.flags ?? []}
        columns={[
          { title: '发现时间', dataIndex: 'createdAt', render: formatDateTime },
          { title: '两地距离', dataIndex: 'distanceM', render: (m: number) => (m >= 1000 ? `${(m / 1000).toFixed(1)} 公里` : `${m} 米`) },
          { title: '间隔', dataIndex: 'minutes', render: (minutes: number) => `${minutes} 分钟` },
          status === 'open'
            ? {
                title: '核查',
                key: 'review',
                render: (_, flag) => (
                  <Space.Compact>
                    <Input placeholder="核查说明" value={notes[flag.id] ?? ''} onChange={(e) => setNotes((n) => ({ ...n, [flag.id]: e.target.value }))} />
                    <Button onClick={() => review.mutate({ flag, note: notes[flag.id] ?? '' })}>已核查</Button>
                  </Space.Compact>
                ),
              }
            : { title: '核查说明', dataIndex: 'reviewNote', render: (note: string | null, flag) => `${note || '—'}（${formatDateTime(flag.reviewedAt)}）` },
        ]}
      />
    </>
  );
}

function Retention() {
  const { message } = App.useApp();
  const client = useQueryClient();
  const runs = useQuery({ queryKey: ['venue-retention'], queryFn: () => api<{ retentionDays: number; runs: RetentionRun[] }>('/api/venue-retention-runs') });
  const runNow = useMutation({
    mutationFn: () => api<{ checkinsDeleted: number }>('/api/venue-retention-runs', { method: 'POST' }),
    onSuccess: (run) => {
      message.success(`已清理 ${run.checkinsDeleted} 条过期登记`);
      void client.invalidateQueries({ queryKey: ['venue-retention'] });
    },
    onError: (error) => message.error(error instanceof Error ? error.message : '清理失败'),
  });
  return (
    <>
      <Space style={{ marginBottom: 16 }} wrap>
        <Typography.Text>场所登记保存 {runs.data?.retentionDays ?? '—'} 天，到期后每天自动删除，删除数量记录如下。</Typography.Text>
        <Popconfirm title="现在删除所有已过保存期限的登记？" okText="删除" cancelText="取消" onConfirm={() => runNow.mutate()}>
          <Button loading={runNow.isPending}>立即清理</Button>
        </Popconfirm>
      </Space>
      {runs.error && <ErrorAlert error={runs.error} />}
      <Table<RetentionRun>
        rowKey="id"
        size="middle"
        loading={runs.isLoading}
        dataSource={runs.data?.runs ?? []}
        columns={[
          { title: '执行时间', dataIndex: 'ranAt', render: formatDateTime },
          { title: '删除早于', dataIndex: 'cutoff', render: formatDateTime },
          { title: '删除登记', dataIndex: 'checkinsDeleted' },
          { title: '删除核查提示', dataIndex: 'flagsDeleted' },
          { title: '耗时', dataIndex: 'durationMs', render: (ms: number) => `${ms} 毫秒` },
        ]}
      />
    </>
  );
}

/** Tabs a role may open on this page. */
function tabsFor(user: CurrentUser) {
  const tabs = [];
  if (MANAGER_ROLES.includes(user.role)) tabs.push({ key: 'venues', label: '场所与场所码', children: <VenueList /> });
  if (TRACE_ROLES.includes(user.role)) {
    tabs.push({ key: 'trace', label: '流调查询', children: <Tracing /> });
    tabs.push({ key: 'flags', label: '异地登记核查', children: <Flags /> });
  }
  if (user.role === 'district_admin') tabs.push({ key: 'retention', label: '数据保留', children: <Retention /> });
  return tabs;
}

/** 场所码: venues and their posters for operators, tracing and review for the task force. */
export function VenuesPage() {
  const user = useUser();
  const tabs = tabsFor(user);
  return (
    <>
      <PageTitle title="场所码" />
      {tabs.length === 0 ? <Alert type="info" showIcon title="您的角色没有场所码相关的工作。" /> : <Tabs items={tabs} destroyOnHidden />}
    </>
  );
}
