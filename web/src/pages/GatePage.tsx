import { useEffect, useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Badge, Button, Card, Col, DatePicker, Empty, Flex, Grid, Row, Segmented, Select, Space, Statistic, Table, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../api/client';
import { useGateStream, useThrottledInvalidate, type LiveDecision, type StreamState } from '../api/live';
import { fillPath, useRoute } from '../api/routes';
import type { AttendanceDay, ClassSummary, GateEvent } from '../api/types';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { GATE_METHODS, GATE_REASONS, formatTemperature, formatTime, shanghai } from '../format';
import { useUser } from '../auth/session';
import { useSchool } from '../layout/school';
import { CodeTag } from './HealthCodesPage';

const PAGE_SIZE = 100;
/** Decisions kept per lane on the live view. */
const LANE_HISTORY = 6;

/** The latest decisions of one device, newest first. */
interface LaneState {
  deviceId: string;
  deviceName: string;
  lane: string | null;
  /** From the devices list; undefined for roles that cannot read it. */
  online?: boolean;
  decisions: Array<Pick<LiveDecision, 'eventId' | 'occurredAt' | 'personName' | 'className' | 'temperature' | 'decision' | 'reason' | 'prompt' | 'method'>>;
}

function StreamBadge({ state }: { state: StreamState }) {
  if (state === 'open') return <Badge status="processing" text="实时" />;
  if (state === 'closed') return <Badge status="default" text="实时推送未开放" />;
  return <Badge status="warning" text={state === 'retrying' ? '连接中断，正在重连' : '连接中'} />;
}

function LaneCard({ lane }: { lane: LaneState }) {
  const [latest, ...earlier] = lane.decisions;
  const isPass = latest?.decision === 'pass';
  return (
    <Card
      size="small"
      title={lane.deviceName}
      extra={
        <Space size={4}>
          {lane.online === false && <Tag color="error">离线</Tag>}
          {lane.lane && <Tag>{lane.lane}</Tag>}
        </Space>
      }
      data-testid={`lane-${lane.deviceId}`}
      style={{ height: '100%' }}
    >
      {latest ? (
        <div className={`fk-lane-now ${isPass ? 'fk-lane-pass' : 'fk-lane-deny'}`}>
          <div className="fk-lane-verdict">{isPass ? '通过' : '拒绝'}</div>
          <div className="fk-lane-person">
            {latest.personName ?? '未识别人员'}
            {latest.className ? ` · ${latest.className}` : ''}
          </div>
          <div className="fk-lane-prompt">{latest.prompt}</div>
          <div className="fk-lane-meta">
            {formatTime(latest.occurredAt)} · {formatTemperature(latest.temperature)} · {GATE_METHODS[latest.method] ?? latest.method}
          </div>
        </div>
      ) : (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="近期无通行记录" />
      )}
      {earlier.map((decision) => (
        <Flex key={decision.eventId} justify="space-between" gap={8} className="fk-lane-row">
          <span>
            {formatTime(decision.occurredAt)} {decision.personName ?? '未识别'}
          </span>
          {decision.decision === 'pass' ? <Tag color="success">通过</Tag> : <Tag color="error">{GATE_REASONS[decision.reason] ?? '拒绝'}</Tag>}
        </Flex>
      ))}
    </Card>
  );
}

interface DeviceSummary {
  id: string;
  name: string;
  lane: string | null;
  active: boolean;
  online: boolean;
}

const DEVICE_READERS = ['district_admin', 'school_admin', 'guard'];

/**
 * Every lane's latest decisions: the school's devices (for roles that may list them, so a
 * silent lane shows too), today's stored events, then the live stream.
 */
function LiveLanes({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const route = useRoute('GET /api/schools/:code/gate/events');
  const devicesRoute = useRoute('GET /api/schools/:code/devices');
  const devices = useQuery({
    queryKey: ['devices', schoolCode],
    queryFn: async () => (await api<{ devices: DeviceSummary[] }>(fillPath(devicesRoute.path!, { code: schoolCode }))).devices,
    enabled: devicesRoute.path !== undefined && DEVICE_READERS.includes(user.role),
    refetchInterval: 60_000,
  });
  const today = shanghai().format('YYYY-MM-DD');
  const [lanes, setLanes] = useState<Map<string, LaneState>>(new Map());
  const recent = useQuery({
    queryKey: ['gate-events', schoolCode, today, 'lanes'],
    // The newest 500 events of the day; a lane silent for longer shows up with its next decision.
    queryFn: () => api<{ events: GateEvent[] }>(fillPath(route.path!, { code: schoolCode }) + `?day=${today}&limit=500`),
    enabled: route.path !== undefined,
    staleTime: Infinity,
  });

  useEffect(() => {
    if (!recent.data) return;
    const next = new Map<string, LaneState>();
    for (const device of devices.data ?? []) {
      if (device.active) next.set(device.id, { deviceId: device.id, deviceName: device.name, lane: device.lane, online: device.online, decisions: [] });
    }
    for (const event of recent.data.events) {
      let lane = next.get(event.deviceId);
      if (!lane) {
        lane = { deviceId: event.deviceId, deviceName: event.deviceName, lane: event.lane, decisions: [] };
        next.set(event.deviceId, lane);
      }
      if (lane.decisions.length < LANE_HISTORY) lane.decisions.push({ ...event, eventId: event.id });
    }
    // Keep the decisions the stream delivered since the stored events were read.
    setLanes((previous) => {
      for (const [deviceId, live] of previous) {
        const lane = next.get(deviceId) ?? { ...live, decisions: [] };
        const known = new Set(lane.decisions.map((d) => d.eventId));
        const merged = [...live.decisions.filter((d) => !known.has(d.eventId)), ...lane.decisions].sort((a, b) => b.occurredAt - a.occurredAt);
        next.set(deviceId, { ...lane, decisions: merged.slice(0, LANE_HISTORY) });
      }
      return next;
    });
  }, [recent.data, devices.data]);

  const stream = useGateStream(schoolCode, (decision) => {
    setLanes((previous) => {
      const next = new Map(previous);
      const current = next.get(decision.deviceId);
      const decisions = [decision, ...(current?.decisions ?? []).filter((d) => d.eventId !== decision.eventId)].slice(0, LANE_HISTORY);
      next.set(decision.deviceId, { deviceId: decision.deviceId, deviceName: decision.deviceName, lane: decision.lane, online: true, decisions });
      return next;
    });
  });

  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="通道实时" />;
  const sorted = [...lanes.values()].sort((a, b) => (a.lane ?? '').localeCompare(b.lane ?? '', 'zh-CN') || a.deviceName.localeCompare(b.deviceName, 'zh-CN'));
  return (
    <Card title="通道实时" extra={<StreamBadge state={stream} />} data-testid="live-lanes">
      {recent.error && <ErrorAlert error={recent.error} />}
      {sorted.length === 0 ? (
        <Empty description={recent.isLoading ? '加载中' : '今日还没有通行记录，有人通过闸机后这里会实时显示'} />
      ) : (
        <Row gutter={[12, 12]}>
          {sorted.map((lane) => (
            <Col key={lane.deviceId} xs={24} sm={12} xl={8} xxl={6}>
              <LaneCard lane={lane} />
            </Col>
          ))}
        </Row>
      )}
    </Card>
  );
}

function Attendance({ schoolCode, day }: { schoolCode: string; day: string }) {
  const route = useRoute('GET /api/schools/:code/attendance');
  const attendance = useQuery({
    queryKey: ['attendance', schoolCode, day],
    queryFn: () => api<AttendanceDay>(fillPath(route.path!, { code: schoolCode }) + `?day=${day}`),
    enabled: route.path !== undefined,
  });
  const refresh = useThrottledInvalidate([['attendance', schoolCode]], 3000);
  useGateStream(schoolCode, (decision) => {
    if (decision.decision === 'pass') refresh();
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="到校情况" />;
  const data = attendance.data;
  return (
    <Card title={`到校情况 · ${day}`} loading={attendance.isLoading}>
      {attendance.error && <ErrorAlert error={attendance.error} />}
      <Row gutter={16}>
        <Col xs={8}>
          <Statistic title="已到校" value={data?.arrivedCount ?? 0} />
        </Col>
        <Col xs={8}>
          <Statistic title="未到校" value={data?.notArrivedCount ?? 0} styles={{ content: { color: data?.notArrivedCount ? '#cf1322' : undefined } }} />
        </Col>
        <Col xs={8}>
          <Statistic title="迟到" value={data?.lateCount ?? 0} />
        </Col>
      </Row>
    </Card>
  );
}

interface EventFilter {
  day: string;
  classId?: string;
  personId?: string;
  decision: string;
  reason?: string;
}

/** A person picker that searches the roster by name. */
function PersonPicker({ schoolCode, value, onChange }: { schoolCode: string; value?: string; onChange: (personId?: string) => void }) {
  const [search, setSearch] = useState('');
  const persons = useQuery({
    queryKey: ['persons-pick', schoolCode, search],
    queryFn: () =>
      api<{ items: Array<{ id: string; name: string; className: string | null }> }>(
        `/api/schools/${encodeURIComponent(schoolCode)}/persons?name=${encodeURIComponent(search)}&limit=20`,
      ),
    enabled: search.trim().length > 0,
  });
  return (
    <Select
      allowClear
      showSearch={{ filterOption: false, onSearch: setSearch }}
      placeholder="姓名"
      aria-label="按姓名筛选"
      style={{ width: 150 }}
      value={value}
      onChange={(personId?: string) => onChange(personId)}
      loading={persons.isFetching}
      notFoundContent={search ? '没有找到' : '输入姓名搜索'}
      options={(persons.data?.items ?? []).map((p) => ({ value: p.id, label: p.className ? `${p.name}（${p.className}）` : p.name }))}
    />
  );
}

function Events({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/gate/events');
  const classesRoute = useRoute('GET /api/schools/:code/classes');
  const [filter, setFilter] = useState<EventFilter>({ day: shanghai().format('YYYY-MM-DD'), decision: 'all' });
  const classes = useQuery({
    queryKey: ['classes', schoolCode],
    queryFn: async () => (await api<{ items: ClassSummary[] }>(fillPath(classesRoute.path!, { code: schoolCode }))).items,
    enabled: classesRoute.path !== undefined,
  });
  const events = useInfiniteQuery({
    queryKey: ['gate-events', schoolCode, 'search', filter],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => {
      const query = new URLSearchParams({ day: filter.day, limit: String(PAGE_SIZE) });
      if (filter.classId) query.set('classId', filter.classId);
      if (filter.personId) query.set('personId', filter.personId);
      if (filter.decision !== 'all') query.set('decision', filter.decision);
      if (filter.reason) query.set('reason', filter.reason);
      if (pageParam !== undefined) query.set('before', String(pageParam));
      return api<{ events: GateEvent[] }>(`${fillPath(route.path!, { code: schoolCode })}?${query}`);
    },
    getNextPageParam: (last) => (last.events.length === PAGE_SIZE ? last.events[last.events.length - 1].occurredAt : undefined),
    enabled: route.path !== undefined,
  });
  const isPhone = !Grid.useBreakpoint().md;
  const [phoneShown, setPhoneShown] = useState(20);
  // Today's search follows the gate; a past day does not change.
  const isToday = filter.day === shanghai().format('YYYY-MM-DD');
  const refresh = useThrottledInvalidate([['gate-events', schoolCode, 'search']], 3000);
  useGateStream(isToday ? schoolCode : undefined, refresh);

  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="通行记录" />;
  const rows = events.data?.pages.flatMap((page) => page.events) ?? [];
  const update = (change: Partial<EventFilter>) => setFilter((current) => ({ ...current, ...change }));
  return (
    <Card title="通行记录查询" data-testid="gate-search">
      <Space wrap style={{ marginBottom: 12 }}>
        <DatePicker aria-label="日期" value={dayjs(filter.day)} allowClear={false} onChange={(value: Dayjs | null) => value && update({ day: value.format('YYYY-MM-DD') })} />
        <Select
          allowClear
          placeholder="全部班级"
          aria-label="按班级筛选"
          style={{ width: 130 }}
          value={filter.classId}
          onChange={(classId?: string) => update({ classId })}
          options={(classes.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
          showSearch={{ optionFilterProp: 'label' }}
        />
        <PersonPicker schoolCode={schoolCode} value={filter.personId} onChange={(personId) => update({ personId })} />
        <Segmented
          value={filter.decision}
          onChange={(value) => update({ decision: String(value) })}
          options={[
            { label: '全部', value: 'all' },
            { label: '通过', value: 'pass' },
            { label: '拒绝', value: 'deny' },
          ]}
        />
        <Select
          allowClear
          placeholder="全部原因"
          aria-label="按原因筛选"
          style={{ width: 140 }}
          value={filter.reason}
          onChange={(reason?: string) => update({ reason })}
          options={Object.entries(GATE_REASONS).map(([value, label]) => ({ value, label }))}
        />
      </Space>
      {events.error && <ErrorAlert error={events.error} />}
      {isPhone ? (
        // Nine columns do not fit a guard's phone; each event is one line there.
        <div>
          {rows.slice(0, phoneShown).map((event) => (
            <Flex key={event.id} justify="space-between" align="center" gap={8} className="fk-line">
              <div style={{ minWidth: 0 }}>
                <div className="fk-line-title">
                  {event.personName ?? '未识别'}
                  {event.className && <Typography.Text type="secondary"> · {event.className}</Typography.Text>}
                </div>
                <div className="fk-line-detail">
                  {formatTime(event.occurredAt)} · {event.deviceName} · {formatTemperature(event.temperature)}
                </div>
              </div>
              {event.decision === 'pass' ? <Tag color="success">通过</Tag> : <Tag color="error">{GATE_REASONS[event.reason] ?? '拒绝'}</Tag>}
            </Flex>
          ))}
          {rows.length > phoneShown && (
            <Button block onClick={() => setPhoneShown(phoneShown + 20)} style={{ marginTop: 8 }}>
              显示更多
            </Button>
          )}
        </div>
      ) : (
        <Table<GateEvent>
          rowKey="id"
          size="small"
          loading={events.isLoading}
          dataSource={rows}
          scroll={{ x: 900 }}
          pagination={{ pageSize: 20, showSizeChanger: false, hideOnSinglePage: true }}
          columns={[
            { title: '时间', dataIndex: 'occurredAt', width: 90, render: formatTime },
            { title: '姓名', dataIndex: 'personName', width: 90, render: (value: string | null) => value ?? '未识别' },
            { title: '班级', dataIndex: 'className', width: 90, render: (value: string | null) => value ?? '—' },
            { title: '通道', dataIndex: 'deviceName', width: 190 },
            { title: '方式', dataIndex: 'method', width: 70, render: (value: string) => GATE_METHODS[value] ?? value },
            { title: '体温', dataIndex: 'temperature', width: 80, render: formatTemperature },
            { title: '健康码', dataIndex: 'codeColor', width: 110, render: (value: string | null, row) => (value ? <CodeTag color={value} isStale={row.codeStale ?? false} /> : '—') },
            {
              title: '结果',
              dataIndex: 'decision',
              width: 110,
              render: (value: string, row) => (value === 'pass' ? <Tag color="success">通过</Tag> : <Tag color="error">{GATE_REASONS[row.reason] ?? '拒绝'}</Tag>),
            },
            { title: '提示', dataIndex: 'prompt' },
          ]}
        />
      )}
      <Flex justify="space-between" align="center" style={{ marginTop: 8 }}>
        <Typography.Text type="secondary">已加载 {rows.length} 条</Typography.Text>
        {events.hasNextPage && (
          <Button onClick={() => void events.fetchNextPage()} loading={events.isFetchingNextPage}>
            加载更早的记录
          </Button>
        )}
      </Flex>
    </Card>
  );
}

export function GatePage() {
  const { school } = useSchool();
  if (!school) return <NeedSchool title="通行" />;
  const today = shanghai().format('YYYY-MM-DD');
  return (
    <>
      <PageTitle title={`通行 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        <Col span={24}>
          <LiveLanes schoolCode={school.code} />
        </Col>
        <Col span={24}>
          <Attendance schoolCode={school.code} day={today} />
        </Col>
        <Col span={24}>
          <Events schoolCode={school.code} />
        </Col>
      </Row>
    </>
  );
}
