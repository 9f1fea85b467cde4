import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, DatePicker, Empty, Flex, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { DownloadOutlined, ReloadOutlined, SendOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { useState } from 'react';
import { ApiError, api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { useUser } from '../auth/session';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { formatDateTime, shanghai, todayInShanghai } from '../format';
import { useSchool } from '../layout/school';
import { ReportDetail } from './reports/ReportDetail';
import type { Report, ReportVersion } from './reports/types';

/** GET /api/schools/:code/calendar/days/:day. */
interface DayStatus {
  isSchoolDay: boolean;
  /** "2026-12-05 是周六，不是上学日" on a day without school. */
  text: string;
}

/** Status tag of a version: draft or submitted, with the version number. */
export function VersionTag({ version }: { version: Pick<ReportVersion, 'version' | 'status'> }) {
  return version.status === 'submitted' ? <Tag color="green">第 {version.version} 版 · 已上报</Tag> : <Tag color="gold">第 {version.version} 版 · 草稿</Tag>;
}

function VersionHistory({ versions }: { versions: ReportVersion[] }) {
  return (
    <Card title="版本记录" size="small" style={{ marginBottom: 16 }} data-testid="report-versions">
      <Table
        size="small"
        pagination={false}
        rowKey="version"
        scroll={{ x: true }}
        dataSource={versions}
        columns={[
          { title: '版本', key: 'version', render: (_: unknown, row) => <VersionTag version={row} /> },
          { title: '生成', key: 'built', render: (_: unknown, row) => `${formatDateTime(row.builtAt)} ${row.builtBy}` },
          { title: '上报', key: 'submitted', render: (_: unknown, row) => (row.submittedAt ? `${formatDateTime(row.submittedAt)} ${row.submittedBy ?? ''}` : '—') },
          { title: '更正说明', dataIndex: 'changeNote', render: (note: string | null) => note ?? '—' },
          { title: '关键数字变化', dataIndex: 'changeSummary', render: (summary: string | null) => summary ?? '—' },
        ]}
      />
    </Card>
  );
}

/**
 * The school's daily report: build it (or rebuild the draft), read it, submit it to the
 * district, correct it after submission (a new version with a note) and download the
 * Excel in the district's layout.
 */
export function ReportsPage() {
  const user = useUser();
  const { school } = useSchool();
  const route = useRoute('GET /api/schools/:code/reports/:day');
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const [day, setDay] = useState(todayInShanghai());
  const [version, setVersion] = useState<number | undefined>(undefined);
  const [noteOpen, setNoteOpen] = useState(false);
  const [note, setNote] = useState('');
  const code = school?.code ?? '';
  const path = route.path ? fillPath(route.path, { code, day }) : '';

  const report = useQuery({
    queryKey: ['report', code, day, version ?? 'latest'],
    queryFn: async () => {
      try {
        return await api<Report>(path + (version ? `?version=${version}` : ''));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    enabled: Boolean(school && route.path),
    // The server compares the newest draft with the current records on each read, so the
    // rebuild hint below appears while the page stays open.
    refetchInterval: (query) => (query.state.data?.sinceBuild ? 60_000 : false),
  });
  // Only a hint: the server checks the calendar again when a report is built or submitted.
  const dayStatus = useQuery({
    queryKey: ['calendar-day', code, day],
    queryFn: () => api<DayStatus>(`/api/schools/${encodeURIComponent(code)}/calendar/days/${day}`),
    enabled: Boolean(school),
  });

  const refresh = (next: Report) => {
    setVersion(undefined);
    queryClient.setQueryData(['report', code, day, 'latest'], next);
    void queryClient.invalidateQueries({ queryKey: ['report', code, day] });
  };
  const build = useMutation({
    mutationFn: () => api<Report>(`${path}/build`, { method: 'POST' }),
    onSuccess: (next) => {
      refresh(next);
      message.success(`已生成第 ${next.version} 版日报`);
    },
  });
  const submit = useMutation({
    mutationFn: (text?: string) => api<Report>(`${path}/submit`, { method: 'POST', body: text ? { note: text } : {} }),
    onSuccess: (next) => {
      refresh(next);
      setNoteOpen(false);
      setNote('');
      message.success(`第 ${next.version} 版日报已上报区教育局`);
    },
  });

  if (!school) return <NeedSchool title="日报" />;
  if (route.isLoading) return <Loading />;
  if (!route.path) {
    return (
      <>
        <PageTitle title="日报" />
        <NotOpen />
      </>
    );
  }

  const current = report.data ?? null;
  const latest = current?.versions[0];
  const canBuild = user.role === 'school_admin' || user.role === 'school_doctor';
  const canSubmit = user.role === 'school_admin';
  const isCorrection = latest?.status === 'draft' && current!.versions.some((v) => v.status === 'submitted');
  const viewingLatest = current !== null && latest !== undefined && current.version === latest.version;

  const freshness = viewingLatest ? current?.sinceBuild : undefined;
  const outdated = freshness !== undefined && freshness.changes.length > 0;

  const actions = (
    <Space wrap>
      <DatePicker
        allowClear={false}
        value={shanghai(Date.parse(`${day}T12:00:00+08:00`))}
        disabledDate={(date) => date.format('YYYY-MM-DD') > todayInShanghai()}
        onChange={(value) => {
          if (value) {
            setDay(value.format('YYYY-MM-DD'));
            setVersion(undefined);
            // An error of the previous day's build or submission would read as this day's.
            build.reset();
            submit.reset();
          }
        }}
        aria-label="日报日期"
      />
      {current && current.versions.length > 1 && (
        <Select
          aria-label="查看版本"
          style={{ width: 130 }}
          value={current.version}
          onChange={(value: number) => setVersion(value === latest?.version ? undefined : value)}
          options={current.versions.map((v) => ({ value: v.version, label: `第 ${v.version} 版${v.status === 'draft' ? '（草稿）' : ''}` }))}
        />
      )}
      {canBuild && (
        <Button icon={<ReloadOutlined />} loading={build.isPending} onClick={() => build.mutate()}>
          {current ? (latest?.status === 'submitted' ? '更正（生成新版本）' : '重新生成') : '生成日报'}
        </Button>
      )}
      {canSubmit && latest?.status === 'draft' && viewingLatest && isCorrection && (
        <Button type="primary" icon={<SendOutlined />} loading={submit.isPending} onClick={() => setNoteOpen(true)}>
          上报更正
        </Button>
      )}
      {canSubmit && latest?.status === 'draft' && viewingLatest && !isCorrection && (
        <Popconfirm
          title={`上报第 ${latest.version} 版日报？`}
          description={
            <div style={{ maxWidth: 320 }} data-testid="report-submit-confirm">
              上报后这一版不能再修改。如需更正，只能生成新版本并填写更正说明后再次上报。
              {outdated && <div style={{ marginTop: 4 }}>注意：草稿生成后数据已有变化，建议先重新生成。</div>}
            </div>
          }
          okText="确认上报"
          cancelText="取消"
          onConfirm={() => submit.mutate(undefined)}
        >
          <Button type="primary" icon={<SendOutlined />} loading={submit.isPending}>
            上报区教育局
          </Button>
        </Popconfirm>
      )}
      {current && (
        <Button icon={<DownloadOutlined />} href={`${path}/export?version=${current.version}`}>
          下载 Excel
        </Button>
      )}
    </Space>
  );

  return (
    <>
      <PageTitle title="日报" extra={actions} />
      {(build.error || submit.error) && <ErrorAlert error={build.error ?? submit.error} />}
      {report.error && <ErrorAlert error={report.error} />}
      {report.isLoading && <Loading />}
      {report.data === null && dayStatus.data?.isSchoolDay === false && (
        <Alert
          type="info"
          showIcon
          title={`${dayStatus.data.text}，不需要日报。`}
          description="当天有校门入校记录或晨午检记录时仍可生成和上报，日报中会注明这一天不是上学日。如果这一天实际上课，请先在 设置 › 校历 中把它设为上学日。"
          style={{ marginBottom: 16 }}
          data-testid="report-day-status"
        />
      )}
      {report.data === null && (
        <Card>
          <Empty
            description={
              dayStatus.data?.isSchoolDay === false
                ? `${dayjs(day).format('M月D日')}没有日报。`
                : `${dayjs(day).format('M月D日')}的日报尚未生成${canBuild ? '，点击“生成日报”立即生成' : ''}。每天到设定时间（默认 16:30）会自动生成草稿。`
            }
          />
        </Card>
      )}
      {current && (
        <>
          <Flex gap={8} wrap align="center" style={{ marginBottom: 12 }}>
            <Typography.Text strong>{current.content.schoolName}</Typography.Text>
            <VersionTag version={current} />
            <Typography.Text type="secondary">
              生成于 {formatDateTime(current.builtAt)}（{current.builtBy}）
              {current.submittedAt ? `，${formatDateTime(current.submittedAt)} 由 ${current.submittedBy} 上报` : ''}
              {freshness && !outdated ? `，${formatDateTime(freshness.checkedAt)} 核对时与当前数据一致` : ''}
            </Typography.Text>
          </Flex>
          {freshness && outdated && (
            <Alert
              type="warning"
              showIcon
              title={`草稿生成（${formatDateTime(current.builtAt)}）后数据已有变化，请重新生成后再上报`}
              description={`${formatDateTime(freshness.checkedAt)} 核对：${freshness.changeSummary}。`}
              action={
                canBuild ? (
                  <Button size="small" loading={build.isPending} onClick={() => build.mutate()}>
                    重新生成
                  </Button>
                ) : undefined
              }
              style={{ marginBottom: 16 }}
              data-testid="report-outdated"
            />
          )}
          {current.changeNote && <Alert type="info" showIcon title={`更正说明：${current.changeNote}`} description={current.changeSummary ?? undefined} style={{ marginBottom: 16 }} />}
          {latest?.status === 'submitted' && viewingLatest && canBuild && (
            <Typography.Paragraph type="secondary">已上报的日报不会再改动；数据有更正时，点击“更正（生成新版本）”生成第 {latest.version + 1} 版，核对后上报。</Typography.Paragraph>
          )}
          <ReportDetail report={current} />
          <VersionHistory versions={current.versions} />
        </>
      )}
      <Modal
        title={`上报第 ${latest?.version ?? ''} 版（更正）`}
        open={noteOpen}
        okText="上报"
        cancelText="取消"
        confirmLoading={submit.isPending}
        onOk={() => submit.mutate(note)}
        onCancel={() => setNoteOpen(false)}
      >
        <Typography.Paragraph>这是对已上报日报的更正。区教育局会看到每个版本及其变化，请写明更正了什么。上报后这一版不能再修改，再有更正需另生成新版本。</Typography.Paragraph>
        <Input.TextArea aria-label="更正说明" rows={3} maxLength={500} value={note} onChange={(event) => setNote(event.target.value)} placeholder="例如：补报二(3)班一名因病缺勤学生" />
      </Modal>
    </>
  );
}
