import { StrictMode, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryCache, QueryClient, QueryClientProvider, MutationCache } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { ApiError } from './api/client';
import { SERVER_ROUTES_QUERY } from './api/routes';
import { prefetchDashboard } from './pages/dashboard/queries';
import { ME_KEY, ME_QUERY, SessionProvider } from './auth/session';
import { AppRouter } from './router';
import './styles.css';

dayjs.locale('zh-cn');

/** Drop the user after a 401 from any request, because the session ended; the sign-in page then shows. */
function handleUnauthorized(error: unknown) {
  if (error instanceof ApiError && error.status === 401) queryClient.setQueryData(ME_KEY, null);
}

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: handleUnauthorized }),
  mutationCache: new MutationCache({ onError: handleUnauthorized }),
  defaultOptions: {
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// Start the session check and the route list, which pages wait for before their first
// request, while React renders its first frame.
void queryClient.prefetchQuery(SERVER_ROUTES_QUERY);
queryClient
  .fetchQuery(ME_QUERY)
  .then((user) => {
    if (user && window.location.pathname === '/') return prefetchDashboard(queryClient, user);
  })
  .catch(() => {
    // The session provider shows the error; a failed prefetch only means the page fetches itself.
  });

const REDUCED_MOTION = window.matchMedia('(prefers-reduced-motion: reduce)');

function subscribeReducedMotion(onChange: () => void): () => void {
  REDUCED_MOTION.addEventListener('change', onChange);
  return () => REDUCED_MOTION.removeEventListener('change', onChange);
}

/**
 * The antd theme, with animations off while the system requests reduced motion (an
 * accessibility setting that some users need). The browser tests set it too, so that a
 * dialog still fading out cannot catch their next click.
 */
function ThemedConfig({ children }: { children: ReactNode }) {
  const reduced = useSyncExternalStore(subscribeReducedMotion, () => REDUCED_MOTION.matches);
  const theme = useMemo(() => ({ token: { colorPrimary: '#1677ff', borderRadius: 6, motion: !reduced } }), [reduced]);
  return (
    // No space inserted between two Chinese characters in buttons: 确认, not 确 认.
    // No virtual scrolling in lists: with it, @rc-component/select 1.10 adds a hidden listbox
    // whose options have the raw value as text (head_teacher, school_gate), which page text
    // and copies show. The console's option lists are short (an estimate: at most a few
    // hundred schools or classes), so rendering every option is cheap.
    <ConfigProvider locale={zhCN} theme={theme} button={{ autoInsertSpace: false }} virtual={false}>
      {children}
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemedConfig>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <SessionProvider>
            <AppRouter />
          </SessionProvider>
        </QueryClientProvider>
      </AntApp>
    </ThemedConfig>
  </StrictMode>,
);
