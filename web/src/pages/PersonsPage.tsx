import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Checkbox, Col, Descriptions, Input, Progress, Row, Segmented, Space, Table, Tag, Tooltip, Upload } from 'antd';
import { DownloadOutlined, UploadOutlined } from '@ant-design/icons';
import { ApiError, api, uploadFile } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { isAdmin, useUser } from '../auth/session';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { roleLabel } from '../format';
import { NeedSchool } from '../components/NeedSchool';
import { useSchool } from '../layout/school';
import { PersonDrawer, type Person } from './persons/PersonDrawer';
import { downloadRejectedRows, downloadRejectedRowsXlsx, type RejectedRow } from './persons/rejected-rows';

/** POST /api/schools/:code/roster reply. */
interface RosterImportResult {
  kind: 'student' | 'staff';
  format: string;
  sheet: string;
  counts: { rows: number; created: number; updated: number; unchanged: number; rejected: number; classesCreated: number };
  rejected: RejectedRow[];
  warnings: string[];
  /** Names of the classes the import created; empty unless 自动新建班级 was ticked. */
  createdClasses: string[];
  /** Every updated person with what changed, in row order. */
  updates: RosterUpdate[];
}

/** A person the import updated; `from` and `to` are null for fields listed by name only, ID numbers and phones masked. */
interface RosterUpdate {
  row: number;
  previousName: string;
  name: string;
  changes: Array<{ field: string; from: string | null; to: string | null }>;
}

/** Format the changes of one updated person as the command line prints them: 姓名、班级 二(1)班 → 二(3)班. */
function formatChanges(changes: RosterUpdate['changes']): string {
  return changes.map((change) => (change.from === null && change.to === null ? change.field : `${change.field} ${change.from ?? '（空）'} → ${change.to ?? '（空）'}`)).join('、');
}

const PAGE_SIZE = 20;

