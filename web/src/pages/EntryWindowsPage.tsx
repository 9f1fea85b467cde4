import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Empty, Flex, Grid, Input, List, Row, Select, Space, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined, SaveOutlined } from '@ant-design/icons';
import { api, ApiError } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { isAdmin, useUser } from '../auth/session';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { useSchool } from '../layout/school';

interface EntryWindow {
  grades: number[];
  from: string;
  to: string;
  lanes?: string[];
  weekdays?: number[];
}

interface WindowsView {
  windows: EntryWindow[];
  lanes: string[];
  schoolWeekdays: number[];
}

interface GuardWindow extends EntryWindow {
  state: 'upcoming' | 'open' | 'closed';
  gradeNames: string;
}

interface GuardView {
  day: string;
  weekday: number;
  now: string;
  isSchoolDay: boolean;
  /** Why today has no school, naming the day and the reason; null on a school day. */
  notSchoolDayText: string | null;
  windows: GuardWindow[];
  lanesNow: Array<{ lane: string; grades: number[]; gradeNames: string }>;
  next: GuardWindow | null;
}

const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
const GRADE_NAMES = ['一', '二', '三', '四', '五', '六', '七', '八', '九'];
const GRADE_OPTIONS = GRADE_NAMES.map((name, i) => ({ value: i + 1, label: `${name}年级` }));
const WEEKDAY_OPTIONS = [1, 2, 3, 4, 5, 6, 0].map((d) => ({ value: d, label: WEEKDAYS[d] }));
const STATE_TAGS: Record<GuardWindow['state'], { label: string; color: string }> = {
  open: { label: '进行中', color: 'green' },
  upcoming: { label: '未开始', color: 'blue' },
  closed: { label: '已结束', color: 'default' },
};

function lanesText(lanes?: string[]): string {
  return lanes && lanes.length > 0 ? lanes.join('、') : '任意通道';
}

function weekdaysText(weekdays?: number[]): string {
  return weekdays && weekdays.length > 0 ? weekdays.map((d) => WEEKDAYS[d]).join('、') : '每个上学日';
}

/** Show the guard each lane with the grades due there now, and today's windows. */
function GuardCard({ code, path }: { code: string; path: string }) {
  const isPhone = !Grid.useBreakpoint().md;
  const view = useQuery({
    queryKey: ['entry-windows-now', code],
    queryFn: () => api<GuardView>(fillPath(path, { code })),
    refetchInterval: 30_000,
  });
  if (view.error) return <ErrorAlert error={view.error} />;
  if (!view.data) return <Loading />;
  const data = view.data;
  return (
    <Card title={`现在 ${data.now}（${WEEKDAYS[data.weekday]}）· 各通道应到年级`} data-testid="guard-view">
      {!data.isSchoolDay && <Alert type="info" showIcon title={`今天 ${data.notSchoolDayText}，没有错峰入校时段`} style={{ marginBottom: 12 }} data-testid="not-school-day" />}
      <Row gutter={[12, 12]}>
        {data.lanesNow.map((lane) => (
          <Col xs={12} md={6} key={lane.lane}>
            <Card size="small" style={{ background: lane.grades.length > 0 ? '#f6ffed' : undefined, textAlign: 'center' }}>
              <Typography.Title level={isPhone ? 4 : 3} style={{ margin: 0 }}>
                {lane.lane}
              </Typography.Title>
              <Typography.Text style={{ fontSize: isPhone ? 16 : 18 }} type={lane.grades.length > 0 ? undefined : 'secondary'}>
                {lane.gradeNames || '暂无年级入校'}
              </Typography.Text>
            </Card>
          </Col>
        ))}
        {data.lanesNow.length === 0 && (
          <Col span={24}>
            <Empty description="本校尚未登记通道设备" />
          </Col>
        )}
      </Row>
      {data.next && (
        <Typography.Paragraph style={{ marginTop: 12, marginBottom: 0 }}>
          下一时段：{data.next.from}–{data.next.to} {data.next.gradeNames}（{lanesText(data.next.lanes)}）
        </Typography.Paragraph>
      )}
      <List
        style={{ marginTop: 12 }}
        size="small"
        header={<Typography.Text strong>今日入校时段</Typography.Text>}
        dataSource={data.windows}
        locale={{ emptyText: '今天没有错峰时段' }}
        renderItem={(w) => (
          <List.Item>
            <Flex justify="space-between" style={{ width: '100%' }} gap={8} wrap>
              <span>
                <Typography.Text strong>
                  {w.from}–{w.to}
                </Typography.Text>{' '}
                {w.gradeNames} · {lanesText(w.lanes)}
              </span>
              <Tag color={STATE_TAGS[w.state].color}>{STATE_TAGS[w.state].label}</Tag>
            </Flex>
          </List.Item>
        )}
      />
    </Card>
  );
}

