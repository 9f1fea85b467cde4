import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Drawer, Grid, Input, Progress, Row, Segmented, Select, Space, Table, Tag, Typography } from 'antd';
import { SyncOutlined } from '@ant-design/icons';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import type { CodeEntry, SyncRun } from '../api/types';
import { isAdmin, useUser } from '../auth/session';
import { CodeHistory } from '../components/CodeHistory';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { CODE_COLORS, codeTagsOf, formatDateTime } from '../format';
import { useSchool } from '../layout/school';
import { SYNC_TRIGGER_LABELS } from '../sync-triggers';

const RUN_STATUS: Record<string, { label: string; color: string }> = {
  running: { label: '进行中', color: 'processing' },
  succeeded: { label: '成功', color: 'success' },
  partial: { label: '部分失败', color: 'warning' },
  failed: { label: '失败', color: 'error' },
  interrupted: { label: '已中断', color: 'default' },
};


/**
 * Query of each filter of the codes table. 已过期 lists fetched codes only and 未同步 the codes the
 * bureau never returned, as the dashboard and the daily report count them. The server counts a
 * never-synced code as unknown, so 未知 asks for fetched codes to keep the two apart.
 */
const FILTERS: Array<{ label: string; value: string; query: string }> = [
  { label: '全部', value: 'all', query: '' },
  { label: '绿码', value: 'green', query: '?color=green' },
  { label: '黄码', value: 'yellow', query: '?color=yellow' },
  { label: '红码', value: 'red', query: '?color=red' },
  { label: '未知', value: 'unknown', query: '?color=unknown&unsynced=false' },
  { label: '已过期', value: 'stale', query: '?stale=true' },
  { label: '未同步', value: 'unsynced', query: '?unsynced=true' },
];

/** Rows that need attention first: red, yellow, unknown or never synced, stale green, then green. */
const SEVERITY: Record<string, number> = { red: 0, yellow: 1, unknown: 2, green: 4 };
const severityOf = (item: CodeEntry) => (item.color === 'green' && item.isStale ? 3 : (SEVERITY[item.color] ?? 2));

export function CodeTag({ color, isStale }: { color: string; isStale?: boolean }) {
  const known = CODE_COLORS[color] ?? CODE_COLORS.unknown;
  return (
    <Space size={4}>
      <Tag color={known.color}>{known.label}</Tag>
      {isStale && <Tag>已过期</Tag>}
    </Space>
  );
}

/** Progress of a sync run: processed of total, red when it failed, animated while it runs. */
function RunProgress({ run }: { run: SyncRun }) {
  const isRunning = run.status === 'running';
  let percent = isRunning ? 0 : 100;
  if (run.total > 0) percent = Math.floor((run.processed / run.total) * 100);
  let status: 'exception' | 'active' | undefined;
  if (run.status === 'failed') status = 'exception';
  if (isRunning) status = 'active';
  return <Progress size="small" percent={percent} status={status} />;
}

