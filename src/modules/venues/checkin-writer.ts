import type { AppContext } from '../../context.js';
import { newId } from '../../shared/ids.js';
import { RecentCheckins } from './recent-checkins.js';
import { checkTravel } from './travel-check.js';
import * as store from './store.js';

/**
 * Group commit of check-ins. Check-ins that arrive while a write runs wait and go into
 * the next one together. One indexed query reads the recent check-ins of everyone in
 * the group. Repeat scans within the duplicate window are folded into the earlier
 * check-in, far-apart check-ins of one ID number are flagged, and the rest are inserted
 * with one statement. Each caller's promise resolves after the insert has
 * committed, so every check-in that gets a reply is stored. On a busy morning this
 * turns hundreds of small transactions a second into a few dozen larger ones.
 *
 * Groups are written one after another, so the decision on a scan includes that
 * person's earlier check-ins written by this process. Two processes can each write one scan of a pair that
 * arrives within the same few milliseconds; the next scan of that person sees both and
 * is folded.
 */

/** Check-ins written per transaction at most. */
const MAX_GROUP = 200;

export interface NewCheckin {
  row: store.CheckinRow;
  venue: store.VenueRow;
}

export interface WrittenCheckin {
  checkin: store.CheckinRow;
  duplicate: boolean;
}

interface Pending extends NewCheckin {
  resolve(result: WrittenCheckin): void;
  reject(error: unknown): void;
}

type RecentCheckin = store.RecentCheckinRow;

/**
 * Writer of check-in groups, one group at a time, so repeat scans of one person are
 * decided in order. SQLite allows one writer anyway. PostgreSQL had four lanes (by
 * subject hash) that wrote groups side by side. Once groups formed in the check phase,
 * one lane wrote the same load with about a third of the database's CPU and half of this
 * process's per check-in, because each group then contains every waiting check-in
 * (docs/decisions.md).
 */
export class CheckinWriter {
  private readonly lane: Lane;

  constructor(ctx: AppContext) {
    this.lane = new Lane(ctx);
  }

  /** Write one check-in with the next group; resolves after its commit. */
  submit(checkin: NewCheckin): Promise<WrittenCheckin> {
    return this.lane.submit(checkin);
  }

  /** Wait until every submitted check-in is written. */
  async flushed(): Promise<void> {
    await this.lane.flushed();
  }

  /** Drop the recent check-ins kept in memory, because rows were deleted. The next group loads them again. */
  forgetRecent(): void {
    this.lane.forgetRecent();
  }
}

/** Maximum number of check-ins kept in memory (SQLite). Beyond it the writer reads the database for each group. */
const MAX_RECENT_ROWS = 300_000;
/** Extra time recent check-ins stay in memory beyond the longer of the two windows. */
const RECENT_SLACK_MS = 10 * 60_000;

class Lane {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  /** Recent check-ins in memory, SQLite only. Undefined until loaded, null when there are too many. */
  private recent: RecentCheckins | undefined | null;

  constructor(private readonly ctx: AppContext) {
    if (ctx.dialect !== 'sqlite') this.recent = null;
  }

  forgetRecent(): void {
    if (this.recent) this.recent = undefined;
  }

