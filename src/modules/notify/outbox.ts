import { EventEmitter } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import type { Database, OutboxChannel } from '../../db/schema.js';
import { newId } from '../../shared/ids.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** The role whose inbox gets a notice that names no person, guardian or role. */
export const SCHOOL_ADMIN_ROLE = 'school_admin';

/**
 * Emits 'enqueued' after a notice is queued in this process, so a dispatcher running in
 * the same process starts at once instead of at its next poll. When the caller's
 * transaction has not committed yet, the dispatcher finds nothing and the poll catches
 * the row.
 */
export const outboxSignals = new EventEmitter();
outboxSignals.setMaxListeners(0);

/** A notice to send. Write it in the same transaction as the change that causes it. */
export interface NoticeInput {
  schoolId: string | null;
  channel: OutboxChannel;
  kind: string;
  recipientPersonId?: string | null;
  recipientGuardianId?: string | null;
  recipientDingtalkId?: string | null;
  /**
   * Role at the school whose inbox gets the in-app copy when no person or guardian is
   * named, as for a group-robot notice. The default is the school admin.
   */
  recipientRole?: string | null;
  title: string;
  body: string;
  /**
   * Same key, same notice: a second enqueue with this key is ignored, so a job that is
   * re-run after a crash never queues a notice twice.
   */
  idempotencyKey: string;
}

/**
 * Queue a notice in the outbox; returns false when a notice with the same key exists.
 *
 * When the row is really inserted, its in-app inbox copy is written in the same
 * transaction (the caller's, or one opened here), so the notice is visible in the app at
 * once, even while DingTalk is down. An 'inbox' notice is complete with that copy and is
 * stored as sent.
 */
export async function enqueueNotice(db: Executor, notice: NoticeInput, now: number): Promise<boolean> {
  const inserted = db.isTransaction
    ? await enqueueInTransaction(db, notice, now)
    : await db.transaction().execute((trx) => enqueueInTransaction(trx, notice, now));
  if (inserted && notice.channel !== 'inbox') outboxSignals.emit('enqueued');
  return inserted;
}

async function enqueueInTransaction(trx: Executor, notice: NoticeInput, now: number): Promise<boolean> {
  const id = newId(now);
  const isInboxOnly = notice.channel === 'inbox';
  const result = await trx
    .insertInto('outbox')
    .values({
      id,
      school_id: notice.schoolId,
      channel: notice.channel,
      kind: notice.kind,
      recipient_person_id: notice.recipientPersonId ?? null,
      recipient_guardian_id: notice.recipientGuardianId ?? null,
      recipient_dingtalk_id: notice.recipientDingtalkId ?? null,
      recipient_role: notice.recipientRole ?? null,
      title: notice.title,
      body: notice.body,
      idempotency_key: notice.idempotencyKey,
      status: isInboxOnly ? 'sent' : 'pending',
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
      external_id: null,
      created_at: now,
      sent_at: isInboxOnly ? now : null,
      delivery_note: isInboxOnly ? '仅站内信' : null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst();

  const inserted = Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  if (!inserted) return false;

  await postInboxCopy(trx, { ...notice, outboxId: id }, now);
  return true;
}

/**
 * Write the in-app copy of an outbox notice unless it exists. The copy goes to the named
 * person or guardian, or else to the role (the school admin by default).
 */
export async function postInboxCopy(db: Executor, notice: NoticeInput & { outboxId: string }, now: number): Promise<void> {
  const hasPersonalRecipient = Boolean(notice.recipientPersonId || notice.recipientGuardianId);
  await db
    .insertInto('inbox_messages')
    .values({
      id: newId(now),
      school_id: notice.schoolId,
      recipient_person_id: notice.recipientPersonId ?? null,
      recipient_guardian_id: notice.recipientGuardianId ?? null,
      recipient_role: hasPersonalRecipient ? (notice.recipientRole ?? null) : (notice.recipientRole ?? SCHOOL_ADMIN_ROLE),
      kind: notice.kind,
      title: notice.title,
      body: notice.body,
      created_at: now,
      read_at: null,
      outbox_id: notice.outboxId,
    })
    .onConflict((oc) => oc.column('outbox_id').doNothing())
    .execute();
}

/** An in-app message, for a person or for the holders of a role at the school. */
export interface InboxInput {
  schoolId: string | null;
  recipientPersonId?: string | null;
  recipientRole?: string | null;
  kind: string;
  title: string;
  body: string;
}

/** Post an inbox-only message (no DingTalk delivery); returns its id. */
export async function postInbox(db: Executor, message: InboxInput, now: number): Promise<string> {
  const id = newId(now);
  await db
    .insertInto('inbox_messages')
    .values({
      id,
      school_id: message.schoolId,
      recipient_person_id: message.recipientPersonId ?? null,
      recipient_role: message.recipientRole ?? null,
      kind: message.kind,
      title: message.title,
      body: message.body,
      created_at: now,
      read_at: null,
    })
    .execute();
  return id;
}
