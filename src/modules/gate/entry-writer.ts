import type { Transaction } from 'kysely';
import type { AppContext } from '../../context.js';
import type { Database } from '../../db/schema.js';
import { minuteOfDay, parseClock } from '../../shared/time.js';
import { writeAlertPlan, type AlertPlan } from './alerts.js';
import * as store from './store.js';

/**
 * Group commit for entries. Lanes send their events at the same moment in the morning
 * rush, and the commit is the costliest step of an entry (SQLite writes the WAL frames of
 * every touched index page). Entries that arrive while a commit runs wait and are written
 * together in the next transaction. Each entry is still all-or-nothing with its
 * attendance and alerts: if a batch fails, its entries are retried one transaction each,
 * so one bad entry cannot fail its neighbours.
 */

export interface EntryWrite {
  row: store.GateEventRow;
  /**
   * Set when the entry is a pass of a known person that counts as the day's arrival. It
   * is late after `dayStartsAt` on a school day, and never on a day without school.
   */
  arrival: { personId: string; dayStartsAt: string; isSchoolDay: boolean } | null;
  plan: AlertPlan | undefined;
}

interface PendingWrite extends EntryWrite {
  resolve(inserted: boolean): void;
  reject(error: unknown): void;
}

interface Writer {
  queue: PendingWrite[];
  isFlushing: boolean;
}

/** Entries written in one transaction at most; bounds how long one commit holds the lock. */
const MAX_BATCH = 200;

const writers = new WeakMap<AppContext, Writer>();

function writerOf(ctx: AppContext): Writer {
  let writer = writers.get(ctx);
  if (!writer) {
    writer = { queue: [], isFlushing: false };
    writers.set(ctx, writer);
  }
  return writer;
}

/**
 * Write the event, the day's attendance for an arrival and the alert plan. Resolves false,
 * writing nothing, when the device already sent this event id.
 */
export function writeEntry(ctx: AppContext, write: EntryWrite): Promise<boolean> {
  const writer = writerOf(ctx);
  return new Promise<boolean>((resolve, reject) => {
    writer.queue.push({ ...write, resolve, reject });
    if (!writer.isFlushing) {
      writer.isFlushing = true;
      setImmediate(() => void flush(ctx, writer));
    }
  });
}

async function flush(ctx: AppContext, writer: Writer): Promise<void> {
  while (writer.queue.length > 0) {
    const batch = writer.queue.splice(0, MAX_BATCH);
    try {
      const results = await ctx.db.transaction().execute(async (trx) => {
        const inserted: boolean[] = [];
        for (const item of batch) inserted.push(await writeOne(trx, item));
        return inserted;
      });
      batch.forEach((item, i) => item.resolve(results[i]));
    } catch (error) {
      ctx.log.warn({ err: error, entries: batch.length }, 'gate entry batch failed; writing entries one by one');
      for (const item of batch) {
        try {
          item.resolve(await ctx.db.transaction().execute((trx) => writeOne(trx, item)));
        } catch (itemError) {
          item.reject(itemError);
        }
      }
    }
  }
  writer.isFlushing = false;
}

async function writeOne(trx: Transaction<Database>, write: EntryWrite): Promise<boolean> {
  const { row, arrival, plan } = write;
  if (!(await store.insertGateEvent(trx, row))) return false;

  if (arrival) {
    const dayStart = parseClock(arrival.dayStartsAt);
    await store.upsertAttendance(trx, {
      person_id: arrival.personId,
      day: row.day,
      school_id: row.school_id,
      first_pass_at: row.occurred_at,
      late: arrival.isSchoolDay && dayStart !== undefined && minuteOfDay(row.occurred_at) > dayStart ? 1 : 0,
      gate_event_id: row.id,
      source: 'gate',
    });
  }
  if (plan) await writeAlertPlan(trx, plan, row.received_at);
  return true;
}
