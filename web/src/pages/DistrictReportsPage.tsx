import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, DatePicker, Drawer, Empty, Flex, Grid, Input, Row, Space, Statistic, Table, Tag, Typography } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import type { EChartsOption } from 'echarts';
import { useMemo, useState } from 'react';
import { describeDeadline } from '../../../src/modules/reports/deadline-summary.js';
import { ApiError, api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { Chart } from '../components/Chart';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { formatDateTime, shanghai, todayInShanghai } from '../format';
import { VersionTag } from './ReportsPage';
import { ReportDetail } from './reports/ReportDetail';
import type { DistrictDay, DistrictSchoolRow, Report, TrendPoint } from './reports/types';

function StateTag({ row }: { row: DistrictSchoolRow }) {
  if (row.state === 'submitted') return row.late ? <Tag color="orange">逾期上报</Tag> : <Tag color="green">已上报</Tag>;
  if (row.missedDeadline) return <Tag color="red">逾期未报</Tag>;
  if (row.state === 'no_school') return <Tag title={row.noSchoolLabel ?? undefined}>非上学日{row.noSchoolLabel ? `（${row.noSchoolLabel}）` : ''}</Tag>;
  return row.state === 'draft' ? <Tag color="gold">草稿未上报</Tag> : <Tag>未上报</Tag>;
}

/** One school's current report in a drawer, opened from the district table. */
function SchoolReport({ code, day, onClose }: { code: string | null; day: string; onClose: () => void }) {
  const route = useRoute('GET /api/schools/:code/reports/:day');
  const isPhone = !Grid.useBreakpoint().md;
  const report = useQuery({
    queryKey: ['report', code, day, 'latest'],
    queryFn: async () => {
      try {
        return await api<Report>(fillPath(route.path!, { code: code!, day }));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    enabled: Boolean(code && route.path),
  });
  const data = report.data;
  return (
    <Drawer open={code !== null} onClose={onClose} size={isPhone ? '100%' : 960} title={data ? `${data.content.schoolName} ${day} 日报` : '学校日报'}>
      {report.isLoading && <Loading />}
      {report.error && <ErrorAlert error={report.error} />}
      {data === null && <Empty description="该校当天尚未上报日报" />}
      {data && (
        <>
          <Space wrap style={{ marginBottom: 12 }}>
            <VersionTag version={data} />
            <Typography.Text type="secondary">{data.submittedAt ? `${formatDateTime(data.submittedAt)} 由 ${data.submittedBy} 上报` : '草稿，尚未上报'}</Typography.Text>
            <Button size="small" icon={<DownloadOutlined />} href={`${fillPath(route.path!, { code: code!, day })}/export?version=${data.version}`}>
              下载 Excel
            </Button>
          </Space>
          <ReportDetail report={data} />
        </>
      )}
    </Drawer>
  );
}

function trendOptions(points: TrendPoint[]): { attendance: EChartsOption; abnormal: EChartsOption } {
  const days = points.map((p) => p.day.slice(5));
  // Days without school are left out by the server; a school day without any submitted report is a gap in the lines, not a zero.
  const reported = (value: (p: TrendPoint) => number) => points.map((p) => (p.submitted === 0 ? null : value(p)));
  return {
    attendance: {
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: ['出勤率', '已上报学校'] },
      grid: { left: 48, right: 48, top: 48, bottom: 28 },
      xAxis: { type: 'category', data: days },
      yAxis: [
        { type: 'value', name: '%', min: (value) => Math.max(0, Math.floor(value.min - 5)), max: 100 },
        { type: 'value', name: '所', minInterval: 1 },
      ],
      series: [
        { name: '出勤率', type: 'line', data: points.map((p) => p.attendanceRate), smooth: true, connectNulls: false },
        { name: '已上报学校', type: 'bar', yAxisIndex: 1, data: points.map((p) => p.submitted), itemStyle: { opacity: 0.35 } },
      ],
    },
    abnormal: {
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: ['发热', '非绿码', '因病缺勤', '聚集性预警'] },
      grid: { left: 48, right: 24, top: 48, bottom: 28 },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: '发热', type: 'line', data: reported((p) => p.fevers) },
        { name: '非绿码', type: 'line', data: reported((p) => p.nonGreen) },
        { name: '因病缺勤', type: 'line', data: reported((p) => p.illnessAbsences) },
        { name: '聚集性预警', type: 'bar', data: reported((p) => p.clusters) },
      ],
    },
  };
}

