import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Statistic } from 'antd';
import { api } from '../api/client';
import { useGateStream, useThrottledInvalidate, type LiveDecision } from '../api/live';
import { useServerRoutes } from '../api/routes';
import type { AuditEntry } from '../api/types';
import { isAdmin, useUser } from '../auth/session';
import { Chart, preloadCharts } from '../components/Chart';
import { ErrorAlert, NotOpen, PageTitle } from '../components/common';
import { CODE_COLORS, shanghai, todayInShanghai } from '../format';
import { useSchool } from '../layout/school';
import { ArrivalCurve, ArrivalsByGrade, ClassesMissing } from './dashboard/Arrivals';
import { LiveFeed } from './dashboard/LiveFeed';
import { FEED_LENGTH, dashboardQueries, dashboardRoutesOf } from './dashboard/queries';

const PIE_COLORS: Record<string, string> = { green: '#52c41a', yellow: '#faad14', red: '#f5222d', unknown: '#bfbfbf' };

function NoData() {
  return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无数据" style={{ padding: '48px 0' }} />;
}

function show(value: number | undefined): number | string {
  return value === undefined ? '—' : value;
}

/** Every API the dashboard reads, each enabled only when the server has it and the role may read it. */
function useDashboardData(schoolCode: string) {
  const user = useUser();
  const serverRoutes = useServerRoutes();
  const routes = serverRoutes.data ? dashboardRoutesOf(serverRoutes.data) : {};
  const queries = dashboardQueries(schoolCode, user.role, routes);
  const attendance = useQuery(queries.attendance);
  const alerts = useQuery(queries.alerts);
  const codes = useQuery(queries.codes);
  const fevers = useQuery(queries.fevers);
  const recent = useQuery(queries.recent);
  const notices = useQuery(queries.notices);
  const syncRuns = useQuery(queries.syncRuns);
  const routeState = (path: string | undefined) => ({ path, isLoading: serverRoutes.isLoading });
  return {
    attendance,
    alerts,
    codes,
    fevers,
    recent,
    notices,
    syncRuns,
    routes: { codes: routeState(routes.codes), attendance: routeState(routes.attendance), syncRuns: routeState(routes.syncRuns) },
  };
}

type DashboardData = ReturnType<typeof useDashboardData>;

/** Headline numbers of the day; each shows — while its API is missing or not readable by the role. */
function TodayNumbers({ data }: { data: DashboardData }) {
  const user = useUser();
  const attendance = data.attendance.data;
  const expected = attendance ? attendance.arrivedCount + attendance.notArrivedCount : undefined;
  // Fetched codes only, as the daily report's 非绿码 and 码过期; never-synced codes show apart as 未同步.
  const notGreen = data.codes.data?.school.attention;
  const unsynced = data.codes.data?.school.unsynced;
  const feverPersons = data.fevers.data ? new Set(data.fevers.data.events.map((e) => e.personId ?? e.id)).size : undefined;
  const openAlerts = data.alerts.data?.alerts.length;
  const failedNotices = data.notices.data ? (data.notices.data.counts.failed ?? 0) + (data.notices.data.counts.dead ?? 0) : undefined;
  const isLoading = (query: { isLoading: boolean; fetchStatus: string }) => query.isLoading && query.fetchStatus !== 'idle';
  const red = (value: number | undefined) => ({ content: { color: value ? '#cf1322' : undefined } });

  const tiles = [
    {
      key: 'arrived',
      title: '今日已到校',
      value: show(attendance?.arrivedCount),
      suffix: expected !== undefined ? `/ ${expected.toLocaleString('zh-CN')}` : undefined,
      loading: isLoading(data.attendance),
      styles: { suffix: { fontSize: 14, color: 'rgba(0, 0, 0, 0.45)' } },
    },
    { key: 'not-arrived', title: '今日未到校', value: show(attendance?.notArrivedCount), loading: isLoading(data.attendance) },
    { key: 'fever', title: '今日发热', value: show(feverPersons), styles: red(feverPersons), loading: isLoading(data.fevers) },
    {
      key: 'codes',
      title: '非绿码或过期',
      value: show(notGreen),
      suffix: unsynced ? `另有 ${unsynced.toLocaleString('zh-CN')} 人未同步` : undefined,
      styles: { content: { color: notGreen ? '#d48806' : undefined }, suffix: { fontSize: 14, color: 'rgba(0, 0, 0, 0.45)' } },
      loading: isLoading(data.codes),
    },
    { key: 'alerts', title: '待处理预警', value: show(openAlerts), styles: red(openAlerts), loading: isLoading(data.alerts) },
  ];
  if (isAdmin(user)) tiles.push({ key: 'notices', title: '未送达通知', value: show(failedNotices), styles: red(failedNotices), loading: isLoading(data.notices) });

  return (
    <Row gutter={[16, 16]}>
      {tiles.map((tile) => (
        <Col key={tile.key} xs={12} md={8} xl={4}>
          <Card data-testid={`tile-${tile.key}`}>
            <Statistic title={tile.title} value={tile.value} suffix={tile.suffix} loading={tile.loading} styles={tile.styles} />
          </Card>
        </Col>
      ))}
    </Row>
  );
}

