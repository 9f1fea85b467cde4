import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Transaction, type UpdateObject } from 'kysely';
import type { Database, OutboxChannel, OutboxStatus, OutboxTable, InboxMessageTable } from '../../db/schema.js';
import type { DialectName } from '../../db/connection.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type OutboxRow = Selectable<OutboxTable>;
export type InboxRow = Selectable<InboxMessageTable>;

const SEND_CHANNELS: OutboxChannel[] = ['dingtalk_work', 'dingtalk_robot', 'inbox'];

/** Pending rows whose time has come, and rows whose sender's lease ran out (a crash or a hang). */
function isDueForSending(now: number) {
  return (eb: ExpressionBuilder<Database, 'outbox'>) =>
    eb.or([
      eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
      eb.and([eb('status', '=', 'sending'), eb('lease_until', '<=', now)]),
    ]);
}

export interface ClaimOptions {
  now: number;
  leaseMs: number;
  /** Random token of this claim; later updates only touch rows that still carry it. */
  token: string;
  limit: number;
}

/**
 * Claim due outbox rows for sending in one statement, so two dispatchers never take the
 * same row. On PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so
 * concurrent dispatchers take disjoint rows without waiting. On SQLite the statement runs
 * under the single writer lock, and the repeated due-condition makes it a conditional
 * update. Each claim counts as an attempt. A row taken over from an expired lease is
 * marked uncertain, because its previous sender may have reached DingTalk before dying.
 */
export async function claimDueSends(db: Kysely<Database>, dialect: DialectName, options: ClaimOptions): Promise<OutboxRow[]> {
  return claimDueSendsQuery(db, dialect, options).execute();
}