function DeadlineSetting({ deadline }: { deadline: string }) {
  const [value, setValue] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const save = useMutation({
    mutationFn: (text: string) => api<{ deadline: string }>('/api/district/report-settings', { method: 'PUT', body: { deadline: text } }),
    onSuccess: (reply) => {
      message.success(`上报截止时间已设为 ${reply.deadline}`);
      setValue(null);
      void queryClient.invalidateQueries({ queryKey: ['district-reports'] });
    },
  });
  return (
    <Space.Compact>
      <Input aria-label="上报截止时间" style={{ width: 90 }} value={value ?? deadline} onChange={(event) => setValue(event.target.value)} />
      <Button disabled={value === null || value === deadline} loading={save.isPending} onClick={() => save.mutate(value!)}>
        保存截止时间
      </Button>
      {save.error && <Typography.Text type="danger" style={{ marginLeft: 8 }}>{(save.error as Error).message}</Typography.Text>}
    </Space.Compact>
  );
}

/**
 * The district's daily reports: every school's state of the day, who missed the
 * deadline, the district's totals, 30-day trends, one school's report in a drawer and
 * the Excel of all schools.
 */
export function DistrictReportsPage() {
  const route = useRoute('GET /api/district/reports');
  const [day, setDay] = useState(todayInShanghai());
  const [openCode, setOpenCode] = useState<string | null>(null);
  const isPhone = !Grid.useBreakpoint().md;
  const view = useQuery({
    queryKey: ['district-reports', day],
    queryFn: () => api<DistrictDay>(`/api/district/reports?day=${day}`),
    enabled: route.path !== undefined,
    refetchInterval: 60_000,
  });
  const trend = useQuery({
    queryKey: ['district-reports', 'trend', day],
    queryFn: () => api<{ points: TrendPoint[] }>(`/api/district/reports/trend?to=${day}&days=30`),
    enabled: route.path !== undefined,
  });
  const charts = useMemo(() => (trend.data ? trendOptions(trend.data.points) : null), [trend.data]);

  if (route.isLoading) return <Loading />;
  if (!route.path) {
    return (
      <>
        <PageTitle title="日报汇总" />
        <NotOpen />
      </>
    );
  }

  const data = view.data;
  const totals = data?.totals;
  // Versions built before 未同步 was counted apart have no figure, so the total leaves them out.
  const unsyncedUncounted = data?.schools.filter((row) => row.figures !== null && row.figures.unsynced === null).length ?? 0;
  const actions = (
    <Space wrap>
      <DatePicker
        allowClear={false}
        aria-label="日期"
        value={shanghai(Date.parse(`${day}T12:00:00+08:00`))}
        disabledDate={(date) => date.format('YYYY-MM-DD') > todayInShanghai()}
        onChange={(value) => value && setDay(value.format('YYYY-MM-DD'))}
      />
      <Button icon={<DownloadOutlined />} href={`/api/district/reports/export?day=${day}`}>
        下载全区汇总 Excel
      </Button>
    </Space>
  );

  return (
    <>
      <PageTitle title="日报汇总" extra={actions} />
      {view.error && <ErrorAlert error={view.error} />}
      {!data && view.isLoading && <Loading />}
      {data && totals && (
        <>
          <Row gutter={[12, 12]} style={{ marginBottom: 16 }}>
            {(
              [
                ['学校', totals.schools],
                ['已上报', totals.submitted],
                ['未上报', totals.missing],
                ...(totals.noSchool > 0 ? [['非上学日', totals.noSchool] as [string, number]] : []),
                ['逾期上报', totals.lateSubmissions],
                ['零报告', totals.zero],
                ['应到', totals.figures.expected],
                ['实到', totals.figures.arrived],
                ['发热', totals.figures.fevers],
                ['非绿码', totals.figures.nonGreen],
                ['未同步', totals.figures.unsynced ?? 0],
                ['因病缺勤', totals.figures.illnessAbsences ?? 0],
                ['聚集预警', totals.figures.clusters ?? 0],
              ] as Array<[string, number]>
            ).map(([label, value]) => (
              <Col key={label} xs={8} sm={6} md={4} xl={4} xxl={2}>
                <Card size="small" data-testid={`district-total-${label}`}>
                  <Statistic
                    title={label}
                    value={value}
                    suffix={label === '未同步' && unsyncedUncounted > 0 ? <Typography.Text type="secondary" style={{ fontSize: 12 }}>另 {unsyncedUncounted} 所未单独统计</Typography.Text> : undefined}
                    styles={(label === '未上报' || label === '未同步') && value > 0 ? { content: { color: label === '未上报' ? '#cf1322' : '#d46b08' } } : undefined}
                  />
                </Card>
              </Col>
            ))}
          </Row>

          <Card size="small" style={{ marginBottom: 16 }}>
            <Flex justify="space-between" align="center" wrap gap={12}>
              <Typography.Text data-testid="deadline-line">
                上报截止时间 {data.deadline}（北京时间）。
                {describeDeadline(data)}
                {totals.noSchool > 0 && ` ${totals.noSchool} 所学校当天不上学，无需上报。`}
              </Typography.Text>
              <DeadlineSetting deadline={data.deadline} />
            </Flex>
          </Card>

          {charts && (
            <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
              <Col xs={24} lg={12}>
                <Card title="近 30 天出勤率与上报学校数" size="small">
                  <Chart option={charts.attendance} label="近 30 天出勤率与上报学校数" height={240} />
                </Card>
              </Col>
              <Col xs={24} lg={12}>
                <Card title="近 30 天异常情况" size="small">
                  <Chart option={charts.abnormal} label="近 30 天异常情况" height={240} />
                </Card>
              </Col>
            </Row>
          )}

          <Card title={`各校日报（${data.day}）`} size="small">
            <Table
              size="small"
              rowKey="code"
              data-testid="district-report-table"
              pagination={{ pageSize: isPhone ? 10 : 20, showSizeChanger: false }}
              scroll={{ x: 1100 }}
              dataSource={data.schools}
              columns={[
                // A fixed width, because a link button does not wrap and a long school name ran under the state tag.
                { title: '学校', dataIndex: 'name', width: 180, fixed: isPhone ? undefined : 'left', render: (name: string, row) => <Button type="link" style={{ padding: 0, whiteSpace: 'normal', textAlign: 'left', height: 'auto' }} onClick={() => setOpenCode(row.code)}>{name}</Button> },
                { title: '状态', key: 'state', width: 110, render: (_: unknown, row) => <StateTag row={row} />, filters: [{ text: '未上报', value: 'missing' }, { text: '已上报', value: 'submitted' }], onFilter: (value, row) => (value === 'submitted' ? row.state === 'submitted' : row.state === 'missing' || row.state === 'draft') },
                { title: '版本', dataIndex: 'version', render: (v: number | null) => (v ? `第 ${v} 版` : '—') },
                { title: '上报时间', dataIndex: 'submittedAt', render: (ms: number | null) => formatDateTime(ms) },
                { title: '应到', key: 'expected', render: (_: unknown, row) => row.figures?.expected ?? '—' },
                { title: '实到', key: 'arrived', render: (_: unknown, row) => row.figures?.arrived ?? '—' },
                { title: '缺勤', key: 'absent', render: (_: unknown, row) => row.figures?.absent ?? '—' },
                { title: '发热', key: 'fevers', sorter: (a, b) => (a.figures?.fevers ?? -1) - (b.figures?.fevers ?? -1), render: (_: unknown, row) => row.figures?.fevers ?? '—' },
                { title: '非绿码', key: 'nonGreen', render: (_: unknown, row) => row.figures?.nonGreen ?? '—' },
                {
                  title: '未同步',
                  key: 'unsynced',
                  sorter: (a, b) => (a.figures?.unsynced ?? -1) - (b.figures?.unsynced ?? -1),
                  // Null for a version built before 未同步 was counted apart: its 非绿码 and 码过期 include them.
                  render: (_: unknown, row) => {
                    if (!row.figures) return '—';
                    if (row.figures.unsynced === null) return <Typography.Text type="secondary">未单独统计</Typography.Text>;
                    return row.figures.unsynced > 0 ? <Typography.Text style={{ color: '#d46b08' }}>{row.figures.unsynced}</Typography.Text> : 0;
                  },
                },
                { title: '因病缺勤', key: 'illness', render: (_: unknown, row) => row.figures?.illnessAbsences ?? '—' },
                { title: '聚集预警', key: 'clusters', render: (_: unknown, row) => row.figures?.clusters ?? '—' },
                { title: '零报告', key: 'zero', render: (_: unknown, row) => (row.isZero === null ? '—' : row.isZero ? <Tag color="green">是</Tag> : '否') },
              ]}
            />
          </Card>
        </>
      )}
      <SchoolReport code={openCode} day={day} onClose={() => setOpenCode(null)} />
    </>
  );
}
