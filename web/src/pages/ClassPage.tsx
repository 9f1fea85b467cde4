import { useState, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Badge, Button, Card, Col, Empty, Flex, Row, Select, Space, Tag, Typography } from 'antd';
import { AlertOutlined, CheckCircleFilled, MailOutlined, WarningFilled } from '@ant-design/icons';
import { api } from '../api/client';
import { useGateStream, useThrottledInvalidate, type LiveDecision } from '../api/live';
import { fillPath, useQueryParameter, useRoute } from '../api/routes';
import type { AttendanceDay, ClassSummary, CodeEntry, GateEvent, InboxMessage } from '../api/types';
import { useUser } from '../auth/session';
import { ErrorAlert, Loading, MarkdownText, NotOpen } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { CODE_COLORS, GATE_REASONS, codeTagsOf, formatDateTime, formatTemperature, formatTime, shanghai } from '../format';
import { useSchool } from '../layout/school';
import { NOTICE_STATUS, type Notice } from './NoticesPage';

const CLASS_STORAGE_KEY = 'fangkong.class';

/** A row of a phone list: the main text on the left, tags or an action on the right. */
function Line({ title, detail, extra, testId }: { title: ReactNode; detail?: ReactNode; extra?: ReactNode; testId?: string }) {
  return (
    <div className="fk-line" data-testid={testId}>
      <div style={{ minWidth: 0 }}>
        <div className="fk-line-title">{title}</div>
        {detail && <div className="fk-line-detail">{detail}</div>}
      </div>
      {extra && <div style={{ flexShrink: 0 }}>{extra}</div>}
    </div>
  );
}

function Tile({ label, value, tone, testId }: { label: string; value: ReactNode; tone?: 'danger' | 'warning' | 'success'; testId: string }) {
  return (
    <div className={`fk-tile ${tone ? `fk-tile-${tone}` : ''}`} data-testid={testId}>
      <div className="fk-tile-value">{value}</div>
      <div className="fk-tile-label">{label}</div>
    </div>
  );
}

function CodeTagOf({ code }: { code: CodeEntry | undefined }) {
  if (!code) return <Tag>无记录</Tag>;
  return (
    <Space size={2}>
      {codeTagsOf(code).map((tag) => (
        <Tag key={tag.label} color={tag.color}>
          {tag.label}
        </Tag>
      ))}
    </Space>
  );
}

