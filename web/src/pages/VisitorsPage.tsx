import { useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, DatePicker, Flex, Form, Grid, Input, InputNumber, List, Modal, Radio, Space, Statistic, Table, Tag, TimePicker, Typography } from 'antd';
import { LoginOutlined, LogoutOutlined, PlusOutlined, UserAddOutlined } from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { useUser } from '../auth/session';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { CODE_COLORS, GATE_REASONS, bodyTemperatureRule, formatTemperature, shanghai, todayInShanghai } from '../format';
import { useSchool } from '../layout/school';

/** GET /api/schools/:code/visitors item: ID numbers and phones show only their last 4 characters. */
interface Visitor {
  id: string;
  day: string;
  name: string;
  idNumberMasked: string | null;
  phoneMasked: string | null;
  purpose: string;
  expectedFrom: number | null;
  expectedTo: number | null;
  hostName: string;
  walkIn: boolean;
  walkInReason: string | null;
  status: 'expected' | 'inside' | 'left' | 'denied' | 'cancelled';
  enteredAt: number | null;
  exitedAt: number | null;
  temperature: number | null;
  codeColor: string | null;
  codeSource: string | null;
  reason: string | null;
  checkedAt: number | null;
}

interface VisitorDay {
  day: string;
  counts: { registered: number; walkIns: number; entered: number; inside: number; left: number; denied: number; expected: number; fevers: number; abnormalCodes: number };
  visitors: Visitor[];
}

interface CheckOutcome {
  visitor: Visitor;
  decision: 'pass' | 'deny';
  prompt: string;
}

const STATUS: Record<Visitor['status'], { label: string; color: string }> = {
  expected: { label: '待到访', color: 'blue' },
  inside: { label: '在校', color: 'green' },
  left: { label: '已离校', color: 'default' },
  denied: { label: '未准入', color: 'red' },
  cancelled: { label: '已取消', color: 'default' },
};

const GATE_ROLES = ['district_admin', 'school_admin', 'guard'];
const SHOWN_CODES = [
  { value: 'green', label: '绿码' },
  { value: 'yellow', label: '黄码' },
  { value: 'red', label: '红码' },
];

function clock(ms: number | null): string {
  return ms ? shanghai(ms).format('HH:mm') : '—';
}

function windowText(v: Visitor): string {
  return v.walkIn ? '未预约' : `${clock(v.expectedFrom)}–${clock(v.expectedTo)}`;
}

function identityText(v: Visitor): string {
  return [v.idNumberMasked && `身份证 ${v.idNumberMasked}`, v.phoneMasked && `手机 ${v.phoneMasked}`].filter(Boolean).join(' · ');
}

function CodeTag({ visitor }: { visitor: Visitor }) {
  if (!visitor.codeColor) return <>—</>;
  const code = CODE_COLORS[visitor.codeColor] ?? CODE_COLORS.unknown;
  return <Tag color={code.color}>{visitor.codeSource === 'shown' ? `${code.label}（出示）` : code.label}</Tag>;
}

interface RegisterValues {
  name: string;
  idNumber?: string;
  phone?: string;
  purpose: string;
  day: Dayjs;
  window: [Dayjs, Dayjs];
  hostName?: string;
}

interface WalkInValues {
  name: string;
  idNumber?: string;
  phone?: string;
  purpose: string;
  reason: string;
  hostName?: string;
  temperature: number;
  shownCode?: string;
}

/** Show the guard the result of a check: a success dialog for a pass, an error dialog with the reason for a denial. */
function showOutcome(modal: ReturnType<typeof App.useApp>['modal'], outcome: CheckOutcome) {
  const content = `${outcome.visitor.name}：${outcome.prompt}`;
  if (outcome.decision === 'pass') modal.success({ title: '准予入校', content, okText: '知道了' });
  else modal.error({ title: '禁止入校', content, okText: '知道了' });
}

