import type { Kysely, Transaction } from 'kysely';
import type { Database, OutboxChannel } from '../../db/schema.js';
import { newId } from '../../shared/ids.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A notice to send. Write it in the same transaction as the change that causes it. */
export interface NoticeInput {
  schoolId: string | null;
  channel: OutboxChannel;
  kind: string;
  recipientPersonId?: string | null;
  recipientGuardianId?: string | null;
  recipientDingtalkId?: string | null;
  title: string;
  body: string;
  /**
   * Same key, same notice: a second enqueue with this key is ignored, so a job that is
   * re-run after a crash never queues a notice twice.
   */
  idempotencyKey: string;
}

/** Queue a notice in the outbox; returns false when a notice with the same key exists. */
export async function enqueueNotice(db: Executor, notice: NoticeInput, now: number): Promise<boolean> {
  const result = await db
    .insertInto('outbox')
    .values({
      id: newId(now),
      school_id: notice.schoolId,
      channel: notice.channel,
      kind: notice.kind,
      recipient_person_id: notice.recipientPersonId ?? null,
      recipient_guardian_id: notice.recipientGuardianId ?? null,
      recipient_dingtalk_id: notice.recipientDingtalkId ?? null,
      title: notice.title,
      body: notice.body,
      idempotency_key: notice.idempotencyKey,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
      external_id: null,
      created_at: now,
      sent_at: null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** An in-app message, for a person or for whoever holds a role at the school. */
export interface InboxInput {
  schoolId: string | null;
  recipientPersonId?: string | null;
  recipientRole?: string | null;
  kind: string;
  title: string;
  body: string;
}

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
