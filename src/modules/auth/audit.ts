import type { Kysely, Transaction } from 'kysely';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { Database } from '../../db/schema.js';
import { newId } from '../../shared/ids.js';
import { instantOf, schoolDay } from '../../shared/time.js';
import { isCalendarDay } from '../calendar/calendar-rules.js';
import { AppError } from '../../shared/errors.js';
import type { AuthUser } from './scope.js';
import { assertRole } from './scope.js';
import { ADMIN_ROLES } from './roles.js';
import { labelAuditTargets } from './audit-targets.js';
import * as store from './store.js';

/** Actor as the audit log records it: a signed-in user, or null for the command line and anonymous attempts. */
export type AuditActor = Pick<AuthUser, 'id' | 'username' | 'schoolId'> | null;

export interface AuditOptions {
  ip?: string | null;
  /** Write inside this transaction, so the entry commits or rolls back with the change it records. */
  db?: Kysely<Database> | Transaction<Database>;
  /**
   * School the action concerns. The entry belongs to it, so that school's admins see the
   * action also when a district account took it. Without it the entry belongs to the
   * actor's school, if any.
   */
  schoolId?: string | null;
}

/**
 * Record who did what to which target. `action` is a dotted name such as
 * 'auth.login' or 'person.view'. `target` names the object (an id, a username, a URL),
 * and a school as its code, not its internal id. `detail` is stored as JSON and must
 * not hold an ID number, phone number or secret. Give `options.schoolId` whenever the
 * action concerns one school. Add an action whose target is a
 * school, district, person, class or device to the table in audit-targets.ts, so the
 * audit list shows the target by name.
 */
export async function audit(
  ctx: AppContext,
  user: AuditActor,
  action: string,
  target: string | null,
  detail: Record<string, unknown> = {},
  options: AuditOptions = {},
): Promise<void> {
  await store.insertAudit(options.db ?? ctx.db, {
    id: newId(ctx.now()),
    at: ctx.now(),
    user_id: user?.id ?? null,
    username: user?.username ?? null,
    school_id: options.schoolId ?? user?.schoolId ?? null,
    action,
    target,
    detail: JSON.stringify(detail),
    ip: options.ip ?? null,
  });
}

/**
 * `audit` with the actor and address taken from the request. Pass `options.schoolId` for
 * an action on one school, so the entry belongs to it also when a district admin acts.
 */
export async function auditRequest(
  ctx: AppContext,
  request: FastifyRequest,
  action: string,
  target: string | null,
  detail: Record<string, unknown> = {},
  options: Pick<AuditOptions, 'schoolId'> = {},
): Promise<void> {
  await audit(ctx, request.user ?? null, action, target, detail, { ip: request.ip, schoolId: options.schoolId });
}

export interface AuditEntry {
  id: string;
  at: number;
  userId: string | null;
  username: string | null;
  schoolId: string | null;
  action: string;
  target: string | null;
  /** The target as a reader recognises it, such as 名称（代码） for a school, or null when `target` is shown as stored. */
  targetLabel: string | null;
  detail: Record<string, unknown>;
  ip: string | null;
}

/**
 * Actions that read or copy out data and change nothing: page views, searches, exports and
 * face comparisons. The audit list filters on this set (`kind`). An action missing here
 * counts as a change, so a new read action shows among the changes until it is added.
 */
export const READ_ACTIONS: readonly string[] = [
  'persons.view',
  'person.view',
  'notices.view',
  'consent.view',
  'healthcode.codes.view',
  'healthcode.history.view',
  'gate.events.view',
  'gate.snapshot.view',
  'visitor.list.view',
  'visitor.search',
  'face.identify',
  'roster.export',
  'roster.rejected_export',
  'report.export',
  'report.district.export',
  'venue.trace.venue',
  'venue.trace.person',
  'venue.trace.venue.export',
  'venue.trace.person.export',
];

/** Audit entries by kind: 'change' leaves out READ_ACTIONS, 'read' keeps only them. */
export type AuditKind = 'change' | 'read';

export interface AuditSearch {
  user?: string;
  action?: string;
  /** Without it, entries of every kind. */
  kind?: AuditKind;
  /** First day included, 'YYYY-MM-DD' in Asia/Shanghai. */
  from?: string;
  /** Last day included, 'YYYY-MM-DD' in Asia/Shanghai. */
  to?: string;
  limit?: number;
  offset?: number;
}

function parseDetail(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Return the first instant of a typed day. `today` is the example in the message for an invalid day. */
function dayStart(day: string, field: string, today: string): number {
  if (!isCalendarDay(day)) {
    throw new AppError('VALIDATION', { detail: `${field}“${day}”不是有效日期，请写 YYYY-MM-DD，例如 ${today}` });
  }
  return instantOf(day);
}

/**
 * Audit entries an admin may read, newest first: a district admin reads all, a school
 * admin only the entries of its school.
 */
export async function searchAuditLog(ctx: AppContext, actor: AuthUser, search: AuditSearch): Promise<{ entries: AuditEntry[]; total: number }> {
  assertRole(actor, ADMIN_ROLES);

  const limit = Math.min(Math.max(search.limit ?? 50, 1), 500);
  const offset = Math.max(search.offset ?? 0, 0);
  const today = schoolDay(ctx.now());
  const from = search.from ? dayStart(search.from, '开始日期', today) : undefined;
  const to = search.to ? dayStart(search.to, '结束日期', today) + 24 * 60 * 60 * 1000 : undefined;
  if (from !== undefined && to !== undefined && from >= to) {
    throw new AppError('VALIDATION', { detail: `开始日期 ${search.from} 晚于结束日期 ${search.to}` });
  }

  const { rows, total } = await store.searchAudit(ctx.db, {
    schoolId: actor.role === 'district_admin' ? undefined : (actor.schoolId ?? ''),
    user: search.user?.trim() || undefined,
    action: search.action?.trim() || undefined,
    excludeActions: search.kind === 'change' ? READ_ACTIONS : undefined,
    onlyActions: search.kind === 'read' ? READ_ACTIONS : undefined,
    from,
    to,
    limit,
    offset,
  });
  const parsed = rows.map((row) => ({ ...row, detail: parseDetail(row.detail) }));
  const labels = await labelAuditTargets(ctx, parsed);
  const entries = parsed.map((row, index) => ({
    id: row.id,
    at: row.at,
    userId: row.user_id,
    username: row.username,
    schoolId: row.school_id,
    action: row.action,
    target: row.target,
    targetLabel: labels[index] ?? null,
    detail: row.detail,
    ip: row.ip,
  }));
  return { entries, total };
}