export function VisitorsPage() {
  const user = useUser();
  const { school } = useSchool();
  const { modal, message } = App.useApp();
  const isPhone = !Grid.useBreakpoint().md;
  const queryClient = useQueryClient();
  const route = useRoute('GET /api/schools/:code/visitors');
  const [day, setDay] = useState<Dayjs>(shanghai());
  const [search, setSearch] = useState('');
  const [registering, setRegistering] = useState(false);
  const [walkingIn, setWalkingIn] = useState(false);
  const [arriving, setArriving] = useState<Visitor | null>(null);
  const [registerForm] = Form.useForm<RegisterValues>();
  const [walkInForm] = Form.useForm<WalkInValues>();
  const [arriveForm] = Form.useForm<{ temperature: number; shownCode?: string }>();
  const canCheck = GATE_ROLES.includes(user.role);
  const isToday = day.format('YYYY-MM-DD') === todayInShanghai();

  const base = school && route.path ? fillPath(route.path, { code: school.code }) : undefined;
  const list = useQuery({
    queryKey: ['visitors', school?.code, day.format('YYYY-MM-DD')],
    queryFn: () => api<VisitorDay>(`${base}?day=${day.format('YYYY-MM-DD')}`),
    enabled: base !== undefined,
    refetchInterval: 30_000,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['visitors', school?.code] });

  const register = useMutation({
    mutationFn: (values: RegisterValues) =>
      api<Visitor & { notSchoolDayText: string | null }>(base!, {
        method: 'POST',
        body: {
          name: values.name,
          idNumber: values.idNumber || null,
          phone: values.phone || null,
          purpose: values.purpose,
          day: values.day.format('YYYY-MM-DD'),
          from: values.window[0].format('HH:mm'),
          to: values.window[1].format('HH:mm'),
          hostName: values.hostName || null,
        },
      }),
    onSuccess: (visitor) => {
      message.success(`已登记访客 ${visitor.name}（${visitor.day}）`);
      // A visit on a day without school is allowed; the host should know nobody may be there.
      if (visitor.notSchoolDayText) message.warning(`${visitor.notSchoolDayText}，请确认当天有人接待`, 8);
      setRegistering(false);
      registerForm.resetFields();
      void refresh();
    },
  });
  const walkIn = useMutation({
    mutationFn: (values: WalkInValues) =>
      api<CheckOutcome>(`${base}/walk-in`, {
        method: 'POST',
        body: { ...values, idNumber: values.idNumber || null, phone: values.phone || null, hostName: values.hostName || null, shownCode: values.shownCode || null },
      }),
    onSuccess: (outcome) => {
      setWalkingIn(false);
      walkInForm.resetFields();
      showOutcome(modal, outcome);
      void refresh();
    },
  });
  const arrive = useMutation({
    mutationFn: (values: { temperature: number; shownCode?: string }) =>
      api<CheckOutcome>(`${base}/${arriving!.id}/arrive`, { method: 'POST', body: { temperature: values.temperature, shownCode: values.shownCode || null } }),
    onSuccess: (outcome) => {
      setArriving(null);
      arriveForm.resetFields();
      showOutcome(modal, outcome);
      void refresh();
    },
  });
  const exit = useMutation({
    mutationFn: (visitor: Visitor) => api<Visitor>(`${base}/${visitor.id}/exit`, { method: 'POST', body: {} }),
    onSuccess: (visitor) => {
      message.success(`已登记 ${visitor.name} 离校（${clock(visitor.exitedAt)}）`);
      void refresh();
    },
    onError: (error) => message.error(error.message),
  });

  const visitors = useMemo(() => {
    const all = list.data?.visitors ?? [];
    const text = search.trim();
    return text ? all.filter((v) => v.name.includes(text) || v.purpose.includes(text) || v.hostName.includes(text)) : all;
  }, [list.data, search]);

  if (!school) return <NeedSchool title="访客" />;
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="访客" />;

  const actions = (visitor: Visitor) =>
    canCheck && isToday ? (
      <Space size={4} wrap>
        {(visitor.status === 'expected' || visitor.status === 'denied') && (
          <Button size="small" type="primary" icon={<LoginOutlined />} onClick={() => setArriving(visitor)}>
            入校核验
          </Button>
        )}
        {visitor.status === 'inside' && (
          <Button
            size="small"
            icon={<LogoutOutlined />}
            loading={exit.isPending && exit.variables?.id === visitor.id}
            onClick={() => modal.confirm({ title: `登记 ${visitor.name} 离校？`, okText: '登记离校', cancelText: '取消', onOk: () => exit.mutateAsync(visitor) })}
          >
            登记离校
          </Button>
        )}
      </Space>
    ) : null;

  const counts = list.data?.counts;
  return (
    <>
      <PageTitle
        title={`访客 · ${school.name}`}
        extra={
          <Space wrap>
            <DatePicker value={day} onChange={(value) => value && setDay(value)} allowClear={false} aria-label="日期" />
            <Button icon={<PlusOutlined />} onClick={() => setRegistering(true)}>
              预约登记
            </Button>
            {canCheck && (
              <Button type="primary" icon={<UserAddOutlined />} onClick={() => setWalkingIn(true)} disabled={!isToday}>
                未预约登记
              </Button>
            )}
          </Space>
        }
      />
      {list.error && <ErrorAlert error={list.error} />}
      {counts && (
        <Card size="small" style={{ marginBottom: 16 }}>
          <Flex wrap gap={isPhone ? 16 : 40} data-testid="visitor-counts">
            <Statistic title="预约" value={counts.registered} />
            <Statistic title="未预约" value={counts.walkIns} />
            <Statistic title="待到访" value={counts.expected} />
            <Statistic title="在校" value={counts.inside} />
            <Statistic title="已离校" value={counts.left} />
            <Statistic title="未准入" value={counts.denied} valueStyle={counts.denied > 0 ? { color: '#cf1322' } : undefined} />
          </Flex>
        </Card>
      )}
      <Card
        title={`${day.format('M月D日')}访客`}
        extra={<Input.Search allowClear placeholder="姓名、事由或接待人" style={{ width: isPhone ? 150 : 240 }} onChange={(e) => setSearch(e.target.value)} aria-label="查找访客" />}
        styles={isPhone ? { body: { padding: 8 } } : undefined}
      >
        {isPhone ? (
          <List
            loading={list.isLoading}
            dataSource={visitors}
            locale={{ emptyText: '当天没有访客' }}
            renderItem={(v) => (
              <List.Item key={v.id} data-testid="visitor-item" actions={[]}>
                <Flex vertical gap={4} style={{ width: '100%' }}>
                  <Flex justify="space-between" align="center">
                    <Typography.Text strong>{v.name}</Typography.Text>
                    <Tag color={STATUS[v.status].color}>{STATUS[v.status].label}</Tag>
                  </Flex>
                  <Typography.Text type="secondary">{v.purpose} · 接待：{v.hostName}</Typography.Text>
                  <Typography.Text type="secondary">{identityText(v)}</Typography.Text>
                  <Typography.Text>
                    {windowText(v)}　入校 {clock(v.enteredAt)}　离校 {clock(v.exitedAt)}
                    {v.checkedAt !== null && (
                      <>
                        {'　'}
                        {formatTemperature(v.temperature)} <CodeTag visitor={v} />
                      </>
                    )}
                  </Typography.Text>
                  {v.status === 'denied' && v.reason && <Typography.Text type="danger">未准入原因：{GATE_REASONS[v.reason] ?? v.reason}</Typography.Text>}
                  {v.walkInReason && <Typography.Text type="secondary">未预约原因：{v.walkInReason}</Typography.Text>}
                  {actions(v)}
                </Flex>
              </List.Item>
            )}
          />
        ) : (
          <Table<Visitor>
            rowKey="id"
            size="small"
            loading={list.isLoading}
            dataSource={visitors}
            pagination={{ hideOnSinglePage: true, pageSize: 50 }}
            scroll={{ x: 1150 }}
            locale={{ emptyText: '当天没有访客' }}
            columns={[
              { title: '姓名', dataIndex: 'name', width: 90 },
              {
                title: '证件 / 手机',
                key: 'identity',
                width: 190,
                render: (_, v) => (
                  <div style={{ whiteSpace: 'nowrap' }}>
                    {v.idNumberMasked && <div>身份证 {v.idNumberMasked}</div>}
                    {v.phoneMasked && <div>手机 {v.phoneMasked}</div>}
                  </div>
                ),
              },
              { title: '来访事由', dataIndex: 'purpose', width: 200, render: (value: string, v) => (v.walkInReason ? <span title={`未预约原因：${v.walkInReason}`}>{value}</span> : value) },
              { title: '接待人', dataIndex: 'hostName', width: 120 },
              { title: '预计时间', key: 'window', width: 110, render: (_, v) => windowText(v) },
              { title: '入校', dataIndex: 'enteredAt', width: 70, render: clock },
              { title: '离校', dataIndex: 'exitedAt', width: 70, render: clock },
              { title: '体温', dataIndex: 'temperature', width: 80, render: formatTemperature },
              { title: '健康码', key: 'code', width: 110, render: (_, v) => <CodeTag visitor={v} /> },
              {
                title: '状态',
                dataIndex: 'status',
                width: 110,
                render: (status: Visitor['status'], v) => (
                  <Tag color={STATUS[status].color}>{status === 'denied' && v.reason ? `${STATUS[status].label}·${GATE_REASONS[v.reason] ?? v.reason}` : STATUS[status].label}</Tag>
                ),
              },
              ...(canCheck && isToday ? [{ title: '操作', key: 'actions', width: 130, render: (_: unknown, v: Visitor) => actions(v) }] : []),
            ]}
          />
        )}
      </Card>

      <Modal title="预约登记访客" open={registering} onCancel={() => setRegistering(false)} onOk={() => registerForm.submit()} okText="登记" cancelText="取消" confirmLoading={register.isPending}>
        {register.error && <ErrorAlert error={register.error} />}
        <Form
          form={registerForm}
          name="visitor-register"
          layout="vertical"
          requiredMark={false}
          initialValues={{ day: shanghai(), window: [dayjs('2000-01-01 09:00'), dayjs('2000-01-01 11:00')] }}
          onFinish={(values) => register.mutate(values)}
        >
          <VisitorFields />
          <Form.Item name="day" label="到访日期" rules={[{ required: true, message: '请选择到访日期' }]}>
            <DatePicker style={{ width: '100%' }} disabledDate={(d) => d.format('YYYY-MM-DD') < todayInShanghai()} />
          </Form.Item>
          <Form.Item name="window" label="预计到达 — 离开" rules={[{ required: true, message: '请选择预计时间' }]}>
            <TimePicker.RangePicker format="HH:mm" minuteStep={5} style={{ width: '100%' }} order={false} />
          </Form.Item>
          <Form.Item name="hostName" label="接待人" extra={`不填则为本人（${user.displayName}）`}>
            <Input maxLength={50} />
          </Form.Item>
        </Form>
      </Modal>

      <Modal title="未预约访客登记" open={walkingIn} onCancel={() => setWalkingIn(false)} onOk={() => walkInForm.submit()} okText="核验并登记" cancelText="取消" confirmLoading={walkIn.isPending}>
        {walkIn.error && <ErrorAlert error={walkIn.error} />}
        <Form form={walkInForm} name="visitor-walk-in" layout="vertical" requiredMark={false} onFinish={(values) => walkIn.mutate(values)}>
          <VisitorFields />
          <Form.Item name="reason" label="未预约原因" rules={[{ required: true, message: '请填写未预约原因' }]}>
            <Input maxLength={200} placeholder="例如：临时送修设备" />
          </Form.Item>
          <Form.Item name="hostName" label="接待人">
            <Input maxLength={50} />
          </Form.Item>
          <CheckFields showCode />
        </Form>
      </Modal>

      <Modal
        title={arriving ? `入校核验：${arriving.name}` : '入校核验'}
        open={arriving !== null}
        onCancel={() => setArriving(null)}
        onOk={() => arriveForm.submit()}
        okText="核验"
        cancelText="取消"
        confirmLoading={arrive.isPending}
      >
        {arrive.error && <ErrorAlert error={arrive.error} />}
        {arriving && <Typography.Paragraph type="secondary">{[arriving.purpose, `接待：${arriving.hostName}`, identityText(arriving)].join(' · ')}</Typography.Paragraph>}
        <Form form={arriveForm} name="visitor-arrive" layout="vertical" requiredMark={false} onFinish={(values) => arrive.mutate(values)}>
          <CheckFields showCode={arriving !== null && !arriving.idNumberMasked} />
        </Form>
      </Modal>
    </>
  );
}

