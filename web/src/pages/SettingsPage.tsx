import { useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Checkbox, DatePicker, Empty, Form, Input, Modal, Select, Space, Table, Tabs, Tag } from 'antd';
import { PlusOutlined, UnlockOutlined } from '@ant-design/icons';
import type { Dayjs } from 'dayjs';
import { api } from '../api/client';
import type { AuditEntry } from '../api/types';
import { isAdmin, useUser, type CurrentUser, type UserRole } from '../auth/session';
import { ErrorAlert, PageTitle } from '../components/common';
import { formatDateTime, grantableRoleOptions, roleLabel } from '../format';
import { useSchool } from '../layout/school';
import { CalendarTab } from './settings/CalendarTab';
import { DingTalkTab } from './settings/DingTalkTab';
import { DistrictSettingsTab } from './settings/DistrictSettingsTab';
import { GateThresholdsTab } from './settings/GateThresholdsTab';
import { RetentionTab } from './settings/RetentionTab';
import { SyncScheduleTab } from './settings/SyncScheduleTab';
import { describeAuditDetail } from './settings/audit-detail';
import { CheckSettingsPanel } from './checks/CheckSettingsPanel';

/** Audit actions as users read them; unknown ones show their code. */
const ACTIONS: Record<string, string> = {
  'auth.setup': '系统初始化',
  'auth.login': '登录',
  'auth.login_failed': '登录失败',
  'auth.locked': '账号锁定',
  'auth.logout': '退出登录',
  'auth.password_change': '修改密码',
  'auth.password_change_failed': '修改密码失败',
  'user.create': '创建账号',
  'user.unlock': '解锁账号',
  'access.denied': '越权访问被拒',
  'gate.settings.update': '修改通行阈值',
  'healthcode.schedule.update': '修改同步时间',
  'healthcode.district_every_day.on': '开启全区每天同步',
  'healthcode.district_every_day.off': '关闭全区每天同步',
  'dingtalk.test': '钉钉测试消息',
  'device.create': '登记设备',
  'device.rotate_key': '更换设备密钥',
  'device.disable': '停用设备',
  'device.enable': '启用设备',
  'notices.view': '查看通知',
  'persons.view': '查看人员名单',
  'person.view': '查看人员详情',
  'roster.import': '导入名册',
  'roster.export': '导出名册',
  'roster.rejected_export': '下载导入被拒绝的行',
  'healthcode.codes.view': '查看健康码',
  'healthcode.history.view': '查看健康码历史',
  'healthcode.sync.start': '手动同步健康码',
  'gate.events.view': '查询通行记录',
  'gate.snapshot.view': '查看抓拍图',
  'gate.recheck': '登记复测',
  'gate.alert.acknowledge': '确认预警',
  'gate.alert.close': '关闭预警',
  'gate.entry_windows.update': '修改错峰入校时段',
  'face.enrol': '录入人脸',
  'face.enrol_folder': '批量录入人脸',
  'face.delete': '删除人脸',
  'face.identify': '人脸比对',
  'consent.view': '查看授权记录',
  'consent.grant': '登记授权',
  'consent.revoke': '撤回授权',
  'notice.retry': '重发通知',
  'checks.save': '保存晨午检',
  'checks.settings': '修改晨午检设置',
  'checks.follow_up.contact': '记录联系家长',
  'checks.follow_up.update': '更新缺勤追踪',
  'checks.follow_up.certificate': '登记复课证明',
  'checks.cluster.acknowledge': '处置聚集性预警',
  'checks.cluster.close': '关闭聚集性预警',
  'calendar.district.mark': '设置全区校历',
  'calendar.district.clear': '删除全区校历设置',
  'calendar.school.mark': '设置本校停课或补课',
  'calendar.school.clear': '删除本校校历设置',
  'calendar.school.weekdays': '修改每周上学日',
  'visitor.register': '预约访客',
  'visitor.walk_in': '登记临时访客',
  'visitor.arrive': '访客入校核验',
  'visitor.exit': '访客离校',
  'visitor.cancel': '取消访客预约',
  'visitor.list.view': '查看访客名单',
  'visitor.search': '查询访客',
  'report.build': '生成日报',
  'report.submit': '上报日报',
  'report.export': '导出日报',
  'report.settings': '修改日报设置',
  'report.deadline': '修改上报截止时间',
  'report.district.export': '导出全区日报',
  'venue.create': '登记场所',
  'venue.update': '修改场所',
  'venue.retire': '停用场所',
  'venue.code.reissue': '换发场所码',
  'venue.device.create': '登记场所设备',
  'venue.device.retire': '停用场所设备',
  'venue.card.register': '登记卡片',
  'venue.card.lost': '卡片挂失',
  'venue.flag.review': '核查异地登记',
  'venue.trace.venue': '场所流调查询',
  'venue.trace.venue.export': '导出场所流调',
  'venue.trace.person': '个人行程查询',
  'venue.trace.person.export': '导出个人行程',
};

