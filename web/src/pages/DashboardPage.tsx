import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Statistic } from 'antd';
import dayjs from 'dayjs';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import type { AttendanceDay, AuditEntry, CodeEntry, GateAlert, GateEvent, SyncRun } from '../api/types';
import { isAdmin, useUser } from '../auth/session';
import { Chart } from '../components/Chart';
import { ErrorAlert, NotOpen, PageTitle } from '../components/common';
import { CODE_COLORS } from '../format';
import { useSchool } from '../layout/school';

const PIE_COLORS: Record<string, string> = { green: '#52c41a', yellow: '#faad14', red: '#f5222d', unknown: '#bfbfbf' };

function NoData() {
  return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无数据" style={{ padding: '48px 0' }} />;
}

/** Headline numbers of the day; each reads its own API and shows — while that API is missing. */
function TodayNumbers({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const today = dayjs().format('YYYY-MM-DD');
  const attendanceRoute = useRoute('GET /api/schools/:code/attendance');
  const alertsRoute = useRoute('GET /api/schools/:code/alerts');
  const codesRoute = useRoute('GET /api/schools/:code/codes');
  const canReadAlerts = ['district_admin', 'school_admin', 'school_doctor', 'guard'].includes(user.role);
  const attendance = useQuery({
    queryKey: ['attendance', schoolCode, today],
    queryFn: () => api<AttendanceDay>(fillPath(attendanceRoute.path!, { code: schoolCode }) + `?day=${today}`),
    enabled: attendanceRoute.path !== undefined,
  });
  const alerts = useQuery({
    queryKey: ['gate-alerts', schoolCode, 'open'],
    queryFn: () => api<{ alerts: GateAlert[] }>(fillPath(alertsRoute.path!, { code: schoolCode }) + '?status=open'),
    enabled: alertsRoute.path !== undefined && canReadAlerts,
  });
  const codes = useQuery({
    queryKey: ['codes', schoolCode, 'all'],
    queryFn: () => api<{ items: CodeEntry[]; total: number }>(fillPath(codesRoute.path!, { code: schoolCode })),
    enabled: codesRoute.path !== undefined,
  });
  const notGreen = codes.data?.items.filter((item) => item.color !== 'green' || item.isStale).length;
  const show = (value: number | undefined) => (value === undefined ? '—' : value);
  return (
    <Row gutter={[16, 16]}>
      <Col xs={12} md={6}>
        <Card>
          <Statistic title="今日已到校" value={show(attendance.data?.arrivedCount)} loading={attendance.isLoading && attendance.fetchStatus !== 'idle'} />
        </Card>
      </Col>
      <Col xs={12} md={6}>
        <Card>
          <Statistic title="今日未到校" value={show(attendance.data?.notArrivedCount)} loading={attendance.isLoading && attendance.fetchStatus !== 'idle'} />
        </Card>
      </Col>
      <Col xs={12} md={6}>
        <Card>
          <Statistic title="待处理预警" value={show(alerts.data?.alerts.length)} styles={{ content: { color: alerts.data?.alerts.length ? '#cf1322' : undefined } }} />
        </Card>
      </Col>
      <Col xs={12} md={6}>
        <Card>
          <Statistic title="非绿码或过期" value={show(notGreen)} styles={{ content: { color: notGreen ? '#d48806' : undefined } }} />
        </Card>
      </Col>
    </Row>
  );
}

function CodeDistribution({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/codes');
  const codes = useQuery({
    queryKey: ['codes', schoolCode, 'all'],
    queryFn: () => api<{ items: CodeEntry[]; total: number }>(fillPath(route.path!, { code: schoolCode })),
    enabled: route.path !== undefined,
  });
  if (!route.isLoading && !route.path) return <NotOpen title="健康码分布" />;
  const counts = new Map<string, number>();
  for (const item of codes.data?.items ?? []) counts.set(item.color, (counts.get(item.color) ?? 0) + 1);
  const data = ['green', 'yellow', 'red', 'unknown']
    .filter((color) => counts.has(color))
    .map((color) => ({ name: CODE_COLORS[color].label, value: counts.get(color)!, itemStyle: { color: PIE_COLORS[color] } }));
  return (
    <Card title="健康码分布" loading={codes.isLoading}>
      {codes.error && <ErrorAlert error={codes.error} />}
      {data.length === 0 ? (
        <NoData />
      ) : (
        <Chart
          label="健康码分布饼图"
          option={{
            tooltip: { trigger: 'item', formatter: '{b}：{c} 人（{d}%）' },
            legend: { bottom: 0 },
            series: [{ type: 'pie', radius: ['45%', '70%'], center: ['50%', '45%'], data, label: { formatter: '{b}\n{c}' } }],
          }}
        />
      )}
    </Card>
  );
}

function SyncHistory({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/sync-runs');
  const runs = useQuery({
    queryKey: ['sync-runs', schoolCode],
    queryFn: () => api<{ items: SyncRun[] }>(fillPath(route.path!, { code: schoolCode }) + '?limit=20'),
    enabled: route.path !== undefined,
  });
  if (!route.isLoading && !route.path) return <NotOpen title="近期健康码同步" />;
  const items = [...(runs.data?.items ?? [])].reverse().slice(-10);
  return (
    <Card title="近期健康码同步" loading={runs.isLoading}>
      {runs.error && <ErrorAlert error={runs.error} />}
      {items.length === 0 ? (
        <NoData />
      ) : (
        <Chart
          label="近期健康码同步柱状图"
          option={{
            tooltip: { trigger: 'axis' },
            legend: { bottom: 0 },
            grid: { left: 48, right: 16, top: 16, bottom: 56 },
            xAxis: { type: 'category', data: items.map((run) => dayjs(run.startedAt).format('MM-DD HH:mm')) },
            yAxis: { type: 'value', name: '人' },
            series: [
              { name: '成功', type: 'bar', stack: 'n', data: items.map((run) => run.processed - run.failed), itemStyle: { color: '#1677ff' } },
              { name: '失败', type: 'bar', stack: 'n', data: items.map((run) => run.failed), itemStyle: { color: '#f5222d' } },
              { name: '跳码', type: 'line', data: items.map((run) => run.changes), itemStyle: { color: '#faad14' } },
            ],
          }}
        />
      )}
    </Card>
  );
}

function GateByHour({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/gate/events');
  const today = dayjs().format('YYYY-MM-DD');
  const events = useQuery({
    queryKey: ['gate-events', schoolCode, today, 'chart'],
    queryFn: () => api<{ events: GateEvent[] }>(fillPath(route.path!, { code: schoolCode }) + `?day=${today}&limit=500`),
    enabled: route.path !== undefined,
    refetchInterval: 30_000,
  });
  if (!route.isLoading && !route.path) return <NotOpen title="今日通行" />;
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  const pass = hours.map(() => 0);
  const deny = hours.map(() => 0);
  for (const event of events.data?.events ?? []) {
    const hour = dayjs(event.occurredAt).hour();
    if (event.decision === 'pass') pass[hour] += 1;
    else deny[hour] += 1;
  }
  const used = hours.filter((hour) => pass[hour] + deny[hour] > 0);
  return (
    <Card title="今日通行" loading={events.isLoading}>
      {events.error && <ErrorAlert error={events.error} />}
      {used.length === 0 ? (
        <NoData />
      ) : (
        <Chart
          label="今日通行分时柱状图"
          option={{
            tooltip: { trigger: 'axis' },
            legend: { bottom: 0 },
            grid: { left: 48, right: 16, top: 16, bottom: 56 },
            xAxis: { type: 'category', data: used.map((hour) => `${hour}时`) },
            yAxis: { type: 'value', name: '人次' },
            series: [
              { name: '通过', type: 'bar', stack: 'n', data: used.map((hour) => pass[hour]), itemStyle: { color: '#52c41a' } },
              { name: '拒绝', type: 'bar', stack: 'n', data: used.map((hour) => deny[hour]), itemStyle: { color: '#f5222d' } },
            ],
          }}
        />
      )}
    </Card>
  );
}

/** Sign-ins over the last seven days, from the audit log (admins only). */
function SignIns() {
  const from = dayjs().subtract(6, 'day');
  const audit = useQuery({
    queryKey: ['audit', 'sign-ins', from.format('YYYY-MM-DD')],
    queryFn: () => api<{ total: number; entries: AuditEntry[] }>(`/api/audit?action=auth.&from=${from.format('YYYY-MM-DD')}&limit=500`),
  });
  const days = Array.from({ length: 7 }, (_, index) => from.add(index, 'day').format('YYYY-MM-DD'));
  const count = (action: string) => days.map((day) => (audit.data?.entries ?? []).filter((e) => e.action === action && dayjs(e.at).format('YYYY-MM-DD') === day).length);
  return (
    <Card title="近 7 天登录" loading={audit.isLoading}>
      {audit.error && <ErrorAlert error={audit.error} />}
      <Chart
        label="近七天登录折线图"
        option={{
          tooltip: { trigger: 'axis' },
          legend: { bottom: 0 },
          grid: { left: 40, right: 16, top: 16, bottom: 56 },
          xAxis: { type: 'category', data: days.map((day) => day.slice(5)) },
          yAxis: { type: 'value', minInterval: 1 },
          series: [
            { name: '成功登录', type: 'line', data: count('auth.login'), itemStyle: { color: '#1677ff' } },
            { name: '登录失败', type: 'line', data: count('auth.login_failed'), itemStyle: { color: '#f5222d' } },
          ],
        }}
      />
    </Card>
  );
}

export function DashboardPage() {
  const user = useUser();
  const { school } = useSchool();
  return (
    <>
      <PageTitle title={school ? `首页 · ${school.name}` : '首页'} />
      <Row gutter={[16, 16]}>
        {school ? (
          <>
            <Col span={24}>
              <TodayNumbers schoolCode={school.code} />
            </Col>
            <Col xs={24} lg={12}>
              <CodeDistribution schoolCode={school.code} />
            </Col>
            <Col xs={24} lg={12}>
              <GateByHour schoolCode={school.code} />
            </Col>
            <Col xs={24} lg={12}>
              <SyncHistory schoolCode={school.code} />
            </Col>
          </>
        ) : (
          <Col span={24}>
            <Card>
              <Empty description={user.role === 'district_admin' ? '请先在顶部选择学校' : '账号未关联学校'} />
            </Card>
          </Col>
        )}
        {isAdmin(user) && (
          <Col xs={24} lg={12}>
            <SignIns />
          </Col>
        )}
      </Row>
    </>
  );
}
