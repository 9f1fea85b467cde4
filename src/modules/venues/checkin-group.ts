import type { Kysely } from 'kysely';
import type pg from 'pg';
import { pgPoolOf, type DialectName } from '../../db/connection.js';
import type { Database } from '../../db/schema.js';
import type { FieldCipher } from '../../shared/crypto.js';
import {
  decideGroup,
  recentSince,
  recordOf,
  type CheckinDraft,
  type CheckinRecord,
  type CheckinWindows,
  type FarApartNote,
  type GroupDecision,
  type WrittenCheckin,
} from './checkin-rules.js';
import { RecentCheckins } from './recent-checkins.js';
import * as store from './store.js';

/**
 * The database side of the check-in writer: read the group's recent check-ins, decide the
 * group (checkin-rules.ts) and insert it in one transaction. On PostgreSQL it runs in the
 * server's thread. On a SQLite file it runs in a worker thread (checkin-thread.ts) with
 * its own connection, so the insert does not take the thread that serves HTTP.
 *
 * Groups may be written while earlier ones are still in flight: the read of a group then
 * overlaps the commit of the one before, and on PostgreSQL groups that share no person
 * commit side by side, so one WAL flush can cover several. The results are the same as if
 * groups were written one by one:
 * - groups are decided in the order `write` was called, and each decision also sees the
 *   check-ins that earlier groups decided to insert but have not committed yet;
 * - a group that shares a person with an earlier group in flight commits after it;
 * - when such an earlier group fails or decides again, the later one reads and decides
 *   again before its commit, because a scan may have been folded into a check-in that
 *   was never stored.
 */

/** Maximum number of check-ins kept in memory (SQLite). Beyond it the writer reads the database for each group. */
const MAX_RECENT_ROWS = 300_000;
/** Extra time recent check-ins stay in memory beyond the longer of the two windows. */
const RECENT_SLACK_MS = 10 * 60_000;

export interface GroupResult {
  results: WrittenCheckin[];
  farApart: FarApartNote[];
  /** Set once, when the in-memory index grew past its limit and was dropped. */
  recentIndexDropped?: { rows: number; limit: number };
}

type RecentCheckin = store.RecentCheckinRow;
type PlacedCheckin = store.PlacedCheckin;

/** A group decided and not yet committed. */
interface InFlightGroup {
  /** Order of the `write` call. */
  seq: number;
  subjects: Set<string>;
  /** The check-ins it will insert, with venue positions. */
  rows: RecentCheckin[];
  /** Resolves true once committed as first decided, false when it failed or decided again. */
  settled: Promise<boolean>;
}

