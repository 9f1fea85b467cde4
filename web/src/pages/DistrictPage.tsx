import { useQuery } from '@tanstack/react-query';
import { Button, Card, Flex, Grid, Input, Progress, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import type { AttendanceDay, GateAlert, SyncRun } from '../api/types';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { formatDateTime, shanghai } from '../format';
import { useSchool, type SchoolOption } from '../layout/school';

const PAGE_SIZE = 15;

/** Today's arrivals of one school from the gate's attendance API. */
function Arrivals({ code }: { code: string }) {
  const route = useRoute('GET /api/schools/:code/attendance');
  const today = shanghai().format('YYYY-MM-DD');
  const attendance = useQuery({
    queryKey: ['attendance', code, today],
    queryFn: () => api<AttendanceDay>(fillPath(route.path!, { code }) + `?day=${today}`),
    enabled: route.path !== undefined,
    staleTime: 60_000,
  });
  if (!route.isLoading && !route.path) return <Typography.Text type="secondary">未开放</Typography.Text>;
  if (attendance.error) return <Typography.Text type="danger">加载失败</Typography.Text>;
  const data = attendance.data;
  if (!data) return <Typography.Text type="secondary">…</Typography.Text>;
  if (!data.isSchoolDay) {
    return (
      <Tooltip title={data.notSchoolDayText}>
        <Typography.Text type="secondary" data-testid={`arrivals-${code}`}>
          今天不上学（到校 {data.arrivedCount} 人）
        </Typography.Text>
      </Tooltip>
    );
  }
  const expected = data.arrivedCount + data.notArrivedCount;
  const percent = expected === 0 ? 0 : Math.round((data.arrivedCount / expected) * 100);
  return (
    <Tooltip title={`已到 ${data.arrivedCount} 人，未到 ${data.notArrivedCount} 人，迟到 ${data.lateCount} 人`}>
      <Flex vertical gap={0} style={{ minWidth: 120 }} data-testid={`arrivals-${code}`}>
        <span>
          {data.arrivedCount} / {expected}
        </span>
        <Progress percent={percent} size="small" showInfo={false} />
      </Flex>
    </Tooltip>
  );
}

/** Code colours of one school as its latest health-code sync counted them. */
function CodeCounts({ code }: { code: string }) {
  const route = useRoute('GET /api/schools/:code/sync-runs');
  const runs = useQuery({
    queryKey: ['sync-runs', code, 'latest'],
    queryFn: () => api<{ items: SyncRun[] }>(fillPath(route.path!, { code }) + '?limit=1'),
    enabled: route.path !== undefined,
    staleTime: 60_000,
  });
  if (!route.isLoading && !route.path) return <Typography.Text type="secondary">未开放</Typography.Text>;
  if (runs.error) return <Typography.Text type="danger">加载失败</Typography.Text>;
  if (!runs.data) return <Typography.Text type="secondary">…</Typography.Text>;
  const latest = runs.data.items[0];
  if (!latest) return <Typography.Text type="secondary">尚未同步</Typography.Text>;
  const count = (key: string) => latest.counts[key] ?? 0;
  return (
    <Space size={2} wrap data-testid={`codes-${code}`}>
      <Tag color="green">绿 {count('green')}</Tag>
      <Tag color={count('yellow') ? 'gold' : 'default'}>黄 {count('yellow')}</Tag>
      <Tag color={count('red') ? 'red' : 'default'}>红 {count('red')}</Tag>
      {count('unknown') > 0 && <Tag>未知 {count('unknown')}</Tag>}
      {count('stale') > 0 && <Tag color="orange">过期 {count('stale')}</Tag>}
    </Space>
  );
}

function LastSync({ code }: { code: string }) {
  const route = useRoute('GET /api/schools/:code/sync-runs');
  const runs = useQuery({
    queryKey: ['sync-runs', code, 'latest'],
    queryFn: () => api<{ items: SyncRun[] }>(fillPath(route.path!, { code }) + '?limit=1'),
    enabled: route.path !== undefined,
    staleTime: 60_000,
  });
  const latest = runs.data?.items[0];
  if (!latest) return <Typography.Text type="secondary">—</Typography.Text>;
  const failed = latest.status !== 'succeeded' && latest.status !== 'running';
  return (
    <Space size={4}>
      <span>{formatDateTime(latest.startedAt)}</span>
      {failed && <Tag color="error">未完成</Tag>}
    </Space>
  );
}

function OpenAlerts({ code }: { code: string }) {
  const route = useRoute('GET /api/schools/:code/alerts');
  const alerts = useQuery({
    queryKey: ['gate-alerts', code, 'open'],
    queryFn: () => api<{ alerts: GateAlert[] }>(fillPath(route.path!, { code }) + '?status=open'),
    enabled: route.path !== undefined,
    staleTime: 60_000,
  });
  if (!route.isLoading && !route.path) return <Typography.Text type="secondary">未开放</Typography.Text>;
  if (!alerts.data) return <Typography.Text type="secondary">…</Typography.Text>;
  const count = alerts.data.alerts.length;
  return count === 0 ? <span>0</span> : <Typography.Text type="danger" strong>{count}</Typography.Text>;
}

/**
 * The district's view: every school with its day's figures. Figures are read per school
 * from the school APIs, only for the schools on the visible page of the table.
 */
export function DistrictPage() {
  const route = useRoute('GET /api/schools');
  const { setSchoolCode } = useSchool();
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [visible, setVisible] = useState(PAGE_SIZE);
  const isPhone = !Grid.useBreakpoint().md;
  const searchBox = <Input.Search allowClear placeholder="学校名称或代码" aria-label="搜索学校" onSearch={setSearch} style={{ width: 200 }} />;
  const schools = useQuery({
    queryKey: ['schools'],
    queryFn: async () => (await api<{ schools: SchoolOption[] }>('/api/schools')).schools,
    enabled: route.path !== undefined,
  });
  if (route.isLoading) return <Loading />;

  const openSchool = (code: string) => {
    setSchoolCode(code);
    navigate('/');
  };
  const needle = search.trim();
  const rows = (schools.data ?? []).filter((s) => !needle || s.name.includes(needle) || s.code.toLowerCase().includes(needle.toLowerCase()));

  return (
    <>
      <PageTitle title="区级" />
      {!route.path ? (
        <NotOpen title="全区学校" />
      ) : (
        <Card title={`全区学校${schools.data ? `（${schools.data.length} 所）` : ''}`} extra={isPhone ? null : searchBox}>
          {isPhone && <div style={{ marginBottom: 12 }}>{searchBox}</div>}
          {schools.error && <ErrorAlert error={schools.error} />}
          <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>
            {shanghai().format('YYYY年M月D日')} · 到校人数来自闸机考勤，健康码为各校最近一次同步的结果。点击学校名称查看该校首页。
          </Typography.Paragraph>
          {isPhone ? (
            // On a phone each school is a block with its figures, as a table would scroll them out of sight.
            rows.slice(0, visible).map((school) => (
              <div key={school.code} className="fk-line" style={{ display: 'block' }} data-testid={`school-${school.code}`}>
                <Button type="link" style={{ padding: 0, height: 'auto', fontSize: 16 }} onClick={() => openSchool(school.code)}>
                  {school.name}
                </Button>
                <Flex gap={16} wrap style={{ marginTop: 6 }}>
                  <div>
                    <div className="fk-line-detail">今日到校</div>
                    <Arrivals code={school.code} />
                  </div>
                  <div>
                    <div className="fk-line-detail">待处理预警</div>
                    <OpenAlerts code={school.code} />
                  </div>
                </Flex>
                <div style={{ marginTop: 6 }}>
                  <CodeCounts code={school.code} />
                </div>
              </div>
            ))
          ) : (
            <Table<SchoolOption>
              rowKey="code"
              size="middle"
              loading={schools.isLoading}
              dataSource={rows}
              scroll={{ x: 860 }}
              pagination={{ pageSize: PAGE_SIZE, showSizeChanger: false, hideOnSinglePage: true }}
              columns={[
                {
                  title: '学校',
                  dataIndex: 'name',
                  fixed: 'left',
                  width: 180,
                  render: (name: string, row) => (
                    <Button type="link" style={{ padding: 0, height: 'auto', whiteSpace: 'normal', textAlign: 'left' }} onClick={() => openSchool(row.code)}>
                      {name}
                    </Button>
                  ),
                },
                { title: '代码', dataIndex: 'code', width: 120 },
                { title: '今日到校', key: 'arrivals', width: 150, render: (_, row) => <Arrivals code={row.code} /> },
                { title: '健康码', key: 'codes', width: 240, render: (_, row) => <CodeCounts code={row.code} /> },
                { title: '待处理预警', key: 'alerts', width: 100, render: (_, row) => <OpenAlerts code={row.code} /> },
                { title: '最近同步', key: 'sync', width: 180, render: (_, row) => <LastSync code={row.code} /> },
              ]}
            />
          )}
          {isPhone && rows.length > visible && (
            <Button block onClick={() => setVisible(visible + PAGE_SIZE)} style={{ marginTop: 8 }}>
              显示更多学校
            </Button>
          )}
        </Card>
      )}
      <div style={{ height: 16 }} />
      <Card title="全区日报">
        <Typography.Paragraph>各校日报的上报情况、全区合计、近 30 天趋势和全区 Excel 在“日报汇总”页。</Typography.Paragraph>
        <Button type="primary" onClick={() => navigate('/district-reports')}>
          打开日报汇总
        </Button>
      </Card>
    </>
  );
}