interface PasswordValues {
  oldPassword: string;
  newPassword: string;
  confirm: string;
}

function PasswordForm() {
  const { message } = App.useApp();
  const [form] = Form.useForm<PasswordValues>();
  const change = useMutation({
    mutationFn: (values: PasswordValues) => api('/api/auth/password', { method: 'POST', body: { oldPassword: values.oldPassword, newPassword: values.newPassword } }),
    onSuccess: () => {
      message.success('密码已修改，其他设备上的登录已退出');
      form.resetFields();
    },
  });
  return (
    <Card style={{ maxWidth: 480 }}>
      {change.error && <ErrorAlert error={change.error} />}
      <Form form={form} layout="vertical" onFinish={(values) => change.mutate(values)} requiredMark={false}>
        <Form.Item name="oldPassword" label="原密码" rules={[{ required: true, message: '请输入原密码' }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="newPassword" label="新密码" rules={[{ required: true, message: '请输入新密码' }, { min: 8, message: '新密码至少 8 个字符' }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label="确认新密码"
          dependencies={['newPassword']}
          rules={[
            { required: true, message: '请再次输入新密码' },
            ({ getFieldValue }) => ({
              validator: (_, value) => (value === getFieldValue('newPassword') ? Promise.resolve() : Promise.reject(new Error('两次输入的密码不一致'))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={change.isPending}>
          保存
        </Button>
      </Form>
    </Card>
  );
}

interface AccountRow extends CurrentUser {
  lockedUntil: number | null;
  createdAt: number;
}

interface NewAccountValues {
  username: string;
  displayName: string;
  role: UserRole;
  schoolCode?: string;
  className?: string;
  /** Create the head teacher's class when the school lacks it; off by default, so a typo is rejected. */
  createClass?: boolean;
  password: string;
}

function Accounts() {
  const user = useUser();
  const { message } = App.useApp();
  const client = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm<NewAccountValues>();
  const role = Form.useWatch('role', form);
  const accounts = useQuery({ queryKey: ['accounts'], queryFn: () => api<{ users: AccountRow[] }>('/api/auth/users') });
  const create = useMutation({
    mutationFn: (values: NewAccountValues) => api<{ username: string; warning: string | null }>('/api/auth/users', { method: 'POST', body: values }),
    onSuccess: (created) => {
      message.success(`账号 ${created.username} 已创建`);
      // Such as a second head teacher for a class: allowed, but the admin should know.
      if (created.warning) message.warning(created.warning, 10);
      setCreating(false);
      form.resetFields();
      client.invalidateQueries({ queryKey: ['accounts'] });
    },
  });
  const unlock = useMutation({
    mutationFn: (id: string) => api(`/api/auth/users/${encodeURIComponent(id)}/unlock`, { method: 'POST' }),
    onSuccess: () => {
      message.success('已解锁');
      client.invalidateQueries({ queryKey: ['accounts'] });
    },
    onError: (error) => message.error(error.message),
  });
  const roleOptions = grantableRoleOptions(user.role);
  const now = Date.now();
  // A failed attempt's error belongs to that attempt: the form opens and closes without it.
  const openForm = () => {
    create.reset();
    setCreating(true);
  };
  const closeForm = () => {
    setCreating(false);
    create.reset();
  };

  return (
    <Card
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={openForm}>
          新建账号
        </Button>
      }
      title="账号"
    >
      {accounts.error && <ErrorAlert error={accounts.error} />}
      <Table<AccountRow>
        rowKey="id"
        size="small"
        loading={accounts.isLoading}
        dataSource={accounts.data?.users ?? []}
        scroll={{ x: 720 }}
        pagination={{ pageSize: 20, showSizeChanger: false }}
        columns={[
          { title: '用户名', dataIndex: 'username', width: 120 },
          { title: '姓名', dataIndex: 'displayName', width: 100 },
          { title: '角色', dataIndex: 'role', width: 100, render: (role: UserRole) => roleLabel(role) },
          { title: '学校', dataIndex: 'schoolName', render: (value: string | null) => value ?? '全区' },
          { title: '班级', dataIndex: 'className', width: 90, render: (value: string | null) => value ?? '—' },
          {
            title: '状态',
            width: 160,
            render: (_, row) =>
              row.lockedUntil && row.lockedUntil > now ? (
                <Space>
                  <Tag color="error">锁定至 {formatDateTime(row.lockedUntil).slice(11)}</Tag>
                  <Button size="small" icon={<UnlockOutlined />} onClick={() => unlock.mutate(row.id)}>
                    解锁
                  </Button>
                </Space>
              ) : (
                <Tag color="success">正常</Tag>
              ),
          },
        ]}
      />
      <Modal title="新建账号" open={creating} onCancel={closeForm} onOk={() => form.submit()} confirmLoading={create.isPending} okText="创建" destroyOnHidden>
        {create.error && <ErrorAlert error={create.error} />}
        <Form
          form={form}
          layout="vertical"
          requiredMark={false}
          initialValues={{ role: 'teacher', schoolCode: user.schoolCode ?? undefined }}
          onFinish={(values) => create.mutate(values)}
        >
          <Form.Item name="username" label="用户名" rules={[{ required: true, message: '请输入用户名' }]}>
            <Input autoComplete="off" />
          </Form.Item>
          <Form.Item name="displayName" label="姓名" rules={[{ required: true, message: '请输入姓名' }]}>
            <Input />
          </Form.Item>
          <Form.Item name="role" label="角色">
            <Select options={roleOptions} />
          </Form.Item>
          {role !== 'district_admin' && (
            <Form.Item name="schoolCode" label="学校代码" rules={[{ required: true, message: '请输入学校代码' }]}>
              <Input disabled={user.role !== 'district_admin'} />
            </Form.Item>
          )}
          {role === 'head_teacher' && (
            <>
              <Form.Item name="className" label="班级" rules={[{ required: true, message: '请输入班级，例如 二(3)班' }]}>
                <Input placeholder="二(3)班" />
              </Form.Item>
              <Form.Item name="createClass" valuePropName="checked" extra="本校还没有这个班级时，勾选才会新建；不勾选则不创建账号并列出本校现有班级，以免班级名称写错时多出一个班。">
                <Checkbox data-testid="account-create-class">自动新建班级</Checkbox>
              </Form.Item>
            </>
          )}
          <Form.Item name="password" label="初始密码" rules={[{ required: true, message: '请输入初始密码' }, { min: 8, message: '初始密码至少需要 8 个字符' }]}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}

type AuditKind = 'change' | 'read';

/** The audit list's kind filter: page views, searches and exports flood the list otherwise. */
const AUDIT_KIND_OPTIONS: { value: AuditKind | 'all'; label: string }[] = [
  { value: 'all', label: '全部操作' },
  { value: 'change', label: '隐藏查看和导出' },
  { value: 'read', label: '只看查看和导出' },
];

/** Render an audit entry's detail one part a line, with field names in Chinese where known. */
function AuditDetail({ detail }: { detail: AuditEntry['detail'] }) {
  const parts = describeAuditDetail(detail);
  if (parts.length === 0) return null;
  return (
    <div style={{ fontSize: 12, lineHeight: 1.6 }}>
      {parts.map((part, index) => (
        <div key={index}>{part}</div>
      ))}
    </div>
  );
}

function AuditLog() {
  const [filter, setFilter] = useState<{ user?: string; action?: string; kind?: AuditKind; range?: [Dayjs, Dayjs] | null }>({});
  const [page, setPage] = useState(1);
  const audit = useQuery({
    queryKey: ['audit', filter, page],
    queryFn: () => {
      const query = new URLSearchParams({ limit: '20', offset: String((page - 1) * 20) });
      if (filter.user) query.set('user', filter.user);
      if (filter.action) query.set('action', filter.action);
      if (filter.kind) query.set('kind', filter.kind);
      if (filter.range) {
        query.set('from', filter.range[0].format('YYYY-MM-DD'));
        query.set('to', filter.range[1].format('YYYY-MM-DD'));
      }
      return api<{ total: number; entries: AuditEntry[] }>(`/api/audit?${query}`);
    },
    placeholderData: (previous) => previous,
  });
  return (
    <Card title="审计日志">
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search placeholder="用户名" allowClear style={{ width: 150 }} onSearch={(value) => (setFilter({ ...filter, user: value.trim() }), setPage(1))} />
        <Select
          allowClear
          placeholder="操作"
          style={{ width: 150 }}
          options={Object.entries(ACTIONS).map(([value, label]) => ({ value, label }))}
          onChange={(value?: string) => (setFilter({ ...filter, action: value }), setPage(1))}
        />
        <Select<AuditKind | 'all'>
          aria-label="操作类型"
          data-testid="audit-kind"
          style={{ width: 170 }}
          value={filter.kind ?? 'all'}
          options={AUDIT_KIND_OPTIONS}
          onChange={(value) => (setFilter({ ...filter, kind: value === 'all' ? undefined : value }), setPage(1))}
        />
        <DatePicker.RangePicker onChange={(range) => (setFilter({ ...filter, range: range as [Dayjs, Dayjs] | null }), setPage(1))} />
      </Space>
      {audit.error && <ErrorAlert error={audit.error} />}
      <Table<AuditEntry>
        rowKey="id"
        size="small"
        loading={audit.isFetching}
        dataSource={audit.data?.entries ?? []}
        scroll={{ x: 960 }}
        pagination={{ current: page, pageSize: 20, total: audit.data?.total ?? 0, onChange: setPage, showSizeChanger: false, showTotal: (total) => `共 ${total} 条` }}
        columns={[
          { title: '时间', dataIndex: 'at', width: 150, render: formatDateTime },
          { title: '用户', dataIndex: 'username', width: 110, render: (value: string | null) => value ?? '—' },
          { title: '操作', dataIndex: 'action', width: 120, render: (value: string) => ACTIONS[value] ?? value },
          { title: '对象', dataIndex: 'target', render: (value: string | null, entry) => entry.targetLabel ?? value ?? '' },
          { title: '详情', dataIndex: 'detail', render: (detail: AuditEntry['detail']) => <AuditDetail detail={detail} /> },
          { title: '地址', dataIndex: 'ip', width: 120, render: (value: string | null) => value ?? '' },
        ]}
      />
    </Card>
  );
}

/** Render a school setting's tab, or the hint to pick a school first (district admins). */
function SchoolTab({ render }: { render: (schoolCode: string) => ReactNode }) {
  const { school } = useSchool();
  if (!school) return <Empty description="请先在顶部选择学校" />;
  return render(school.code);
}

/** Settings; the tab is in the address (?tab=gate), so a link can open it. */
export function SettingsPage() {
  const user = useUser();
  const [params, setParams] = useSearchParams();
  const items = [{ key: 'password', label: '修改密码', children: <PasswordForm /> }];
  // These settings cover the whole district, so only a district admin can view and change them.
  if (user.role === 'district_admin') items.push({ key: 'district', label: '全区设置', children: <DistrictSettingsTab /> });
  if (isAdmin(user)) {
    items.push(
      { key: 'gate', label: '通行阈值', children: <SchoolTab render={(code) => <GateThresholdsTab schoolCode={code} />} /> },
      { key: 'sync', label: '同步时间', children: <SchoolTab render={(code) => <SyncScheduleTab schoolCode={code} />} /> },
      { key: 'retention', label: '保留期限', children: <SchoolTab render={(code) => <RetentionTab schoolCode={code} />} /> },
      { key: 'checks', label: '晨午检', children: <SchoolTab render={(code) => <CheckSettingsPanel schoolCode={code} />} /> },
      { key: 'calendar', label: '校历', children: <CalendarTab /> },
      { key: 'dingtalk', label: '钉钉', children: <SchoolTab render={(code) => <DingTalkTab schoolCode={code} />} /> },
      { key: 'accounts', label: '账号管理', children: <Accounts /> },
      { key: 'audit', label: '审计日志', children: <AuditLog /> },
    );
  }
  const requested = params.get('tab');
  const activeKey = items.some((item) => item.key === requested) ? requested! : 'password';
  return (
    <>
      <PageTitle title="设置" />
      <Alert type="info" showIcon title={`当前账号：${user.displayName}（${user.username}，${roleLabel(user.role)}）`} style={{ marginBottom: 16 }} />
      <Tabs items={items} activeKey={activeKey} onChange={(key) => setParams(key === 'password' ? {} : { tab: key }, { replace: true })} destroyOnHidden />
    </>
  );
}