export class CheckinGroupWriter {
  /** Recent check-ins in memory, SQLite only. Undefined until loaded, null when there are too many. */
  private recent: RecentCheckins | undefined | null;
  private readonly inFlight = new Set<InFlightGroup>();
  /** Settles when the last group so far has been decided. */
  private decided: Promise<void> = Promise.resolve();
  private seq = 0;
  private readonly pool: pg.Pool | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    dialect: DialectName,
    private readonly cipher: FieldCipher,
  ) {
    if (dialect !== 'sqlite') this.recent = null;
    this.pool = pgPoolOf(db);
  }

  /** Drop the recent check-ins kept in memory, because rows were deleted. The next group loads them again. */
  forgetRecent(): void {
    if (this.recent) this.recent = undefined;
  }

  /** Decide and store one group; `now` is the server's clock when the group formed. */
  async write(group: CheckinDraft[], windows: CheckinWindows, now: number): Promise<GroupResult> {
    const seq = ++this.seq;
    const decidedBefore = this.decided;
    let markDecided!: () => void;
    let markSettled!: (asDecided: boolean) => void;
    this.decided = new Promise<void>((resolve) => (markDecided = resolve));
    const settled = new Promise<boolean>((resolve) => (markSettled = resolve));

    let mine: InFlightGroup | undefined;
    let decidedAgain = false;
    try {
      const since = recentSince(group, windows);
      const subjects = new Set(group.map((draft) => draft.row.subject_hash));
      const windowMs = Math.max(windows.duplicateMs, windows.travelMs);

      // The read may overlap earlier groups' commits; the decision waits its turn.
      let read = await this.recentOf([...subjects], since, windowMs, now);
      await decidedBefore;
      for (;;) {
        const earlier = [...this.inFlight].filter((other) => other.seq < seq && sharesSubject(other.subjects, subjects));
        const decision = this.decide(group, read.rows, earlier, subjects, since, windows);
        mine = { seq, subjects, rows: this.positioned(decision, group), settled };
        this.inFlight.add(mine);
        markDecided();

        const earlierAsDecided = await Promise.all(earlier.map((other) => other.settled));
        if (earlierAsDecided.every(Boolean)) {
          // Looked up before the insert, so a failed lookup leaves nothing stored.
          const results = await this.completeResults(decision);
          await this.insert(decision);
          this.inFlight.delete(mine);
          if (this.recent) {
            const venues = new Map(group.map((draft) => [draft.row.id, draft.venue]));
            for (const checkin of decision.inserts) this.recent.add(checkin, venues.get(checkin.id)!);
            this.recent.prune(now);
          }
          markSettled(!decidedAgain);
          return { results, farApart: decision.farApart, recentIndexDropped: read.dropped };
        }

        // An earlier group failed or changed, so a scan may have been folded into a
        // check-in that is not stored. Read and decide again.
        this.inFlight.delete(mine);
        decidedAgain = true;
        read = await this.recentOf([...subjects], since, windowMs, now);
      }
    } catch (error) {
      if (mine) this.inFlight.delete(mine);
      throw error;
    } finally {
      markDecided();
      markSettled(false);
    }
  }

  /**
   * Turn the decision's outcomes into check-ins. A repeat folded into a check-in read from
   * the database carries only its place and time, so those are looked up, in one query.
   */
  private async completeResults(decision: GroupDecision): Promise<WrittenCheckin[]> {
    const missing = decision.results.flatMap((outcome) => (outcome.duplicate && !isWhole(outcome.earlier) ? [outcome.earlier.id] : []));
    const found = new Map<string, CheckinRecord>();
    for (const record of await store.findCheckinRecords(this.db, [...new Set(missing)])) found.set(record.id, record);

    return decision.results.map((outcome) => {
      if (!outcome.duplicate) return outcome;
      const { earlier } = outcome;
      const checkin = isWhole(earlier) ? recordOf(earlier) : found.get(earlier.id);
      // Only a deletion between the read and this lookup gets here; retention keeps at least a day.
      if (!checkin) throw new Error(`check-in ${earlier.id} was deleted while a repeat of it was decided`);
      return { duplicate: true, checkin };
    });
  }

  /** Decide over the rows read plus the matching check-ins of earlier groups still in flight. */
  private decide(group: CheckinDraft[], read: PlacedCheckin[], earlier: InFlightGroup[], subjects: Set<string>, since: number, windows: CheckinWindows): GroupDecision {
    if (earlier.length === 0) return decideGroup(group, read, windows, this.cipher);
    const seen = new Set(read.map((row) => row.id));
    const merged = [...read];
    for (const other of earlier) {
      for (const row of other.rows) {
        if (subjects.has(row.subject_hash) && row.checked_in_at >= since && !seen.has(row.id)) merged.push(row);
      }
    }
    merged.sort(byTimeThenId);
    return decideGroup(group, merged, windows, this.cipher);
  }

  private positioned(decision: GroupDecision, group: CheckinDraft[]): RecentCheckin[] {
    const venues = new Map(group.map((draft) => [draft.row.id, draft.venue]));
    return decision.inserts.map((row) => {
      const venue = venues.get(row.id)!;
      return { ...row, latitude: venue.latitude, longitude: venue.longitude };
    });
  }

  private async insert(decision: GroupDecision): Promise<void> {
    // One insert commits by itself; flags need a transaction with it.
    if (decision.flags.length === 0) {
      await store.insertCheckins(this.db, decision.inserts);
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await store.insertCheckins(trx, decision.inserts);
      for (const flag of decision.flags) await store.insertFlag(trx, flag);
    });
  }

  /**
   * Return the check-ins of these people at or after `since`. SQLite reads them from
   * memory, because this writer is the only writer of check-ins to the file. Otherwise they
   * come from the database.
   */
  private async recentOf(subjects: string[], since: number, windowMs: number, now: number): Promise<{ rows: PlacedCheckin[]; dropped?: GroupResult['recentIndexDropped'] }> {
    let dropped: GroupResult['recentIndexDropped'];
    if (this.recent === undefined) {
      const completeSince = now - windowMs - RECENT_SLACK_MS;
      this.recent = new RecentCheckins(await store.listCheckinsSince(this.db, completeSince), completeSince, windowMs + RECENT_SLACK_MS);
    }
    if (this.recent && this.recent.size > MAX_RECENT_ROWS) {
      dropped = { rows: this.recent.size, limit: MAX_RECENT_ROWS };
      this.recent = null;
    }
    const rows = this.recent?.of(subjects, since) ?? (await store.listRecentCheckinsOfSubjects(this.db, subjects, since, this.pool));
    return { rows, dropped };
  }
}

function sharesSubject(a: Set<string>, b: Set<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const subject of small) if (large.has(subject)) return true;
  return false;
}

/** True for a check-in row with all its columns (from memory or this writer), false for one read for a decision. */
function isWhole(checkin: PlacedCheckin): checkin is RecentCheckin {
  return 'method' in checkin;
}

/** Order of the database's reads: (checked_in_at, id). */
function byTimeThenId(a: PlacedCheckin, b: PlacedCheckin): number {
  if (a.checked_in_at !== b.checked_in_at) return a.checked_in_at - b.checked_in_at;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}
