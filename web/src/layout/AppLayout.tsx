import { Suspense, useEffect, useState, type ReactNode } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { App, Button, Drawer, Dropdown, Grid, Layout, Menu, Select, Space, Typography, type MenuProps } from 'antd';
import {
  ApartmentOutlined,
  BarChartOutlined,
  BellOutlined,
  CameraOutlined,
  FileTextOutlined,
  FieldTimeOutlined,
  HomeOutlined,
  IdcardOutlined,
  LogoutOutlined,
  MenuOutlined,
  MedicineBoxOutlined,
  FileDoneOutlined,
  ClusterOutlined,
  MobileOutlined,
  QrcodeOutlined,
  SafetyCertificateOutlined,
  ScanOutlined,
  SettingOutlined,
  TeamOutlined,
  UserOutlined,
  EnvironmentOutlined,
} from '@ant-design/icons';
import { consumeJustSignedIn, landingPath, useLogout, useUser, type CurrentUser } from '../auth/session';
import { Loading } from '../components/common';
import { roleLabel } from '../format';
import { SchoolProvider, useSchool } from './school';

type Role = CurrentUser['role'];
const SCHOOL_READERS: Role[] = ['district_admin', 'school_admin', 'school_doctor', 'guard'];
/** Every role that works with a school's people; the task force works with venues only. */
const SCHOOL_ROLES: Role[] = ['district_admin', 'school_admin', 'head_teacher', 'teacher', 'school_doctor', 'guard'];

/** Menu entries; `roles` limits an entry to the roles whose work needs it (all roles when absent). */
const MENU: Array<{ key: string; icon: ReactNode; label: string; roles?: Role[] }> = [
  { key: '/class', icon: <MobileOutlined />, label: '我的班级', roles: ['head_teacher', 'teacher'] },
  { key: '/checks', icon: <FileDoneOutlined />, label: '晨午检', roles: ['head_teacher', 'teacher', 'school_admin', 'school_doctor', 'district_admin'] },
  { key: '/', icon: <HomeOutlined />, label: '首页', roles: SCHOOL_ROLES },
  { key: '/follow-ups', icon: <MedicineBoxOutlined />, label: '缺勤追踪', roles: ['head_teacher', 'school_admin', 'school_doctor', 'district_admin'] },
  { key: '/cluster-alerts', icon: <ClusterOutlined />, label: '聚集性预警', roles: ['school_admin', 'school_doctor', 'district_admin'] },
  { key: '/persons', icon: <TeamOutlined />, label: '人员', roles: SCHOOL_ROLES },
  { key: '/health-codes', icon: <QrcodeOutlined />, label: '健康码', roles: SCHOOL_ROLES },
  { key: '/gate', icon: <ScanOutlined />, label: '通行', roles: SCHOOL_ROLES },
  { key: '/alerts', icon: <BellOutlined />, label: '预警与通知', roles: [...SCHOOL_READERS, 'head_teacher'] },
  { key: '/visitors', icon: <IdcardOutlined />, label: '访客', roles: ['district_admin', 'school_admin', 'head_teacher', 'teacher', 'school_doctor', 'guard'] },
  { key: '/entry-windows', icon: <FieldTimeOutlined />, label: '错峰入校', roles: SCHOOL_READERS },
  { key: '/devices', icon: <CameraOutlined />, label: '设备', roles: ['district_admin', 'school_admin', 'guard'] },
  { key: '/settings', icon: <SettingOutlined />, label: '设置' },
  { key: '/reports', icon: <FileTextOutlined />, label: '日报', roles: ['district_admin', 'school_admin', 'school_doctor'] },
  { key: '/district', icon: <ApartmentOutlined />, label: '区级', roles: ['district_admin'] },
  { key: '/venues', icon: <EnvironmentOutlined />, label: '场所码', roles: ['district_admin', 'school_admin', 'task_force'] },
  { key: '/district-reports', icon: <BarChartOutlined />, label: '日报汇总', roles: ['district_admin'] },
];