function RosterImport({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('POST /api/schools/:code/roster');
  const rejectedXlsxRoute = useRoute('POST /api/schools/:code/roster/rejected.xlsx');
  const client = useQueryClient();
  const { message } = App.useApp();
  const [percent, setPercent] = useState<number | null>(null);
  const [result, setResult] = useState<RosterImportResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [fileName, setFileName] = useState('');
  // Off by default and again after each import, so a misspelt class is rejected instead of becoming a new class.
  const [createClasses, setCreateClasses] = useState(false);
  const [downloadingXlsx, setDownloadingXlsx] = useState(false);

  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="花名册导入" />;

  const handleUpload = async (file: File) => {
    setResult(null);
    setError(null);
    setPercent(0);
    setFileName(file.name);
    try {
      const path = `${fillPath(route.path!, { code: schoolCode })}${createClasses ? '?createClasses=true' : ''}`;
      const reply = await uploadFile<RosterImportResult>(path, 'file', file, setPercent);
      setResult(reply);
      setCreateClasses(false);
      message.success(`导入完成：新增 ${reply.counts.created} 人，更新 ${reply.counts.updated} 人，拒绝 ${reply.counts.rejected} 行`);
      client.invalidateQueries({ queryKey: ['persons', schoolCode] });
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'UPLOAD', String(caught)));
      setPercent(null);
    }
  };

  const rejectedRows = (result?.rejected ?? []).flatMap((row) => row.problems.map((problem, index) => ({ key: `${row.row}-${index}`, row: row.row, ...problem })));
  const downloadXlsx = async () => {
    setDownloadingXlsx(true);
    try {
      await downloadRejectedRowsXlsx(fillPath(rejectedXlsxRoute.path!, { code: schoolCode }), result!.rejected, fileName);
    } catch (caught) {
      message.error(caught instanceof Error ? caught.message : '下载失败');
    } finally {
      setDownloadingXlsx(false);
    }
  };
  return (
    <Card title="花名册导入">
      <Space wrap style={{ marginBottom: 12 }}>
          <Button icon={<DownloadOutlined />} href={`/api/schools/${encodeURIComponent(schoolCode)}/roster.xlsx`}>
            导出学生
          </Button>
          <Upload accept=".xlsx,.csv" showUploadList={false} beforeUpload={(file) => (void handleUpload(file), false)}>
            <Button type="primary" icon={<UploadOutlined />} data-testid="roster-upload">
              上传花名册
            </Button>
          </Upload>
          <Tooltip title="勾选后，花名册中本校还没有的班级会被新建；不勾选时这些行被拒绝，以免班级名称写错时多出一个班。首次导入时请勾选；每次导入后自动取消勾选。">
            <Checkbox checked={createClasses} onChange={(event) => setCreateClasses(event.target.checked)} data-testid="roster-create-classes">
              自动新建班级
            </Checkbox>
          </Tooltip>
      </Space>
      <Alert
        type="info"
        showIcon
        title="支持 .xlsx 和 .csv，表头使用中文（姓名、性别、身份证号、班级……）；班级写法如 二(3)班、二（3）班、2年级3班、2-3 均可。有问题的行会列出原因，其余行照常导入。"
      />
      {percent !== null && <Progress percent={percent} status={result ? 'success' : 'active'} style={{ marginTop: 16 }} data-testid="roster-progress" />}
      {error && <ErrorAlert error={error} />}
      {result && (
        <>
          <Descriptions size="small" column={{ xs: 2, sm: 3, md: 6 }} style={{ marginTop: 16 }}>
            <Descriptions.Item label="数据行">{result.counts.rows}</Descriptions.Item>
            <Descriptions.Item label="新增">{result.counts.created}</Descriptions.Item>
            <Descriptions.Item label="更新">{result.counts.updated}</Descriptions.Item>
            <Descriptions.Item label="未变">{result.counts.unchanged}</Descriptions.Item>
            <Descriptions.Item label="拒绝">{result.counts.rejected}</Descriptions.Item>
            <Descriptions.Item label="新建班级">{result.counts.classesCreated}</Descriptions.Item>
          </Descriptions>
          {result.createdClasses.length > 0 && (
            <Alert type="info" showIcon title={`新建了 ${result.createdClasses.length} 个班级：${result.createdClasses.join('、')}`} style={{ marginTop: 8 }} data-testid="created-classes" />
          )}
          {result.warnings.map((warning) => (
            <Alert key={warning} type="warning" showIcon title={warning} style={{ marginTop: 8 }} />
          ))}
          {result.updates.length > 0 && (
            <Table
              data-testid="updated-people"
              style={{ marginTop: 16 }}
              size="small"
              rowKey="row"
              title={() => `更新的人员（${result.updates.length} 人）`}
              dataSource={result.updates}
              scroll={{ x: 520 }}
              pagination={{ pageSize: 10, showSizeChanger: false, hideOnSinglePage: true }}
              columns={[
                { title: '行号', dataIndex: 'row', width: 70 },
                {
                  title: '姓名',
                  width: 200,
                  render: (_, update: RosterUpdate) =>
                    update.previousName === update.name ? (
                      update.name
                    ) : (
                      <Space size={4} wrap>
                        <span>
                          {update.previousName} → {update.name}
                        </span>
                        <Tooltip title="同一身份证号（教职工为同一工号或身份证号）登记的姓名不同，可能是号码填错了">
                          <Tag color="warning">姓名变更</Tag>
                        </Tooltip>
                      </Space>
                    ),
                },
                { title: '变化', render: (_, update: RosterUpdate) => formatChanges(update.changes) },
              ]}
            />
          )}
          {rejectedRows.length > 0 && (
            <Table
              data-testid="rejected-rows"
              style={{ marginTop: 16 }}
              size="small"
              title={() => (
                <Space wrap style={{ justifyContent: 'space-between', width: '100%' }}>
                  <span>被拒绝的行（{result.counts.rejected} 行）</span>
                  <Space size="small">
                    {rejectedXlsxRoute.path && (
                      <Button size="small" icon={<DownloadOutlined />} loading={downloadingXlsx} data-testid="rejected-download-xlsx" onClick={() => void downloadXlsx()}>
                        下载 Excel
                      </Button>
                    )}
                    <Button size="small" icon={<DownloadOutlined />} data-testid="rejected-download" onClick={() => downloadRejectedRows(rejectedRows, fileName)}>
                      下载 CSV
                    </Button>
                  </Space>
                </Space>
              )}
              dataSource={rejectedRows}
              scroll={{ x: 520 }}
              pagination={{ pageSize: 10, showSizeChanger: false }}
              columns={[
                { title: '行号', dataIndex: 'row', width: 70 },
                { title: '列', dataIndex: 'column', width: 110 },
                { title: '内容', dataIndex: 'value', width: 180 },
                { title: '原因', dataIndex: 'reason' },
              ]}
            />
          )}
        </>
      )}
    </Card>
  );
}