function CodeDistribution({ data }: { data: DashboardData }) {
  const { codes, routes } = data;
  if (!routes.codes.isLoading && !routes.codes.path) return <NotOpen title="健康码分布" />;
  const counts = codes.data?.school;
  const slices = (['green', 'yellow', 'red', 'unknown'] as const)
    .filter((color) => (counts?.[color] ?? 0) > 0)
    .map((color) => ({ name: CODE_COLORS[color].label, value: counts![color], itemStyle: { color: PIE_COLORS[color] } }));
  return (
    <Card title="健康码分布" loading={codes.isLoading}>
      {codes.error && <ErrorAlert error={codes.error} />}
      {slices.length === 0 ? (
        <NoData />
      ) : (
        <Chart
          label="健康码分布饼图"
          option={{
            tooltip: { trigger: 'item', formatter: '{b}：{c} 人（{d}%）' },
            legend: { bottom: 0 },
            series: [{ type: 'pie', radius: ['45%', '70%'], center: ['50%', '45%'], data: slices, label: { formatter: '{b}\n{c}' } }],
          }}
        />
      )}
    </Card>
  );
}

function SyncHistory({ data }: { data: DashboardData }) {
  const { syncRuns: runs, routes } = data;
  if (!routes.syncRuns.isLoading && !routes.syncRuns.path) return <NotOpen title="近期健康码同步" />;
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
            grid: { left: 56, right: 40, top: 32, bottom: 56 },
            xAxis: { type: 'category', data: items.map((run) => shanghai(run.startedAt).format('MM-DD HH:mm')) },
            // Code changes are a handful against thousands synced, so they get an axis of their own.
            yAxis: [
              { type: 'value', name: '人' },
              { type: 'value', name: '跳码', minInterval: 1, splitLine: { show: false } },
            ],
            series: [
              { name: '成功', type: 'bar', stack: 'n', data: items.map((run) => run.processed - run.failed), itemStyle: { color: '#1677ff' } },
              { name: '失败', type: 'bar', stack: 'n', data: items.map((run) => run.failed), itemStyle: { color: '#f5222d' } },
              { name: '跳码', type: 'line', yAxisIndex: 1, data: items.map((run) => run.changes), itemStyle: { color: '#faad14' } },
            ],
          }}
        />
      )}
    </Card>
  );
}