function SchoolSwitcher() {
  const user = useUser();
  const { school, choices, setSchoolCode } = useSchool();
  if (user.role !== 'district_admin') {
    return <Typography.Text type="secondary">{[user.schoolName, user.className].filter(Boolean).join(' · ')}</Typography.Text>;
  }
  if (choices.length === 0) return null;
  return (
    <Select
      aria-label="选择学校"
      size="middle"
      style={{ minWidth: 140, maxWidth: 220 }}
      value={school?.code}
      onChange={setSchoolCode}
      options={choices.map((s) => ({ value: s.code, label: s.name }))}
    />
  );
}

function UserMenu({ compact }: { compact: boolean }) {
  const user = useUser();
  const logout = useLogout();
  const navigate = useNavigate();
  const { message } = App.useApp();
  const items: MenuProps['items'] = [
    { key: 'role', label: `${user.displayName}（${roleLabel(user.role)}）`, disabled: true },
    { type: 'divider' },
    { key: 'settings', icon: <SettingOutlined />, label: '修改密码' },
    { key: 'logout', icon: <LogoutOutlined />, label: '退出登录', danger: true },
  ];
  const handleClick: MenuProps['onClick'] = ({ key }) => {
    if (key === 'settings') navigate('/settings');
    if (key === 'logout') logout.mutate(undefined, { onSuccess: () => message.success('已退出登录') });
  };
  return (
    <Dropdown menu={{ items, onClick: handleClick }} trigger={['click']}>
      <Button type="text" icon={<UserOutlined />} aria-label="账号菜单" data-testid="user-menu">
        {compact ? null : user.displayName}
      </Button>
    </Dropdown>
  );
}

/** Render the signed-in frame: side menu (a drawer on phones), header with school and account, and the page. */
export function AppLayout() {
  const user = useUser();
  const screens = Grid.useBreakpoint();
  const isPhone = !screens.md;
  const [drawerOpen, setDrawerOpen] = useState(false);
  const location = useLocation();
  const navigate = useNavigate();

  const items = MENU.filter((item) => !item.roles || item.roles.includes(user.role)).map(({ key, icon, label }) => ({ key, icon, label }));

  // Right after signing in on '/', open the first page of the role instead of the dashboard.
  useEffect(() => {
    if (consumeJustSignedIn() && location.pathname === '/') navigate(landingPath(user), { replace: true });
  }, [location.pathname, navigate, user]);

  // The longest matching key wins, so /district-reports selects 日报汇总 rather than 区级.
  const selected = MENU.filter((item) => item.key !== '/' && location.pathname.startsWith(item.key)).sort((a, b) => b.key.length - a.key.length)[0]?.key ?? '/';
  const menu = (
    <Menu
      theme="dark"
      mode="inline"
      selectedKeys={[selected]}
      items={items}
      onClick={({ key }) => {
        navigate(key);
        setDrawerOpen(false);
      }}
    />
  );
  const brand = (
    <div className="fk-brand">
      <SafetyCertificateOutlined style={{ fontSize: 20 }} />
      智慧防控平台
    </div>
  );

  return (
    <SchoolProvider>
      <Layout style={{ minHeight: '100vh' }}>
        {isPhone ? (
          <Drawer
            placement="left"
            open={drawerOpen}
            onClose={() => setDrawerOpen(false)}
            size={240}
            closable={false}
            styles={{ body: { padding: 0, background: '#001529' } }}
          >
            {brand}
            {menu}
          </Drawer>
        ) : (
          <Layout.Sider width={208}>
            {/* The sider stretches with the page; the menu inside stays in view while it scrolls. */}
            <div style={{ position: 'sticky', top: 0, maxHeight: '100vh', overflow: 'auto' }}>
              {brand}
              {menu}
            </div>
          </Layout.Sider>
        )}
        <Layout>
          <Layout.Header className="fk-header">
            <Space size={8}>
              {isPhone && <Button type="text" icon={<MenuOutlined />} aria-label="打开菜单" onClick={() => setDrawerOpen(true)} />}
              {isPhone && <Typography.Text strong>智慧防控平台</Typography.Text>}
              {!isPhone && <SchoolSwitcher />}
            </Space>
            <Space size={4}>
              {isPhone && <SchoolSwitcher />}
              <UserMenu compact={isPhone} />
            </Space>
          </Layout.Header>
          <Layout.Content className="fk-content">
            <Suspense fallback={<Loading />}>
              <Outlet />
            </Suspense>
          </Layout.Content>
        </Layout>
      </Layout>
    </SchoolProvider>
  );
}
