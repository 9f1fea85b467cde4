import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Card, Col, Empty, Flex, Form, Grid, Input, InputNumber, Modal, Row, Segmented, Select, Space, Table, Tag, Typography } from 'antd';
import { api } from '../api/client';
import { useGateStream, useThrottledInvalidate } from '../api/live';
import { fillPath, useRoute } from '../api/routes';
import type { GateAlert } from '../api/types';
import { isAdmin, useUser, type CurrentUser } from '../auth/session';
import { ErrorAlert, Loading, MarkdownText, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { bodyTemperatureRule, formatDateTime, roleLabel } from '../format';
import { useSchool } from '../layout/school';
import type { NoticeView } from '../../../src/modules/notify/service.js';

const ALERT_KIND: Record<GateAlert['kind'], string> = { fever: '体温异常', code: '健康码异常', unknown_face: '未识别人员', device_offline: '设备离线' };
const ALERT_STATUS: Record<GateAlert['status'], { label: string; color: string }> = {
  open: { label: '待处理', color: 'error' },
  acknowledged: { label: '处理中', color: 'warning' },
  closed: { label: '已关闭', color: 'default' },
};

/** Outbox statuses as users read them, for pages that show one notice's status. */
export const NOTICE_STATUS: Record<string, { label: string; color: string }> = {
  pending: { label: '等待发送', color: 'default' },
  sending: { label: '发送中', color: 'processing' },
  confirming: { label: '确认中', color: 'processing' },
  sent: { label: '已送达', color: 'success' },
  filtered: { label: '被钉钉过滤', color: 'warning' },
  failed: { label: '无法送达', color: 'error' },
  dead: { label: '已放弃', color: 'error' },
};

/** Delivery states of GET /api/schools/:code/notices, in the order the filter shows them. */
const DELIVERY_STATES: Array<{ value: string; label: string }> = [
  { value: 'waiting', label: '等待发送' },
  { value: 'sent', label: '已送达' },
  { value: 'filtered', label: '被钉钉过滤' },
  { value: 'failed', label: '无法送达' },
  { value: 'dead', label: '已放弃' },
];

const BADGE_OF_STATE: Record<string, 'success' | 'error' | 'warning' | 'processing'> = {
  waiting: 'processing',
  sent: 'success',
  filtered: 'warning',
  failed: 'error',
  dead: 'error',
};

const CHANNELS: Record<string, string> = { dingtalk_work: '钉钉工作通知', dingtalk_robot: '钉钉群机器人', inbox: '站内消息' };

/** Roles that may close any alert; guards close only unknown-face alerts, as the server enforces. */
const CLOSE_ANY_ROLES = ['district_admin', 'school_admin', 'school_doctor'];
const RECHECK_ROLES = ['district_admin', 'school_admin', 'school_doctor'];
const ALERT_READERS = ['district_admin', 'school_admin', 'school_doctor', 'guard'];

/** A notice as GET /api/schools/:code/notices lists it. */
export type Notice = NoticeView;

type AlertAction = { kind: 'acknowledge' | 'recheck' | 'close'; alert: GateAlert };

function mayHandle(user: CurrentUser, alert: GateAlert): boolean {
  return alert.status !== 'closed' && (CLOSE_ANY_ROLES.includes(user.role) || alert.kind === 'unknown_face');
}

/** Title, button and note placeholder of each alert dialog. */
const DIALOG_TEXT: Record<AlertAction['kind'], { title: string; ok: string; placeholder: string }> = {
  acknowledge: { title: '确认预警', ok: '确认并处理', placeholder: '可选，例如“已通知班主任，学生在观察点休息”' },
  recheck: { title: '记录复测体温', ok: '保存复测', placeholder: '可选，例如“休息 10 分钟后复测”' },
  close: { title: '关闭预警', ok: '关闭预警', placeholder: '例如“已人工核验，为来访家长”' },
};

/** Returns the handling note shown for an alert: the closing note, else who acknowledged it and their note. */
function handlingNoteOf(alert: GateAlert): string {
  if (alert.closedNote) return alert.closedNote;
  if (alert.acknowledgedNote) return `${alert.acknowledgedBy ?? ''}：${alert.acknowledgedNote}`;
  return '';
}

/** Show the acknowledge, re-check or close dialog of one alert. */
function AlertActionModal({ schoolCode, action, onDone }: { schoolCode: string; action: AlertAction | null; onDone: () => void }) {
  const [form] = Form.useForm<{ temperature?: number; note?: string }>();
  const { message } = App.useApp();
  const client = useQueryClient();
  const submit = useMutation({
    mutationFn: async (values: { temperature?: number; note?: string }) => {
      const base = `/api/schools/${encodeURIComponent(schoolCode)}/alerts/${encodeURIComponent(action!.alert.id)}`;
      if (action!.kind === 'recheck') {
        return api<{ result: 'normal' | 'fever' }>(`${base}/recheck`, { method: 'POST', body: { temperature: values.temperature, note: values.note || undefined } });
      }
      if (action!.kind === 'acknowledge') return api<GateAlert>(`${base}/acknowledge`, { method: 'POST', body: { note: values.note || undefined } });
      return api<GateAlert>(`${base}/close`, { method: 'POST', body: { note: values.note } });
    },
    onSuccess: (reply) => {
      if (action?.kind === 'recheck') {
        const result = (reply as { result: 'normal' | 'fever' }).result;
        message.success(result === 'normal' ? '复测正常，预警已关闭，学生计为到校' : '复测仍发热，已通知班主任和校医安排接回');
      } else {
        message.success(action?.kind === 'acknowledge' ? '已确认，正在处理' : '预警已关闭');
      }
      form.resetFields();
      void client.invalidateQueries({ queryKey: ['gate-alerts', schoolCode] });
      onDone();
    },
  });
  const isRecheck = action?.kind === 'recheck';
  const noteIsOptional = action?.kind !== 'close';
  const text = DIALOG_TEXT[action?.kind ?? 'close'];
  return (
    <Modal
      open={action !== null}
      title={text.title}
      okText={text.ok}
      cancelText="取消"
      confirmLoading={submit.isPending}
      onOk={() => form.submit()}
      onCancel={() => {
        form.resetFields();
        submit.reset();
        onDone();
      }}
      destroyOnHidden
    >
      {action && (
        <Typography.Paragraph type="secondary">
          {action.alert.title}：<MarkdownText text={action.alert.detail} />
        </Typography.Paragraph>
      )}
      {submit.error && <ErrorAlert error={submit.error} />}
      <Form form={form} layout="vertical" onFinish={(values) => submit.mutate(values)} requiredMark={false}>
        {isRecheck && (
          <Form.Item
            name="temperature"
            label="复测体温（℃）"
            rules={[
              { required: true, message: '请输入复测体温' },
              bodyTemperatureRule,
            ]}
          >
            <InputNumber step={0.1} precision={1} style={{ width: 160 }} placeholder="例如 36.8" />
          </Form.Item>
        )}
        <Form.Item
          name="note"
          label="处理说明"
          rules={noteIsOptional ? [{ max: 500, message: '最多 500 字' }] : [{ required: true, whitespace: true, message: '请填写处理说明，例如“已人工核验，为来访家长”' }, { max: 500, message: '最多 500 字' }]}
        >
          <Input.TextArea rows={3} placeholder={text.placeholder} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function GateAlerts({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const route = useRoute('GET /api/schools/:code/alerts');
  const client = useQueryClient();
  const { message } = App.useApp();
  const [status, setStatus] = useState('open');
  const [kind, setKind] = useState<string | undefined>();
  const [action, setAction] = useState<AlertAction | null>(null);
  const canRead = ALERT_READERS.includes(user.role);
  const isPhone = !Grid.useBreakpoint().md;
  const alerts = useQuery({
    queryKey: ['gate-alerts', schoolCode, status, kind ?? 'all'],
    queryFn: () => {
      const query = new URLSearchParams();
      if (status !== 'all') query.set('status', status);
      if (kind) query.set('kind', kind);
      return api<{ alerts: GateAlert[] }>(fillPath(route.path!, { code: schoolCode }) + (query.toString() ? `?${query}` : ''));
    },
    enabled: route.path !== undefined && canRead,
    refetchInterval: 30_000,
  });
  // A denial at the gate can raise an alert: refetch shortly after one.
  const refresh = useThrottledInvalidate([['gate-alerts', schoolCode]], 1500);
  const stream = useGateStream(canRead ? schoolCode : undefined, (decision) => {
    if (decision.decision === 'deny') refresh();
  });

  if (route.isLoading) return <Loading />;
  if (!route.path || !canRead) return <NotOpen title="预警" />;

  const filters = (
    <Space wrap>
      {stream === 'open' && <Badge status="processing" text="实时" />}
      <Select
        allowClear
        placeholder="全部类型"
        aria-label="预警类型"
        style={{ width: 130 }}
        value={kind}
        onChange={setKind}
        options={Object.entries(ALERT_KIND).map(([value, label]) => ({ value, label }))}
      />
      <Segmented
        value={status}
        onChange={(value) => setStatus(String(value))}
        options={[
          { label: '待处理', value: 'open' },
          { label: '处理中', value: 'acknowledged' },
          { label: '已关闭', value: 'closed' },
          { label: '全部', value: 'all' },
        ]}
      />
    </Space>
  );
  const actionsOf = (alert: GateAlert) =>
    mayHandle(user, alert) ? (
      <Space size={4} wrap>
        {alert.status === 'open' && (
          <Button size="small" onClick={() => setAction({ kind: 'acknowledge', alert })}>
            确认
          </Button>
        )}
        {alert.kind === 'fever' && alert.personId !== null && RECHECK_ROLES.includes(user.role) && (
          <Button size="small" type="primary" onClick={() => setAction({ kind: 'recheck', alert })}>
            复测
          </Button>
        )}
        <Button size="small" onClick={() => setAction({ kind: 'close', alert })}>
          关闭
        </Button>
      </Space>
    ) : null;
  const rows = alerts.data?.alerts ?? [];

  return (
    <Card title="预警" extra={isPhone ? null : filters} data-testid="alerts-card">
      {isPhone && <div style={{ marginBottom: 8 }}>{filters}</div>}
      {alerts.error && <ErrorAlert error={alerts.error} />}
      {isPhone ? (
        // A table of six columns does not fit a phone; the doctor and the guard work from one.
        <div>
          {rows.length === 0 && !alerts.isLoading && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无数据" />}
          {rows.map((alert) => (
            <div key={alert.id} className="fk-line" style={{ display: 'block' }} data-testid="alert-item">
              <Flex justify="space-between" gap={8}>
                <span className="fk-line-title">{alert.title}</span>
                <Tag color={ALERT_STATUS[alert.status]?.color}>{ALERT_STATUS[alert.status]?.label ?? alert.status}</Tag>
              </Flex>
              <div className="fk-line-detail">
                <MarkdownText text={alert.detail} />
              </div>
              <div className="fk-line-detail">
                {formatDateTime(alert.createdAt)} · {ALERT_KIND[alert.kind] ?? alert.kind}
                {handlingNoteOf(alert) && ` · ${handlingNoteOf(alert)}`}
              </div>
              <div style={{ marginTop: 6 }}>{actionsOf(alert)}</div>
            </div>
          ))}
        </div>
      ) : (
        <Table<GateAlert>
          rowKey="id"
          size="small"
          loading={alerts.isLoading}
          dataSource={rows}
          scroll={{ x: 880 }}
          pagination={{ pageSize: 10, showSizeChanger: false, hideOnSinglePage: true }}
          columns={[
            { title: '时间', dataIndex: 'createdAt', width: 140, render: formatDateTime },
            { title: '类型', dataIndex: 'kind', width: 100, render: (value: GateAlert['kind']) => ALERT_KIND[value] ?? value },
            {
              title: '内容',
              dataIndex: 'title',
              render: (value: string, row) => (
                <>
                  <div>{value}</div>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    <MarkdownText text={row.detail} />
                  </Typography.Text>
                </>
              ),
            },
            {
              title: '状态',
              dataIndex: 'status',
              width: 80,
              render: (value: GateAlert['status']) => <Tag color={ALERT_STATUS[value]?.color}>{ALERT_STATUS[value]?.label ?? value}</Tag>,
            },
            {
              title: '处理说明',
              dataIndex: 'closedNote',
              width: 180,
              render: (_value: string | null, row) => handlingNoteOf(row),
            },
            { title: '操作', key: 'actions', width: 190, render: (_, alert) => actionsOf(alert) },
          ]}
        />
      )}
      <AlertActionModal schoolCode={schoolCode} action={action} onDone={() => setAction(null)} />
    </Card>
  );
}

function recipientOf(notice: Notice): string {
  if (notice.recipientGuardianId) return '家长';
  if (notice.recipientRole) return roleLabel(notice.recipientRole);
  if (notice.recipientPersonId) return '教职工';
  return notice.channel === 'dingtalk_robot' ? '钉钉群' : '—';
}

/** Notices a phone lists at first and adds with each 显示更多. */
const PHONE_PAGE = 20;

/**
 * List notices with their delivery state. Admins get the school's and may narrow them to
 * one class. A head teacher gets their own class only, which the server enforces.
 */
function Notices({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const route = useRoute('GET /api/schools/:code/notices');
  const retryRoute = useRoute('POST /api/notices/:id/retry');
  const client = useQueryClient();
  const { message } = App.useApp();
  const [state, setState] = useState('all');
  const [classId, setClassId] = useState<string | undefined>();
  const [phoneCount, setPhoneCount] = useState(PHONE_PAGE);
  const isPhone = !Grid.useBreakpoint().md;
  const canRetry = isAdmin(user) && retryRoute.path !== undefined;
  const classes = useQuery({
    queryKey: ['classes', schoolCode],
    queryFn: async () => (await api<{ items: Array<{ id: string; name: string }> }>(`/api/schools/${encodeURIComponent(schoolCode)}/classes`)).items,
    enabled: isAdmin(user),
  });
  const notices = useQuery({
    queryKey: ['notices', schoolCode, state, classId ?? 'all'],
    queryFn: () => {
      const query = new URLSearchParams({ limit: '200' });
      if (state !== 'all') query.set('state', state);
      if (classId) query.set('classId', classId);
      return api<{ counts: Record<string, number>; notices: Notice[] }>(fillPath(route.path!, { code: schoolCode }) + `?${query}`);
    },
    enabled: route.path !== undefined,
    refetchInterval: 10_000,
  });
  const retry = useMutation({
    mutationFn: (notice: Notice) => api<Notice>(fillPath(retryRoute.path!, { id: notice.id }), { method: 'POST' }),
    onSuccess: () => {
      message.success('已重新加入发送队列');
      void client.invalidateQueries({ queryKey: ['notices', schoolCode] });
    },
    onError: (error) => message.error(error.message),
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="通知与送达情况" />;
  const counts = notices.data?.counts;
  const total = counts ? Object.values(counts).reduce((sum, n) => sum + n, 0) : undefined;
  const label = (text: string, count: number | undefined) => (count === undefined ? text : `${text} ${count}`);
  const stateOptions = [{ value: 'all', label: label('全部', total) }, ...DELIVERY_STATES.map((s) => ({ value: s.value, label: label(s.label, counts?.[s.value]) }))];
  // Six states do not fit beside the title on a phone, so there they are a drop-down above the list.
  const stateFilter = isPhone ? (
    <Select aria-label="送达状态" value={state} onChange={setState} options={stateOptions} style={{ width: 180 }} />
  ) : (
    <Segmented value={state} onChange={(value) => setState(String(value))} options={stateOptions} />
  );
  const filter = (
    <Space wrap style={isPhone ? { marginBottom: 8 } : undefined}>
      {isAdmin(user) && (
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          aria-label="班级"
          placeholder="全部班级"
          style={{ width: 140 }}
          value={classId}
          onChange={setClassId}
          options={(classes.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
        />
      )}
      {stateFilter}
    </Space>
  );
  const title = user.role === 'head_teacher' ? `通知与送达情况 · ${user.className ?? '本班'}` : '通知与送达情况';
  const noteOf = (notice: Notice) => notice.deliveryNote ?? notice.lastError ?? (notice.sentAt ? `送达于 ${formatDateTime(notice.sentAt)}` : '');
  const retryButton = (notice: Notice) =>
    canRetry && ['failed', 'dead', 'filtered'].includes(notice.status) ? (
      <Button
        size="small"
        onClick={(event) => {
          event.stopPropagation();
          retry.mutate(notice);
        }}
        loading={retry.isPending && retry.variables?.id === notice.id}
      >
        重新发送
      </Button>
    ) : null;
  const rows = notices.data?.notices ?? [];

  return (
    <Card title={title} extra={isPhone ? null : filter} data-testid="notices-card">
      {isPhone && filter}
      {notices.error && <ErrorAlert error={notices.error} />}
      {isPhone ? (
        // Eight columns do not fit a phone, where head teachers read their class's notices.
        <div>
          {rows.length === 0 && !notices.isLoading && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无通知" />}
          {rows.slice(0, phoneCount).map((notice) => (
            <details key={notice.id} className="fk-line" style={{ display: 'block' }} data-testid="notice-item">
              <summary style={{ cursor: 'pointer', listStyle: 'none' }}>
                <Flex justify="space-between" gap={8}>
                  <span className="fk-line-title">{notice.title}</span>
                  <Badge status={BADGE_OF_STATE[notice.state] ?? 'processing'} text={notice.stateLabel} style={{ flex: 'none', whiteSpace: 'nowrap' }} />
                </Flex>
                <div className="fk-line-detail">
                  {formatDateTime(notice.createdAt)} · {recipientOf(notice)} · {CHANNELS[notice.channel] ?? notice.channel}
                </div>
              </summary>
              <div className="fk-line-detail" style={{ marginTop: 4 }}>
                <MarkdownText text={notice.body} />
              </div>
              {noteOf(notice) && <div className="fk-line-detail">{noteOf(notice)}</div>}
              {retryButton(notice) && <div style={{ marginTop: 6 }}>{retryButton(notice)}</div>}
            </details>
          ))}
          {rows.length > phoneCount && (
            <Button block style={{ marginTop: 8 }} onClick={() => setPhoneCount(phoneCount + PHONE_PAGE)}>
              显示更多（还有 {rows.length - phoneCount} 条）
            </Button>
          )}
        </div>
      ) : (
        <Table<Notice>
          rowKey="id"
          size="small"
          loading={notices.isLoading}
          dataSource={rows}
          scroll={{ x: 960 }}
          pagination={{ pageSize: 20, showSizeChanger: false, hideOnSinglePage: true }}
          expandable={{ expandedRowRender: (notice) => <MarkdownText text={notice.body} />, expandRowByClick: true }}
          columns={[
            { title: '时间', dataIndex: 'createdAt', width: 140, render: formatDateTime },
            { title: '标题', dataIndex: 'title' },
            { title: '接收人', key: 'recipient', width: 90, render: (_, notice) => recipientOf(notice) },
            { title: '渠道', dataIndex: 'channel', width: 110, render: (value: string) => CHANNELS[value] ?? value },
            {
              title: '送达状态',
              dataIndex: 'state',
              width: 110,
              render: (value: string, notice) => <Badge status={BADGE_OF_STATE[value] ?? 'processing'} text={notice.stateLabel} />,
            },
            { title: '次数', dataIndex: 'attempts', width: 60 },
            { title: '说明', key: 'note', width: 220, render: (_, notice) => noteOf(notice) },
            { title: '操作', key: 'retry', width: 100, render: (_, notice) => retryButton(notice) },
          ]}
        />
      )}
    </Card>
  );
}

export function NoticesPage() {
  const user = useUser();
  const { school } = useSchool();
  if (!school) return <NeedSchool title="预警与通知" />;
  return (
    <>
      <PageTitle title={`预警与通知 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        {ALERT_READERS.includes(user.role) && (
          <Col span={24}>
            <GateAlerts schoolCode={school.code} />
          </Col>
        )}
        {(isAdmin(user) || user.role === 'head_teacher') && (
          <Col span={24}>
            <Notices schoolCode={school.code} />
          </Col>
        )}
      </Row>
    </>
  );
}
