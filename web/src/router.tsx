import { lazy, Suspense } from 'react';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { Spin, Result, Button } from 'antd';
import { useSession } from './auth/session';
import { AppLayout } from './layout/AppLayout';
import { LoginPage } from './pages/LoginPage';
import { DashboardPage } from './pages/DashboardPage';
import { NotFoundPage } from './pages/NotFoundPage';

// The dashboard is in the first script. Every other page loads when it is opened, so the
// first screen parses less, and the layout shows a spinner meanwhile.
const ClassPage = lazy(() => import('./pages/ClassPage').then((m) => ({ default: m.ClassPage })));
const PersonsPage = lazy(() => import('./pages/PersonsPage').then((m) => ({ default: m.PersonsPage })));
const HealthCodesPage = lazy(() => import('./pages/HealthCodesPage').then((m) => ({ default: m.HealthCodesPage })));
const GatePage = lazy(() => import('./pages/GatePage').then((m) => ({ default: m.GatePage })));
const NoticesPage = lazy(() => import('./pages/NoticesPage').then((m) => ({ default: m.NoticesPage })));
const DevicesPage = lazy(() => import('./pages/DevicesPage').then((m) => ({ default: m.DevicesPage })));
const SettingsPage = lazy(() => import('./pages/SettingsPage').then((m) => ({ default: m.SettingsPage })));
const DistrictPage = lazy(() => import('./pages/DistrictPage').then((m) => ({ default: m.DistrictPage })));
const ChecksPage = lazy(() => import('./pages/checks/ChecksPage').then((m) => ({ default: m.ChecksPage })));
const FollowUpsPage = lazy(() => import('./pages/checks/FollowUpsPage').then((m) => ({ default: m.FollowUpsPage })));
const ClusterAlertsPage = lazy(() => import('./pages/checks/ClusterAlertsPage').then((m) => ({ default: m.ClusterAlertsPage })));
const ReportsPage = lazy(() => import('./pages/ReportsPage').then((m) => ({ default: m.ReportsPage })));
const DistrictReportsPage = lazy(() => import('./pages/DistrictReportsPage').then((m) => ({ default: m.DistrictReportsPage })));
const VisitorsPage = lazy(() => import('./pages/VisitorsPage').then((m) => ({ default: m.VisitorsPage })));
const VenuesPage = lazy(() => import('./pages/VenuesPage').then((m) => ({ default: m.VenuesPage })));
const EntryWindowsPage = lazy(() => import('./pages/EntryWindowsPage').then((m) => ({ default: m.EntryWindowsPage })));

/** Shows the sign-in page in place of any page until a user signs in, so deep links survive sign-in. */
function SignedIn() {
  const { user, isLoading, error } = useSession();
  if (isLoading) {
    return (
      <div className="fk-login">
        <Spin size="large" tip="正在加载…">
          <div style={{ width: 120, height: 80 }} />
        </Spin>
      </div>
    );
  }
  if (error) {
    return (
      <Result
        status="error"
        title="无法连接服务器"
        subTitle={error.message}
        extra={<Button onClick={() => window.location.reload()}>重新加载</Button>}
      />
    );
  }
  if (!user) return <LoginPage />;
  return <AppLayout />;
}

// The kiosk carries face recognition (about 1.3 MB of script), so it loads only on /kiosk.
const KioskPage = lazy(() => import('./kiosk/KioskPage'));

const router = createBrowserRouter([
  {
    path: '/kiosk',
    element: (
      <Suspense fallback={<Spin size="large" style={{ display: 'block', margin: '40vh auto' }} />}>
        <KioskPage />
      </Suspense>
    ),
  },
  {
    path: '/',
    element: <SignedIn />,
    children: [
      { index: true, element: <DashboardPage /> },
      { path: 'class', element: <ClassPage /> },
      { path: 'persons', element: <PersonsPage /> },
      { path: 'health-codes', element: <HealthCodesPage /> },
      { path: 'gate', element: <GatePage /> },
      { path: 'alerts', element: <NoticesPage /> },
      { path: 'devices', element: <DevicesPage /> },
      { path: 'settings', element: <SettingsPage /> },
      { path: 'district', element: <DistrictPage /> },
      { path: 'venues', element: <VenuesPage /> },
      { path: 'checks', element: <ChecksPage /> },
      { path: 'follow-ups', element: <FollowUpsPage /> },
      { path: 'cluster-alerts', element: <ClusterAlertsPage /> },
      { path: 'reports', element: <ReportsPage /> },
      { path: 'district-reports', element: <DistrictReportsPage /> },
      { path: 'visitors', element: <VisitorsPage /> },
      { path: 'entry-windows', element: <EntryWindowsPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