  submit(checkin: NewCheckin): Promise<WrittenCheckin> {
    return new Promise<WrittenCheckin>((resolve, reject) => {
      this.queue.push({ ...checkin, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  async flushed(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Start the write in the event loop's check phase, after the requests that came in
    // with this one have been read and have joined the queue. Without this pause, every
    // SQLite group held one check-in: a SQLite write finishes in microtasks, so no
    // request is read while it runs and none can join the next group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      try {
        const results = await this.write(group);
        group.forEach((pending, i) => pending.resolve(results[i]));
      } catch (error) {
        this.ctx.log.error({ err: error, groupSize: group.length }, 'check-in group write failed');
        for (const pending of group) pending.reject(error);
      }
    }
    this.running = undefined;
  }

  private async write(group: Pending[]): Promise<WrittenCheckin[]> {
    const { duplicateWindowMinutes, travelWindowMinutes } = this.ctx.config.venues;
    const duplicateMs = duplicateWindowMinutes * 60_000;
    const travelMs = travelWindowMinutes * 60_000;
    const earliest = Math.min(...group.map((p) => p.row.checked_in_at));
    const subjects = [...new Set(group.map((p) => p.row.subject_hash))];

    const windowMs = Math.max(duplicateMs, travelMs);
    const recent = await this.recentOf(subjects, earliest - windowMs, windowMs);
    const bySubject = new Map<string, RecentCheckin[]>();
    for (const row of recent) {
      const list = bySubject.get(row.subject_hash) ?? [];
      list.push(row);
      bySubject.set(row.subject_hash, list);
    }

    const results: WrittenCheckin[] = [];
    const inserts: store.CheckinRow[] = [];
    const flags: store.FlagRow[] = [];
    for (const { row, venue } of group) {
      const list = bySubject.get(row.subject_hash) ?? [];
      const earlier = duplicateMs > 0 ? findLatest(list, (c) => c.venue_id === venue.id && c.checked_in_at >= row.checked_in_at - duplicateMs) : undefined;
      if (earlier) {
        results.push({ checkin: withoutPosition(earlier), duplicate: true });
        continue;
      }

      const checkin = { ...row };
      if (checkin.id_number_hash && venue.latitude !== null && venue.longitude !== null) {
        const far = findFarApart(list, venue, checkin.checked_in_at, travelMs);
        if (far) {
          checkin.flagged = 1;
          flags.push({
            id: newId(checkin.checked_in_at),
            subject_hash: checkin.subject_hash,
            checkin_id: checkin.id,
            previous_checkin_id: far.previousId,
            distance_m: far.distanceM,
            minutes: Math.round(far.minutes * 10) / 10,
            status: 'open',
            created_at: checkin.checked_in_at,
            reviewed_by: null,
            reviewed_at: null,
            review_note: null,
          });
          this.ctx.log.warn({ checkinId: checkin.id, venueId: venue.id, distanceM: far.distanceM, minutes: far.minutes }, 'far-apart check-ins flagged for review');
        }
      }
      inserts.push(checkin);
      list.push({ ...checkin, latitude: venue.latitude, longitude: venue.longitude });
      bySubject.set(checkin.subject_hash, list);
      results.push({ checkin, duplicate: false });
    }

    // One insert commits by itself; flags need a transaction with it.
    if (flags.length === 0) {
      await store.insertCheckins(this.ctx.db, inserts);
    } else {
      await this.ctx.db.transaction().execute(async (trx) => {
        await store.insertCheckins(trx, inserts);
        for (const flag of flags) await store.insertFlag(trx, flag);
      });
    }
    if (this.recent) {
      const venues = new Map(group.map((p) => [p.row.id, p.venue]));
      for (const checkin of inserts) this.recent.add(checkin, venues.get(checkin.id)!);
      this.recent.prune(this.ctx.now());
    }
    return results;
  }

  /**
   * Return the check-ins of these people at or after `since`. SQLite reads them from
   * memory, because this process is the only writer. Otherwise they come from the
   * database without a transaction, because this lane is the only writer of check-ins in
   * this process and it writes one group at a time.
   */
  private async recentOf(subjects: string[], since: number, windowMs: number): Promise<RecentCheckin[]> {
    if (this.recent === undefined) {
      const completeSince = this.ctx.now() - windowMs - RECENT_SLACK_MS;
      this.recent = new RecentCheckins(await store.listCheckinsSince(this.ctx.db, completeSince), completeSince, windowMs + RECENT_SLACK_MS);
    }
    if (this.recent && this.recent.size > MAX_RECENT_ROWS) {
      this.ctx.log.warn({ rows: this.recent.size, limit: MAX_RECENT_ROWS }, 'too many recent check-ins to keep in memory, reading them from the database for each group');
      this.recent = null;
    }
    return this.recent?.of(subjects, since) ?? store.listRecentCheckinsOfSubjects(this.ctx.db, subjects, since);
  }

}

function findLatest(list: RecentCheckin[], match: (c: RecentCheckin) => boolean): RecentCheckin | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (match(list[i])) return list[i];
  return undefined;
}

/** Find the most recent check-in elsewhere, within the travel window, too far away to have come from. */
function findFarApart(list: RecentCheckin[], venue: store.VenueRow, at: number, travelMs: number) {
  const here = { latitude: venue.latitude!, longitude: venue.longitude! };
  for (let i = list.length - 1; i >= 0; i--) {
    const other = list[i];
    if (other.venue_id === venue.id || other.latitude === null || other.longitude === null) continue;
    if (other.checked_in_at < at - travelMs) continue;
    const verdict = checkTravel({ latitude: other.latitude, longitude: other.longitude }, other.checked_in_at, here, at);
    if (verdict.flagged) return { previousId: other.id, distanceM: verdict.distanceM, minutes: verdict.minutes };
  }
  return undefined;
}

function withoutPosition(row: RecentCheckin): store.CheckinRow {
  const { latitude: _latitude, longitude: _longitude, ...checkin } = row;
  return checkin;
}

const writers = new WeakMap<object, CheckinWriter>();

/** Return the check-in writer of this process for the context's database. */
export function checkinWriter(ctx: AppContext): CheckinWriter {
  let writer = writers.get(ctx.db);
  if (!writer) {
    writer = new CheckinWriter(ctx);
    writers.set(ctx.db, writer);
  }
  return writer;
}
