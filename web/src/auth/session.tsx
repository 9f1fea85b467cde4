import { createContext, useContext, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { PublicUser } from '../../../src/modules/auth/service.js';
import { api, ApiError } from '../api/client';

export type { UserRole } from '../../../src/db/schema.js';

/** The signed-in user as GET /api/auth/me returns it (fields of the server's user view). */
export type CurrentUser = Pick<
  PublicUser,
  'id' | 'username' | 'displayName' | 'role' | 'roleLabel' | 'schoolId' | 'schoolCode' | 'schoolName' | 'classId' | 'className'
>;

interface SessionReply {
  user: CurrentUser;
  csrfToken: string;
}

/** Query key of the current user; cleared on sign-out and on a 401 anywhere. */
export const ME_KEY = ['auth', 'me'] as const;

/** Read the signed-in user; null when no user is signed in. */
async function fetchMe(): Promise<CurrentUser | null> {
  try {
    return (await api<SessionReply>('/api/auth/me')).user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

interface SessionValue {
  user: CurrentUser | null;
  isLoading: boolean;
  error: Error | null;
}

const SessionContext = createContext<SessionValue>({ user: null, isLoading: true, error: null });

/** The session query; main.tsx starts it before the first render so the check overlaps loading. */
export const ME_QUERY = { queryKey: ME_KEY, queryFn: fetchMe, staleTime: 60 * 1000, retry: false } as const;

export function SessionProvider({ children }: { children: ReactNode }) {
  const me = useQuery(ME_QUERY);
  const value: SessionValue = { user: me.data ?? null, isLoading: me.isLoading, error: me.error };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  return useContext(SessionContext);
}

/** Return the signed-in user; only for pages inside the signed-in layout. */
export function useUser(): CurrentUser {
  const { user } = useSession();
  if (!user) throw new Error('useUser called outside the signed-in layout');
  return user;
}

/**
 * Forget every cached reply of the previous user but keep the session query itself, whose
 * observer would otherwise stay attached to a removed query and never see the new user.
 */
function resetCacheFor(client: ReturnType<typeof useQueryClient>, user: CurrentUser | null) {
  // The server's route list is the same for every user, so it stays.
  client.removeQueries({ predicate: (query) => query.queryKey[0] !== ME_KEY[0] && query.queryKey[0] !== 'openapi-routes' });
  client.setQueryData(ME_KEY, user);
}

/** Set by a sign-in in this tab, until the signed-in layout reads it once. */
let hasJustSignedIn = false;

/** True once after a sign-in or first-run setup, so the layout can open the role's first page. */
export function consumeJustSignedIn(): boolean {
  const value = hasJustSignedIn;
  hasJustSignedIn = false;
  return value;
}

export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { username: string; password: string }) => api<SessionReply>('/api/auth/login', { method: 'POST', body: input }),
    onSuccess: (reply) => {
      hasJustSignedIn = true;
      resetCacheFor(client, reply.user);
    },
  });
}

export function useSetup() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { username: string; displayName: string; password: string }) =>
      api<SessionReply>('/api/auth/setup', { method: 'POST', body: input }),
    onSuccess: (reply) => {
      hasJustSignedIn = true;
      resetCacheFor(client, reply.user);
    },
  });
}

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<{ ok: true }>('/api/auth/logout', { method: 'POST' }),
    onSettled: () => resetCacheFor(client, null),
  });
}

export const isAdmin = (user: CurrentUser) => user.role === 'district_admin' || user.role === 'school_admin';

/**
 * Return the page a role starts on after signing in: teachers their class on the phone page,
 * guards the live gate, doctors the alerts, the district its schools, the task force venue
 * tracing, school admins the dashboard.
 */
export function landingPath(user: Pick<CurrentUser, 'role'>): string {
  switch (user.role) {
    case 'head_teacher':
    case 'teacher':
      return '/class';
    case 'guard':
      return '/gate';
    case 'school_doctor':
      return '/alerts';
    case 'district_admin':
      return '/district';
    case 'task_force':
      return '/venues';
    default:
      return '/';
  }
}