/** Return the class to show and, for a teacher without a class of their own, a picker; head teachers see only theirs. */
function useClassChoice(schoolCode: string): { classId: string | null; picker: ReactNode } {
  const user = useUser();
  const route = useRoute('GET /api/schools/:code/classes');
  const isHeadTeacher = user.role === 'head_teacher';
  const [picked, setPicked] = useState<string | null>(() => localStorage.getItem(CLASS_STORAGE_KEY));
  const classes = useQuery({
    queryKey: ['classes', schoolCode],
    queryFn: async () => (await api<{ items: ClassSummary[] }>(fillPath(route.path!, { code: schoolCode }))).items,
    enabled: route.path !== undefined && !isHeadTeacher,
  });
  if (isHeadTeacher) return { classId: user.classId, picker: null };

  const valid = classes.data?.some((c) => c.id === picked) ? picked : null;
  const picker = (
    <Select
      aria-label="选择班级"
      placeholder="选择班级"
      style={{ width: 140 }}
      value={valid ?? undefined}
      loading={classes.isLoading}
      showSearch={{ optionFilterProp: 'label' }}
      onChange={(value: string) => {
        localStorage.setItem(CLASS_STORAGE_KEY, value);
        setPicked(value);
      }}
      options={(classes.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
    />
  );
  return { classId: valid, picker };
}

function ParentNotices({ schoolCode, classId }: { schoolCode: string; classId: string }) {
  const route = useRoute('GET /api/schools/:code/notices');
  const byClass = useQueryParameter('GET /api/schools/:code/notices', 'classId');
  const notices = useQuery({
    queryKey: ['notices', schoolCode, 'class', classId],
    queryFn: async () => (await api<{ notices: Notice[] }>(fillPath(route.path!, { code: schoolCode }) + `?classId=${encodeURIComponent(classId)}&limit=30`)).notices,
    enabled: route.path !== undefined && byClass === true,
  });
  if (route.isLoading || byClass === undefined) return null;
  // The notice list can be read per class only once the notify API filters by class.
  if (!route.path || !byClass) return <NotOpen title="家长通知" compact />;
  const toParents = (notices.data ?? []).filter((notice) => notice.recipientGuardianId);
  return (
    <Card size="small" title="家长通知" loading={notices.isLoading}>
      {notices.error && <ErrorAlert error={notices.error} />}
      {toParents.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="今日没有发给家长的通知" />
      ) : (
        toParents.map((notice) => (
          <Line
            key={notice.id}
            title={notice.title}
            detail={formatDateTime(notice.createdAt)}
            extra={<Tag color={NOTICE_STATUS[notice.status]?.color}>{notice.stateLabel ?? NOTICE_STATUS[notice.status]?.label ?? notice.status}</Tag>}
          />
        ))
      )}
    </Card>
  );
}

function Inbox({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/inbox');
  const client = useQueryClient();
  const inbox = useQuery({
    queryKey: ['inbox', schoolCode],
    queryFn: async () => (await api<{ items: InboxMessage[] }>(fillPath(route.path!, { code: schoolCode }) + '?limit=20')).items,
    enabled: route.path !== undefined,
    refetchInterval: 60_000,
  });
  const markRead = useMutation({
    mutationFn: (id: string) => api(`/api/schools/${encodeURIComponent(schoolCode)}/inbox/${encodeURIComponent(id)}/read`, { method: 'POST' }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['inbox', schoolCode] }),
  });
  if (route.isLoading) return null;
  if (!route.path) return <NotOpen title="站内消息" compact />;
  const items = inbox.data ?? [];
  const unread = items.filter((m) => m.readAt === null).length;
  return (
    <Card
      size="small"
      title={
        <Space size={6}>
          站内消息
          <Badge count={unread} />
        </Space>
      }
      loading={inbox.isLoading}
      data-testid="class-inbox"
    >
      {inbox.error && <ErrorAlert error={inbox.error} />}
      {items.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="没有消息" />
      ) : (
        items.map((message) => (
          <Line
            key={message.id}
            title={
              <Typography.Text strong={message.readAt === null}>
                <MailOutlined style={{ marginRight: 6, color: message.readAt === null ? '#1677ff' : '#bfbfbf' }} />
                {message.title}
              </Typography.Text>
            }
            detail={
              <>
                <MarkdownText text={message.body} />
                <div>{formatDateTime(message.createdAt)}</div>
              </>
            }
            extra={
              message.readAt === null ? (
                <Button size="small" onClick={() => markRead.mutate(message.id)} loading={markRead.isPending && markRead.variables === message.id}>
                  标为已读
                </Button>
              ) : null
            }
          />
        ))
      )}
    </Card>
  );
}

interface ActionItem {
  key: string;
  title: string;
  detail: string;
  tone: 'danger' | 'warning';
}

