import type { FetchQueryOptions, QueryClient } from '@tanstack/react-query';
import { todayInShanghai } from '../../format';
import { api } from '../../api/client';
import { SERVER_ROUTES_QUERY, fillPath, findRoute } from '../../api/routes';
import type { AttendanceDay, GateAlert, GateEvent, SyncRun } from '../../api/types';
import type { CurrentUser } from '../../auth/session';

/** Decisions the live feed keeps. */
export const FEED_LENGTH = 6;
const ALERT_READERS = ['district_admin', 'school_admin', 'school_doctor', 'guard'];
/** The gate stream refetches what changes; a query mounted right after its prefetch is not read again. */
const FRESH_MS = 10_000;

/** GET /api/schools/:code/code-counts: counts only, no names, so it is cheap for 3,000 people. */
export type { CodeColorCounts, SchoolCodeCounts } from '../../../../src/modules/healthcode/service.js';
import type { SchoolCodeCounts } from '../../../../src/modules/healthcode/service.js';

/** Route paths the dashboard reads; undefined where the server has no such route. */
export interface DashboardRoutes {
  attendance?: string;
  alerts?: string;
  codes?: string;
  events?: string;
  notices?: string;
  syncRuns?: string;
}

export function dashboardRoutesOf(routes: Map<string, Set<string>>): DashboardRoutes {
  return {
    attendance: findRoute(routes, 'GET /api/schools/:code/attendance'),
    alerts: findRoute(routes, 'GET /api/schools/:code/alerts'),
    codes: findRoute(routes, 'GET /api/schools/:code/code-counts'),
    events: findRoute(routes, 'GET /api/schools/:code/gate/events'),
    notices: findRoute(routes, 'GET /api/schools/:code/notices'),
    syncRuns: findRoute(routes, 'GET /api/schools/:code/sync-runs'),
  };
}

/**
 * Build the query of every API the dashboard reads, for the school's day. A query is
 * disabled where its route is missing or the role may not read it.
 */
export function dashboardQueries(schoolCode: string, role: CurrentUser['role'], routes: DashboardRoutes) {
  const today = todayInShanghai();
  const url = (path: string | undefined, query: string) => fillPath(path!, { code: schoolCode }) + query;
  const isAdmin = role === 'district_admin' || role === 'school_admin';
  return {
    attendance: {
      queryKey: ['attendance', schoolCode, today],
      queryFn: () => api<AttendanceDay>(url(routes.attendance, `?day=${today}`)),
      enabled: routes.attendance !== undefined,
      staleTime: FRESH_MS,
    },
    alerts: {
      queryKey: ['gate-alerts', schoolCode, 'open', 'all'],
      queryFn: () => api<{ alerts: GateAlert[] }>(url(routes.alerts, '?status=open')),
      enabled: routes.alerts !== undefined && ALERT_READERS.includes(role),
      staleTime: FRESH_MS,
    },
    codes: {
      queryKey: ['code-counts', schoolCode],
      queryFn: () => api<SchoolCodeCounts>(url(routes.codes, '')),
      enabled: routes.codes !== undefined,
      staleTime: FRESH_MS,
    },
    fevers: {
      queryKey: ['gate-events', schoolCode, today, 'fever'],
      queryFn: () => api<{ events: GateEvent[] }>(url(routes.events, `?day=${today}&reason=fever&limit=500`)),
      enabled: routes.events !== undefined,
      staleTime: FRESH_MS,
    },
    recent: {
      queryKey: ['gate-events', schoolCode, today, 'recent'],
      queryFn: () => api<{ events: GateEvent[] }>(url(routes.events, `?day=${today}&limit=${FEED_LENGTH}`)),
      enabled: routes.events !== undefined,
      staleTime: Infinity,
    },
    notices: {
      queryKey: ['notices', schoolCode, 'counts'],
      queryFn: () => api<{ counts: Record<string, number> }>(url(routes.notices, '?limit=1')),
      enabled: routes.notices !== undefined && isAdmin,
      staleTime: FRESH_MS,
    },
    // The same key and reply as the 健康码 page's run list, so either page fills the other's cache.
    syncRuns: {
      queryKey: ['sync-runs', schoolCode],
      queryFn: () => api<{ items: SyncRun[] }>(url(routes.syncRuns, '?limit=20')),
      enabled: routes.syncRuns !== undefined,
      staleTime: FRESH_MS,
    },
  };
}

/**
 * Start the dashboard's requests as soon as the session is known, before React has drawn
 * the layout, so the server works on them while the browser renders. ECharts is left to
 * the page, so parsing it does not compete with the first paint.
 */
export async function prefetchDashboard(client: QueryClient, user: CurrentUser): Promise<void> {
  if (!user.schoolCode) return;
  const routes = dashboardRoutesOf(await client.ensureQueryData(SERVER_ROUTES_QUERY));
  for (const query of Object.values(dashboardQueries(user.schoolCode, user.role, routes))) {
    // Each entry is a complete query; the union of their reply types is all TypeScript loses here.
    if (query.enabled) void client.prefetchQuery(query as FetchQueryOptions<unknown, Error, unknown, string[]>);
  }
}