function CodesTable({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/codes');
  const [filter, setFilter] = useState<string>('all');
  const [search, setSearch] = useState('');
  const [opened, setOpened] = useState<CodeEntry | null>(null);
  const screens = Grid.useBreakpoint();
  const codes = useQuery({
    queryKey: ['codes', schoolCode, filter],
    queryFn: () => {
      const query = FILTERS.find((option) => option.value === filter)?.query ?? '';
      return api<{ items: CodeEntry[]; total: number }>(fillPath(route.path!, { code: schoolCode }) + query);
    },
    enabled: route.path !== undefined,
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="当前健康码" />;

  const needle = search.trim();
  const items = (codes.data?.items ?? [])
    .filter((item) => !needle || item.name.includes(needle) || (item.className ?? '').includes(needle))
    .sort((a, b) => severityOf(a) - severityOf(b));
  return (
    <Card
      title="当前健康码"
      extra={
        <Input.Search allowClear placeholder="姓名或班级" onSearch={setSearch} onChange={(event) => !event.target.value && setSearch('')} style={{ width: 180 }} />
      }
    >
      {/* Seven segments are wider than a phone, so a phone gets a drop-down list instead. */}
      {screens.sm ? (
        <Segmented
          style={{ marginBottom: 12 }}
          value={filter}
          onChange={(value) => setFilter(String(value))}
          options={FILTERS.map(({ label, value }) => ({ label, value }))}
          data-testid="code-filter"
        />
      ) : (
        <Select
          aria-label="健康码筛选"
          style={{ marginBottom: 12, width: 140 }}
          value={filter}
          onChange={setFilter}
          options={FILTERS.map(({ label, value }) => ({ label, value }))}
          data-testid="code-filter"
        />
      )}
      {codes.error && <ErrorAlert error={codes.error} />}
      <Table<CodeEntry>
        rowKey="personId"
        size="small"
        loading={codes.isLoading}
        dataSource={items}
        scroll={{ x: 880 }}
        pagination={{ pageSize: 20, showSizeChanger: false, showTotal: (total) => `共 ${total} 人` }}
        columns={[
          {
            title: '姓名',
            dataIndex: 'name',
            width: 100,
            render: (value: string, row) => (
              <Button type="link" size="small" style={{ padding: 0 }} onClick={() => setOpened(row)} data-testid="code-person">
                {value}
              </Button>
            ),
          },
          { title: '班级', dataIndex: 'className', width: 100, render: (value: string | null, row) => value ?? (row.kind === 'staff' ? '教职工' : '—') },
          {
            title: '健康码',
            dataIndex: 'color',
            width: 140,
            render: (_: string, row) => (
              <Space size={4}>
                {codeTagsOf(row).map((tag) => (
                  <Tag key={tag.label} color={tag.color}>
                    {tag.label}
                  </Tag>
                ))}
              </Space>
            ),
          },
          { title: '身份证号', dataIndex: 'idNumberMasked', width: 180, render: (value: string | null) => value ?? '—' },
          { title: '最近获取', dataIndex: 'fetchedAt', width: 150, render: formatDateTime },
          { title: '说明', dataIndex: 'reason', width: 200, ellipsis: true, render: (value: string | null, row) => row.lastFailure ?? value ?? '' },
        ]}
      />
      <Drawer
        open={opened !== null}
        onClose={() => setOpened(null)}
        title={opened ? `${opened.name} · 健康码记录` : undefined}
        size={screens.sm ? 480 : '100%'}
        destroyOnHidden
        data-testid="code-history-drawer"
      >
        {opened && <CodeHistory personId={opened.personId} />}
      </Drawer>
    </Card>
  );
}

function SyncRuns({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const { message } = App.useApp();
  const client = useQueryClient();
  const listRoute = useRoute('GET /api/schools/:code/sync-runs');
  const syncRoute = useRoute('POST /api/schools/:code/sync');
  const runs = useQuery({
    queryKey: ['sync-runs', schoolCode],
    queryFn: () => api<{ items: SyncRun[] }>(fillPath(listRoute.path!, { code: schoolCode }) + '?limit=20'),
    enabled: listRoute.path !== undefined,
    // Poll while a run is going so its progress bar moves.
    refetchInterval: (query) => (query.state.data?.items.some((run) => run.status === 'running') ? 2000 : false),
  });
  const syncNow = useMutation({
    mutationFn: () => api<{ runId: string; message: string }>(fillPath(syncRoute.path!, { code: schoolCode }), { method: 'POST' }),
    onSuccess: (reply) => {
      message.success(reply.message);
      client.invalidateQueries({ queryKey: ['sync-runs', schoolCode] });
    },
    onError: (error) => message.error(error.message),
  });

  if (listRoute.isLoading) return <Loading />;
  if (!listRoute.path) return <NotOpen title="同步记录" />;
  const canSync = syncRoute.path !== undefined && isAdmin(user);
  return (
    <Card
      title="同步记录"
      extra={
        canSync && (
          <Button type="primary" icon={<SyncOutlined />} loading={syncNow.isPending} onClick={() => syncNow.mutate()} data-testid="sync-now">
            立即同步
          </Button>
        )
      }
    >
      {runs.error && <ErrorAlert error={runs.error} />}
      <Table<SyncRun>
        rowKey="id"
        size="small"
        loading={runs.isLoading}
        dataSource={runs.data?.items ?? []}
        scroll={{ x: 720 }}
        pagination={false}
        columns={[
          { title: '开始时间', dataIndex: 'startedAt', width: 150, render: formatDateTime },
          { title: '方式', dataIndex: 'trigger', width: 80, render: (value: string) => SYNC_TRIGGER_LABELS[value] ?? value },
          {
            title: '状态',
            dataIndex: 'status',
            width: 90,
            render: (value: string) => <Tag color={RUN_STATUS[value]?.color}>{RUN_STATUS[value]?.label ?? value}</Tag>,
          },
          {
            title: '进度',
            width: 180,
            render: (_, run) => <RunProgress run={run} />,
          },
          { title: '处理/失败', width: 100, render: (_, run) => `${run.processed}/${run.failed}` },
          { title: '跳码', dataIndex: 'changes', width: 60 },
          { title: '问题', dataIndex: 'error', render: (value: string | null) => value && <Typography.Text type="danger">{value}</Typography.Text> },
        ]}
      />
    </Card>
  );
}

export function HealthCodesPage() {
  const { school } = useSchool();
  if (!school) return <NeedSchool title="健康码" />;
  return (
    <>
      <PageTitle title={`健康码 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        <Col span={24}>
          <SyncRuns schoolCode={school.code} />
        </Col>
        <Col span={24}>
          <CodesTable schoolCode={school.code} />
        </Col>
      </Row>
    </>
  );
}