function ClassToday({ schoolCode, classId, picker }: { schoolCode: string; classId: string; picker: ReactNode }) {
  const today = shanghai().format('YYYY-MM-DD');
  const attendanceRoute = useRoute('GET /api/schools/:code/attendance');
  const codesRoute = useRoute('GET /api/schools/:code/codes');
  const eventsRoute = useRoute('GET /api/schools/:code/gate/events');
  const [lastLive, setLastLive] = useState<LiveDecision | null>(null);

  const attendance = useQuery({
    queryKey: ['attendance', schoolCode, today, classId],
    queryFn: () => api<AttendanceDay>(fillPath(attendanceRoute.path!, { code: schoolCode }) + `?day=${today}&classId=${encodeURIComponent(classId)}`),
    enabled: attendanceRoute.path !== undefined,
  });
  const codes = useQuery({
    queryKey: ['codes', schoolCode, 'class', classId],
    queryFn: () => api<{ items: CodeEntry[] }>(fillPath(codesRoute.path!, { code: schoolCode }) + `?class=${encodeURIComponent(classId)}`),
    enabled: codesRoute.path !== undefined,
  });
  const events = useQuery({
    queryKey: ['gate-events', schoolCode, today, 'class', classId],
    queryFn: () => api<{ events: GateEvent[] }>(fillPath(eventsRoute.path!, { code: schoolCode }) + `?day=${today}&classId=${encodeURIComponent(classId)}&limit=500`),
    enabled: eventsRoute.path !== undefined,
  });

  const refresh = useThrottledInvalidate([['attendance', schoolCode], ['gate-events', schoolCode]], 1000);
  const stream = useGateStream(
    schoolCode,
    (decision) => {
      if (decision.classId !== classId) return;
      setLastLive(decision);
      refresh();
    },
    // A saved class check (晨午检) can mark a pupil present, so the attendance figures change too.
    (change) => {
      if (change.classId === null || change.classId === classId) refresh();
    },
  );

  if (attendanceRoute.isLoading) return <Loading />;
  const klass = attendance.data?.classes.find((c) => c.classId === classId);
  const arrived = klass?.arrived ?? [];
  const notArrived = klass?.notArrived ?? [];
  const total = arrived.length + notArrived.length;
  const codeByPerson = new Map((codes.data?.items ?? []).map((item) => [item.personId, item]));
  const eventsNewestFirst = events.data?.events ?? [];
  const lastPass = new Map<string, GateEvent>();
  const fevers = new Map<string, GateEvent>();
  for (const event of eventsNewestFirst) {
    if (!event.personId) continue;
    if (event.decision === 'pass' && !lastPass.has(event.personId)) lastPass.set(event.personId, event);
    if (event.reason === 'fever' && !fevers.has(event.personId)) fevers.set(event.personId, event);
  }
  const abnormalCodes = (codes.data?.items ?? []).filter((item) => item.kind === 'student' && (item.color !== 'green' || item.isStale));
  const arrivedIds = new Set(arrived.map((a) => a.personId));

  const actions: ActionItem[] = [];
  for (const event of fevers.values()) {
    const readmitted = arrived.find((a) => a.personId === event.personId)?.source === 'recheck';
    actions.push({
      key: `fever-${event.id}`,
      title: `${event.personName} 体温 ${formatTemperature(event.temperature)}`,
      detail: readmitted ? `${formatTime(event.occurredAt)} ${event.deviceName}，复测正常已入校` : `${formatTime(event.occurredAt)} ${event.deviceName}，请到临时观察点复测，并联系家长`,
      tone: readmitted ? 'warning' : 'danger',
    });
  }
  for (const code of abnormalCodes) {
    const colorLabel = codeTagsOf(code)[0].label;
    const isGreenButStale = code.color === 'green';
    actions.push({
      key: `code-${code.personId}`,
      title: `${code.name} ${isGreenButStale ? '健康码信息未更新' : colorLabel}`,
      detail: isGreenButStale
        ? `最近获取 ${formatDateTime(code.fetchedAt)}，请提醒家长核实`
        : `${code.reason ? `${code.reason}，` : ''}今日请勿到校${arrivedIds.has(code.personId) ? '（已入校，请立即联系校医）' : '，请联系家长'}`,
      tone: isGreenButStale ? 'warning' : 'danger',
    });
  }

  const liveLabel = stream === 'open' ? <Badge status="processing" text="实时" /> : <Badge status="default" text={stream === 'closed' ? '未开放实时' : '连接中'} />;

  return (
    <Flex vertical gap={12}>
      <Flex justify="space-between" align="center" wrap gap={8}>
        <div>
          <Typography.Title level={4} style={{ margin: 0 }} data-testid="class-title">
            {klass?.className ?? '本班'} · 今日
          </Typography.Title>
          <Typography.Text type="secondary">
            {shanghai().format('M月D日 dddd')} · {liveLabel}
          </Typography.Text>
        </div>
        {picker}
      </Flex>
      {attendance.error && <ErrorAlert error={attendance.error} />}
      {attendance.data && !attendance.data.isSchoolDay && <Alert type="info" showIcon style={{ marginBottom: 12 }} title={`${attendance.data.notSchoolDayText}，未到校的学生无需追问`} />}
      {!attendanceRoute.path ? (
        <NotOpen title="到校情况" compact />
      ) : (
        <div className="fk-tiles">
          <Tile label="已到校" value={attendance.data ? `${arrived.length}/${total}` : '—'} tone="success" testId="tile-arrived" />
          <Tile label="未到校" value={attendance.data ? notArrived.length : '—'} tone={notArrived.length ? 'warning' : undefined} testId="tile-not-arrived" />
          <Tile label="发热" value={events.data ? fevers.size : '—'} tone={fevers.size ? 'danger' : undefined} testId="tile-fever" />
          <Tile label="异常码" value={codes.data ? abnormalCodes.length : '—'} tone={abnormalCodes.length ? 'danger' : undefined} testId="tile-codes" />
        </div>
      )}

      {lastLive && (
        <div className={`fk-live fk-live-${lastLive.decision}`} data-testid="class-live">
          {formatTime(lastLive.occurredAt)} {lastLive.personName ?? '未识别'} {lastLive.decision === 'pass' ? '已入校' : `未通过：${GATE_REASONS[lastLive.reason] ?? lastLive.prompt}`} · {lastLive.deviceName}
        </div>
      )}

      <Card size="small" title={<><AlertOutlined /> 需要处理</>} data-testid="class-actions">
        {actions.length === 0 ? (
          <Flex align="center" gap={8} style={{ padding: '8px 0' }}>
            <CheckCircleFilled style={{ color: '#52c41a' }} />
            <Typography.Text type="secondary">暂无需要处理的事项</Typography.Text>
          </Flex>
        ) : (
          actions.map((action) => (
            <Line
              key={action.key}
              title={
                <Typography.Text strong type={action.tone === 'danger' ? 'danger' : 'warning'}>
                  <WarningFilled style={{ marginRight: 6 }} />
                  {action.title}
                </Typography.Text>
              }
              detail={action.detail}
            />
          ))
        )}
      </Card>

      <Row gutter={[12, 12]}>
        <Col xs={24} md={12}>
          <Card size="small" title={`未到校（${notArrived.length}）`} loading={attendance.isLoading} data-testid="class-not-arrived">
            {notArrived.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={total === 0 ? '本班没有学生' : '全部到校'} />
            ) : (
              notArrived.map((pupil) => <Line key={pupil.personId} title={pupil.name} extra={<CodeTagOf code={codeByPerson.get(pupil.personId)} />} />)
            )}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card size="small" title={`已到校（${arrived.length}）`} loading={attendance.isLoading} data-testid="class-arrived">
            {arrived.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="还没有学生到校" />
            ) : (
              // Forty names fit a phone screen as chips, where forty rows would not.
              <div className="fk-chips">
                {arrived.map((pupil) => {
                  const pass = lastPass.get(pupil.personId);
                  const detail = [formatTime(pupil.firstPassAt), pass ? formatTemperature(pass.temperature) : null, pass?.deviceName].filter(Boolean).join(' · ');
                  let tone = '';
                  if (pupil.late) tone = 'fk-chip-late';
                  if (pupil.source === 'recheck') tone = 'fk-chip-recheck';
                  return (
                    <span key={pupil.personId} className={`fk-chip ${tone}`} title={detail}>
                      {pupil.name}
                      <small>
                        {shanghai(pupil.firstPassAt).format('HH:mm')}
                        {pupil.late ? ' 迟到' : ''}
                        {pupil.source === 'recheck' ? ' 复测' : ''}
                        {pupil.source === 'check' ? ' 晨午检' : ''}
                      </small>
                    </span>
                  );
                })}
              </div>
            )}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card size="small" title="健康码" loading={codes.isLoading} data-testid="class-codes">
            {codes.error && <ErrorAlert error={codes.error} />}
            {!codesRoute.path ? (
              <Empty description="该功能尚未开放" />
            ) : (
              <>
                <Space size={4} wrap style={{ marginBottom: 8 }}>
                  {(['green', 'yellow', 'red', 'unknown'] as const).map((color) => {
                    const count = (codes.data?.items ?? []).filter((item) => item.kind === 'student' && item.color === color).length;
                    return count > 0 ? <Tag key={color} color={CODE_COLORS[color].color}>{`${CODE_COLORS[color].label} ${count}`}</Tag> : null;
                  })}
                </Space>
                {abnormalCodes.map((code) => (
                  <Line key={code.personId} title={code.name} detail={code.reason ?? `获取于 ${formatDateTime(code.fetchedAt)}`} extra={<CodeTagOf code={code} />} />
                ))}
              </>
            )}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <ParentNotices schoolCode={schoolCode} classId={classId} />
        </Col>
        <Col xs={24} md={12}>
          <Inbox schoolCode={schoolCode} />
        </Col>
      </Row>
    </Flex>
  );
}

/** Render the teacher's phone page: one class today, live from the gate. */
export function ClassPage() {
  const user = useUser();
  const { school } = useSchool();
  const choice = useClassChoice(school?.code ?? '');
  if (!school) return <NeedSchool title="我的班级" />;
  if (!choice.classId) {
    return (
      <Flex vertical gap={12}>
        <Flex justify="space-between" align="center" wrap gap={8}>
          <Typography.Title level={4} style={{ margin: 0 }}>
            我的班级
          </Typography.Title>
          {choice.picker}
        </Flex>
        <Card>
          <Empty description={user.role === 'head_teacher' ? '班主任账号未关联班级，请联系学校管理员' : '请选择要查看的班级'} />
        </Card>
        <Inbox schoolCode={school.code} />
      </Flex>
    );
  }
  return <ClassToday schoolCode={school.code} classId={choice.classId} picker={choice.picker} />;
}