/** Name, ID number or phone, and purpose: shared by registration and walk-in. */
function VisitorFields() {
  return (
    <>
      <Form.Item name="name" label="姓名" rules={[{ required: true, message: '请填写访客姓名' }]}>
        <Input maxLength={50} autoComplete="off" />
      </Form.Item>
      <Form.Item name="idNumber" label="身份证号" extra="身份证号和手机号至少填一项；有身份证号时自动查询健康码">
        <Input maxLength={18} autoComplete="off" inputMode="text" />
      </Form.Item>
      <Form.Item name="phone" label="手机号">
        <Input maxLength={13} autoComplete="off" inputMode="tel" />
      </Form.Item>
      <Form.Item name="purpose" label="来访事由" rules={[{ required: true, message: '请填写来访事由' }]}>
        <Input maxLength={200} />
      </Form.Item>
    </>
  );
}

/** Whether the form's ID number field holds anything; an empty field means the code cannot be looked up. */
function idNumberGiven(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}

/** Temperature, and the code the visitor shows when no ID number can be looked up. */
function CheckFields({ showCode }: { showCode: boolean }) {
  return (
    <>
      <Form.Item name="temperature" label="体温（℃）" rules={[{ required: true, message: '请填写测得的体温' }, bodyTemperatureRule]}>
        <InputNumber step={0.1} precision={1} style={{ width: '100%' }} inputMode="decimal" placeholder="例如 36.5" />
      </Form.Item>
      {showCode && (
        <>
          <Alert type="info" showIcon title="未登记身份证号时无法查询健康码，请查看访客出示的健康码并选择颜色" style={{ marginBottom: 12 }} />
          {/* The server cannot look a code up without an ID number, so the colour is then required. */}
          <Form.Item noStyle dependencies={['idNumber']}>
            {({ getFieldValue }) => (
              <Form.Item
                name="shownCode"
                label="出示的健康码"
                rules={[{ required: !idNumberGiven(getFieldValue('idNumber')), message: '请选择访客出示的健康码颜色' }]}
              >
                <Radio.Group options={SHOWN_CODES} optionType="button" />
              </Form.Item>
            )}
          </Form.Item>
        </>
      )}
    </>
  );
}