/** Edit the windows, one row each. The server checks overlaps, times and lanes on save. */
function WindowsEditor({ code, path }: { code: string; path: string }) {
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const stored = useQuery({ queryKey: ['entry-windows', code], queryFn: () => api<WindowsView>(fillPath(path, { code })) });
  const [rows, setRows] = useState<EntryWindow[]>([]);
  useEffect(() => {
    if (stored.data) setRows(stored.data.windows.map((w) => ({ ...w })));
  }, [stored.data]);
  const save = useMutation({
    mutationFn: () => api<WindowsView>(fillPath(path, { code }), { method: 'PUT', body: { windows: rows } }),
    onSuccess: () => {
      message.success('错峰入校时段已保存，闸机立即按新时段判断');
      void queryClient.invalidateQueries({ queryKey: ['entry-windows', code] });
      void queryClient.invalidateQueries({ queryKey: ['entry-windows-now', code] });
    },
  });
  const update = (index: number, patch: Partial<EntryWindow>) => setRows((all) => all.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  const problems = save.error instanceof ApiError ? ((save.error.details as { problems?: string[] } | undefined)?.problems ?? null) : null;
  const lanes = stored.data?.lanes ?? [];

  return (
    <Card
      title="错峰入校时段设置"
      extra={
        <Space>
          <Button icon={<PlusOutlined />} onClick={() => setRows((all) => [...all, { grades: [], from: '07:30', to: '07:45', lanes: [] }])}>
            添加时段
          </Button>
          <Button type="primary" icon={<SaveOutlined />} loading={save.isPending} onClick={() => save.mutate()}>
            保存
          </Button>
        </Space>
      }
    >
      {stored.error && <ErrorAlert error={stored.error} />}
      {save.error && !problems && <ErrorAlert error={save.error} />}
      {problems && (
        <Alert
          type="error"
          showIcon
          title="未保存，请修改以下问题"
          description={
            <ul style={{ margin: 0, paddingLeft: 18 }}>
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          }
          style={{ marginBottom: 12 }}
        />
      )}
      <Table<EntryWindow & { key: number }>
        size="small"
        pagination={false}
        loading={stored.isLoading}
        scroll={{ x: 860 }}
        dataSource={rows.map((row, key) => ({ ...row, key }))}
        locale={{ emptyText: '尚未设置错峰时段：各年级不限入校时间和通道' }}
        columns={[
          { title: '#', key: 'n', width: 40, render: (_, __, i) => i + 1 },
          {
            title: '年级',
            key: 'grades',
            width: 240,
            render: (_, row, i) => (
              <Select mode="multiple" aria-label={`第 ${i + 1} 个时段的年级`} style={{ width: '100%' }} value={row.grades} options={GRADE_OPTIONS} onChange={(grades) => update(i, { grades })} />
            ),
          },
          { title: '开始', key: 'from', width: 90, render: (_, row, i) => <Input aria-label={`第 ${i + 1} 个时段的开始时间`} value={row.from} maxLength={5} onChange={(e) => update(i, { from: e.target.value })} /> },
          { title: '结束', key: 'to', width: 90, render: (_, row, i) => <Input aria-label={`第 ${i + 1} 个时段的结束时间`} value={row.to} maxLength={5} onChange={(e) => update(i, { to: e.target.value })} /> },
          {
            title: '通道',
            key: 'lanes',
            width: 200,
            render: (_, row, i) => (
              <Select mode="multiple" placeholder="任意通道" style={{ width: '100%' }} value={row.lanes ?? []} options={lanes.map((l) => ({ value: l, label: l }))} onChange={(value) => update(i, { lanes: value })} />
            ),
          },
          {
            title: '星期',
            key: 'weekdays',
            width: 220,
            render: (_, row, i) => (
              <Select mode="multiple" placeholder="每个上学日" style={{ width: '100%' }} value={row.weekdays ?? []} options={WEEKDAY_OPTIONS} onChange={(value) => update(i, { weekdays: value })} />
            ),
          },
          {
            title: '',
            key: 'remove',
            width: 50,
            render: (_, __, i) => <Button type="text" danger icon={<DeleteOutlined />} aria-label={`删除第 ${i + 1} 个时段`} onClick={() => setRows((all) => all.filter((_, k) => k !== i))} />,
          },
        ]}
      />
      <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
        同一年级在同一天只能有一个时段；不选星期表示每个上学日，不选通道表示任意通道。当前通道：{lanes.length > 0 ? lanes.join('、') : '无'}。示例：{weekdaysText([1, 2, 4, 5])} 与 {weekdaysText([3])} 可以各设一个时段。
      </Typography.Paragraph>
    </Card>
  );
}

export function EntryWindowsPage() {
  const user = useUser();
  const { school } = useSchool();
  const nowRoute = useRoute('GET /api/schools/:code/entry-windows/now');
  const editRoute = useRoute('PUT /api/schools/:code/entry-windows');
  if (!school) return <NeedSchool title="错峰入校" />;
  if (nowRoute.isLoading) return <Loading />;
  if (!nowRoute.path) return <NotOpen title="错峰入校" />;
  return (
    <>
      <PageTitle title={`错峰入校 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        <Col span={24}>
          <GuardCard code={school.code} path={nowRoute.path} />
        </Col>
        {isAdmin(user) && editRoute.path && (
          <Col span={24}>
            <WindowsEditor code={school.code} path={editRoute.path} />
          </Col>
        )}
      </Row>
    </>
  );
}