/** Sign-ins over the last seven days, from the audit log (admins only). */
function SignIns() {
  const from = shanghai().subtract(6, 'day');
  const audit = useQuery({
    queryKey: ['audit', 'sign-ins', from.format('YYYY-MM-DD')],
    queryFn: () => api<{ total: number; entries: AuditEntry[] }>(`/api/audit?action=auth.&from=${from.format('YYYY-MM-DD')}&limit=500`),
  });
  const days = Array.from({ length: 7 }, (_, index) => from.add(index, 'day').format('YYYY-MM-DD'));
  const count = (action: string) => days.map((day) => (audit.data?.entries ?? []).filter((e) => e.action === action && shanghai(e.at).format('YYYY-MM-DD') === day).length);
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

/**
 * The school's day on one screen. The gate stream adds each decision to the live feed at
 * once and refetches the figures it changes, at most every 2 seconds. A saved class check
 * that marks pupils present comes as a presence change and refetches the arrivals too.
 */
function SchoolDashboard({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const data = useDashboardData(schoolCode);
  const [feed, setFeed] = useState<LiveDecision[]>([]);
  useEffect(preloadCharts, []);

  useEffect(() => {
    if (!data.recent.data) return;
    setFeed((live) => {
      const seen = new Set(live.map((d) => d.eventId));
      const stored = data.recent.data!.events.filter((e) => !seen.has(e.id)).map((e) => ({ ...e, eventId: e.id, classId: null }) as LiveDecision);
      return [...live, ...stored].sort((a, b) => b.occurredAt - a.occurredAt).slice(0, FEED_LENGTH);
    });
  }, [data.recent.data]);

  const refreshArrivals = useThrottledInvalidate([['attendance', schoolCode]]);
  const refreshDenials = useThrottledInvalidate([['gate-alerts', schoolCode], ['gate-events', schoolCode, shanghai().format('YYYY-MM-DD'), 'fever']]);
  const stream = useGateStream(
    schoolCode,
    (decision) => {
      setFeed((current) => [decision, ...current.filter((d) => d.eventId !== decision.eventId)].slice(0, FEED_LENGTH));
      if (decision.decision === 'pass') refreshArrivals();
      else refreshDenials();
    },
    (change) => {
      // A check of an earlier day leaves today's figures as they are.
      if (change.day === todayInShanghai()) refreshArrivals();
    },
  );

  const arrivalsProps = { attendance: data.attendance.data, isLoading: data.attendance.isLoading, error: data.attendance.error };
  const hasAttendance = data.routes.attendance.isLoading || data.routes.attendance.path !== undefined;
  return (
    <Row gutter={[16, 16]}>
      <Col span={24}>
        <TodayNumbers data={data} />
      </Col>
      <Col xs={24} xl={16}>{hasAttendance ? <ArrivalCurve {...arrivalsProps} /> : <NotOpen title="到校曲线" />}</Col>
      <Col xs={24} xl={8}>
        <LiveFeed decisions={feed} state={stream} />
      </Col>
      <Col xs={24} lg={12}>
        {hasAttendance ? <ArrivalsByGrade {...arrivalsProps} /> : <NotOpen title="各年级到校" />}
      </Col>
      <Col xs={24} lg={12}>
        <CodeDistribution data={data} />
      </Col>
      <Col xs={24} lg={12}>
        <ClassesMissing attendance={data.attendance.data} isLoading={data.attendance.isLoading} />
      </Col>
      <Col xs={24} lg={12}>
        <SyncHistory data={data} />
      </Col>
      {isAdmin(user) && (
        <Col xs={24} lg={12}>
          <SignIns />
        </Col>
      )}
    </Row>
  );
}

export function DashboardPage() {
  const user = useUser();
  const { school } = useSchool();
  return (
    <>
      <PageTitle title={school ? `首页 · ${school.name}` : '首页'} />
      {school ? (
        <SchoolDashboard schoolCode={school.code} />
      ) : (
        <Card>
          <Empty description={user.role === 'district_admin' ? '请先在顶部选择学校' : '账号未关联学校'} />
        </Card>
      )}
    </>
  );
}