function PersonList({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/persons');
  const [name, setName] = useState('');
  const [className, setClassName] = useState('');
  const [kind, setKind] = useState<'student' | 'staff'>('student');
  const [page, setPage] = useState(1);
  const [opened, setOpened] = useState<Person | null>(null);
  const persons = useQuery({
    queryKey: ['persons', schoolCode, name, className, kind, page],
    queryFn: () => {
      const query = new URLSearchParams({ kind, limit: String(PAGE_SIZE), offset: String((page - 1) * PAGE_SIZE) });
      if (name) query.set('name', name);
      if (className) query.set('class', className);
      return api<{ total: number; items: Person[] }>(`${fillPath(route.path!, { code: schoolCode })}?${query}`);
    },
    enabled: route.path !== undefined,
    placeholderData: (previous) => previous,
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="人员名单" />;

  return (
    <Card
      title="人员名单"
      extra={
        <Segmented
          value={kind}
          onChange={(value) => {
            setKind(value as 'student' | 'staff');
            setPage(1);
          }}
          options={[
            { label: '学生', value: 'student' },
            { label: '教职工', value: 'staff' },
          ]}
        />
      }
    >
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search
          aria-label="按姓名搜索"
          placeholder="姓名"
          allowClear
          style={{ width: 160 }}
          onSearch={(value) => {
            setName(value.trim());
            setPage(1);
          }}
        />
        {kind === 'student' && (
          <Input.Search
            aria-label="按班级筛选"
            placeholder="班级，如 二(3)班"
            allowClear
            style={{ width: 180 }}
            onSearch={(value) => {
              setClassName(value.trim());
              setPage(1);
            }}
          />
        )}
      </Space>
      {persons.error && <ErrorAlert error={persons.error} />}
      <Table<Person>
        rowKey="id"
        size="small"
        loading={persons.isFetching}
        dataSource={persons.data?.items ?? []}
        scroll={{ x: 760 }}
        pagination={{ current: page, pageSize: PAGE_SIZE, total: persons.data?.total ?? 0, onChange: setPage, showSizeChanger: false, showTotal: (total) => `共 ${total} 人` }}
        columns={[
          {
            title: '姓名',
            dataIndex: 'name',
            width: 90,
            fixed: 'left',
            render: (value: string, row) => (
              <Button type="link" size="small" style={{ padding: 0 }} onClick={() => setOpened(row)} data-testid="person-name">
                {value}
              </Button>
            ),
          },
          kind === 'student'
            ? { title: '班级', dataIndex: 'className', width: 90, render: (value: string | null) => value ?? '—' }
            : { title: '岗位', dataIndex: 'staffRole', width: 100, render: (value: string | null) => (value ? roleLabel(value) : '—') },
          { title: '性别', dataIndex: 'gender', width: 60, render: (value: string | null) => value ?? '—' },
          { title: '身份证号', dataIndex: 'idNumberMasked', width: 180, render: (value: string | null) => value ?? '—' },
          kind === 'student'
            ? {
                title: '监护人',
                dataIndex: 'guardians',
                render: (guardians: Person['guardians']) =>
                  guardians.map((g) => `${g.name}${g.relation ? `（${g.relation}）` : ''}${g.phoneMasked ? ` ${g.phoneMasked}` : ''}`).join('；') || '—',
              }
            : { title: '电话', dataIndex: 'phoneMasked', width: 130, render: (value: string | null) => value ?? '—' },
          {
            title: '健康码授权',
            dataIndex: 'healthCodeConsent',
            width: 100,
            render: (value: boolean) => (value ? <Tag color="success">已授权</Tag> : <Tag>未授权</Tag>),
          },
        ]}
      />
      <PersonDrawer schoolCode={schoolCode} person={opened} onClose={() => setOpened(null)} />
    </Card>
  );
}

export function PersonsPage() {
  const user = useUser();
  const { school } = useSchool();
  if (!school) return <NeedSchool title="人员" />;
  return (
    <>
      <PageTitle title={`人员 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        {isAdmin(user) && (
          <Col span={24}>
            <RosterImport schoolCode={school.code} />
          </Col>
        )}
        <Col span={24}>
          <PersonList schoolCode={school.code} />
        </Col>
      </Row>
    </>
  );
}