/** Build the claim statement of `claimDueSends` without running it (tests read its SQL). */
export function claimDueSendsQuery(db: Kysely<Database>, dialect: DialectName, options: ClaimOptions) {
  const due = isDueForSending(options.now);
  let candidates = db
    .selectFrom('outbox')
    .select('id')
    .where(due)
    .where('channel', 'in', SEND_CHANNELS)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(options.limit);
  if (dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();

  return db
    .updateTable('outbox')
    .set({
      status: 'sending',
      lease_until: options.now + options.leaseMs,
      claim_token: options.token,
      attempts: sql<number>`attempts + 1`,
      uncertain: sql<number>`case when status = 'sending' then 1 else uncertain end`,
    })
    .where('id', 'in', candidates)
    .where(due)
    .returningAll();
}

/**
 * Claim work notices whose send result is due for reading. The claim pushes
 * next_attempt_at past the lease, so a dispatcher that dies mid-check leaves the row to be
 * checked again later.
 */
export async function claimDueConfirmations(db: Kysely<Database>, dialect: DialectName, options: ClaimOptions): Promise<OutboxRow[]> {
  const due = (eb: ExpressionBuilder<Database, 'outbox'>) => eb.and([eb('status', '=', 'confirming'), eb('next_attempt_at', '<=', options.now)]);
  let candidates = db.selectFrom('outbox').select('id').where(due).orderBy('next_attempt_at').orderBy('id').limit(options.limit);
  if (dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();

  return db
    .updateTable('outbox')
    .set({ next_attempt_at: options.now + options.leaseMs, claim_token: options.token })
    .where('id', 'in', candidates)
    .where(due)
    .returningAll()
    .execute();
}

/** Apply changes to claimed rows that still carry `token`; returns how many were updated. */
export async function updateClaimedRows(db: Executor, ids: string[], token: string, changes: UpdateObject<Database, 'outbox'>): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.updateTable('outbox').set(changes).where('id', 'in', ids).where('claim_token', '=', token).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function findNoticeById(db: Executor, id: string): Promise<OutboxRow | undefined> {
  return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface NoticeFilter {
  schoolId: string;
  statuses?: OutboxStatus[];
  kind?: string;
  /** Only notices created before this instant, for paging back in time. */
  before?: number;
  /** Only notices whose recipient_person_id is one of these (a class's pupils and head teacher). */
  personIds?: string[];
  limit: number;
}

/** List a school's notices, newest first. */
export async function listNotices(db: Executor, filter: NoticeFilter): Promise<OutboxRow[]> {
  let query = db.selectFrom('outbox').selectAll().where('school_id', '=', filter.schoolId);
  if (filter.statuses && filter.statuses.length > 0) query = query.where('status', 'in', filter.statuses);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.before !== undefined) query = query.where('created_at', '<', filter.before);
  if (filter.personIds) query = query.where('recipient_person_id', 'in', filter.personIds.length > 0 ? filter.personIds : ['']);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

/** Notice counts of a school by status, optionally only those to `personIds` (see NoticeFilter). */
export async function countNoticesByStatus(db: Executor, schoolId: string, personIds?: string[]): Promise<Map<OutboxStatus, number>> {
  let query = db
    .selectFrom('outbox')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('school_id', '=', schoolId);
  if (personIds) query = query.where('recipient_person_id', 'in', personIds.length > 0 ? personIds : ['']);
  const rows = await query.groupBy('status').execute();
  return new Map(rows.map((row) => [row.status, Number(row.count)]));
}

/**
 * Put a finished notice back in the queue with fresh attempts. Only failed, dead and
 * filtered notices qualify; returns false for any other state (or an unknown id).
 */
export async function requeueNotice(db: Executor, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({
      status: 'pending',
      attempts: 0,
      checks: 0,
      next_attempt_at: now,
      lease_until: null,
      claim_token: null,
      delivery_note: null,
    })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'dead', 'filtered'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface InboxFilter {
  schoolId: string;
  personId?: string;
  guardianId?: string;
  role?: string;
  unreadOnly?: boolean;
  limit: number;
}

/**
 * List the inbox messages at the school addressed to any of the given recipients (a
 * person, a guardian, a role), newest first. With no recipient given, list them all.
 */
export async function listInbox(db: Executor, filter: InboxFilter): Promise<InboxRow[]> {
  let query = db.selectFrom('inbox_messages').selectAll().where('school_id', '=', filter.schoolId);
  query = query.where((eb) => {
    const matches = [];
    if (filter.personId) matches.push(eb('recipient_person_id', '=', filter.personId));
    if (filter.guardianId) matches.push(eb('recipient_guardian_id', '=', filter.guardianId));
    if (filter.role) matches.push(eb('recipient_role', '=', filter.role));
    return matches.length > 0 ? eb.or(matches) : eb.lit(true);
  });
  if (filter.unreadOnly) query = query.where('read_at', 'is', null);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

export async function findInboxMessage(db: Executor, id: string): Promise<InboxRow | undefined> {
  return db.selectFrom('inbox_messages').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function markInboxRead(db: Executor, id: string, now: number): Promise<void> {
  await db.updateTable('inbox_messages').set({ read_at: now }).where('id', '=', id).where('read_at', 'is', null).execute();
}

/** Find the copy of an outbox notice. */
export async function findInboxCopy(db: Executor, outboxId: string): Promise<InboxRow | undefined> {
  return db.selectFrom('inbox_messages').selectAll().where('outbox_id', '=', outboxId).executeTakeFirst();
}

// --- Rate slots -------------------------------------------------------------------------

const SLOT_WINDOW_MS = 60_000;

/** Create the `count` slots of a bucket if missing; existing slots keep their times. */
export async function ensureRateSlots(db: Executor, bucket: string, count: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, slot) => ({ bucket, slot, used_at: 0 }));
  await db
    .insertInto('notify_rate_slots')
    .values(rows)
    .onConflict((oc) => oc.columns(['bucket', 'slot']).doNothing())
    .execute();
}

/** Slots of the bucket not used in the last minute. */
export async function countFreeRateSlots(db: Executor, bucket: string, now: number): Promise<number> {
  const row = await db
    .selectFrom('notify_rate_slots')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('bucket', '=', bucket)
    .where('used_at', '<=', now - SLOT_WINDOW_MS)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Take one free slot, atomically: the conditional update fails when another process took
 * the slot in between (PostgreSQL re-checks the condition on the locked row), and the
 * caller then tries the next one. Returns false when no slot is free.
 */
export async function reserveRateSlot(db: Executor, bucket: string, now: number): Promise<boolean> {
  for (let tries = 0; tries < 5; tries++) {
    const free = await db
      .selectFrom('notify_rate_slots')
      .select('slot')
      .where('bucket', '=', bucket)
      .where('used_at', '<=', now - SLOT_WINDOW_MS)
      .orderBy('used_at')
      .limit(1)
      .executeTakeFirst();
    if (!free) return false;

    const result = await db
      .updateTable('notify_rate_slots')
      .set({ used_at: now })
      .where('bucket', '=', bucket)
      .where('slot', '=', free.slot)
      .where('used_at', '<=', now - SLOT_WINDOW_MS)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return true;
  }
  return false;
}

/** Mark every slot used until `until`, because DingTalk reported that we are over its limit. */
export async function exhaustRateSlots(db: Executor, bucket: string, until: number): Promise<void> {
  await db
    .updateTable('notify_rate_slots')
    .set({ used_at: until - SLOT_WINDOW_MS })
    .where('bucket', '=', bucket)
    .where('used_at', '<', until - SLOT_WINDOW_MS)
    .execute();
}

/** When the next slot of the bucket becomes free. */
export async function nextRateSlotFreeAt(db: Executor, bucket: string): Promise<number> {
  const row = await db
    .selectFrom('notify_rate_slots')
    .select((eb) => eb.fn.min<number>('used_at').as('oldest'))
    .where('bucket', '=', bucket)
    .executeTakeFirst();
  return Number(row?.oldest ?? 0) + SLOT_WINDOW_MS;
}
