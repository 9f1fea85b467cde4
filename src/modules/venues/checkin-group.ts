import type { Kysely } from 'kysely';
import type { DialectName } from '../../db/connection.js';
import type { Database } from '../../db/schema.js';
import type { FieldCipher } from '../../shared/crypto.js';
import { decideGroup, recentSince, type CheckinDraft, type CheckinWindows, type FarApartNote, type GroupDecision, type WrittenCheckin } from './checkin-rules.js';
import { RecentCheckins } from './recent-checkins.js';
import * as store from './store.js';

/**
 * The database side of the check-in writer: read the group's recent check-ins, decide the
 * group (checkin-rules.ts) and insert it in one transaction. On PostgreSQL it runs in the
 * server's thread; on a SQLite file it runs in a worker thread (checkin-thread.ts) with
 * its own connection, so the insert does not take the thread that serves HTTP.
 *
 * Groups may be written while earlier ones are still in flight. The read of a group then
 * overlaps the commit of the one before, which on PostgreSQL is most of a group's time.
 * The results are the same as if groups were written one by one:
 * - groups are decided in the order `write` was called, and each decision also sees the
 *   check-ins that earlier groups decided to insert but have not committed yet;
 * - groups commit in that order, each after the one before;
 * - when a group fails, its check-ins are not stored, so every later group decided with
 *   them reads and decides again before its commit.
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

export class CheckinGroupWriter {
  /** Recent check-ins in memory, SQLite only. Undefined until loaded, null when there are too many. */
  private recent: RecentCheckins | undefined | null;
  /** Check-ins of groups decided and not yet committed, by group. */
  private readonly uncommitted = new Set<RecentCheckin[]>();
  /** Settles when the last group so far has been decided. */
  private decided: Promise<void> = Promise.resolve();
  /** Settles when the last group so far has committed or failed. */
  private committed: Promise<void> = Promise.resolve();
  /** Number of groups that failed; a group decided before a failure decides again. */
  private failures = 0;

  constructor(
    private readonly db: Kysely<Database>,
    dialect: DialectName,
    private readonly cipher: FieldCipher,
  ) {
    if (dialect !== 'sqlite') this.recent = null;
  }

  /** Drop the recent check-ins kept in memory, because rows were deleted. The next group loads them again. */
  forgetRecent(): void {
    if (this.recent) this.recent = undefined;
  }

  /** Decide and store one group; `now` is the server's clock when the group formed. */
  async write(group: CheckinDraft[], windows: CheckinWindows, now: number): Promise<GroupResult> {
    const decidedBefore = this.decided;
    const committedBefore = this.committed;
    let markDecided!: () => void;
    let markCommitted!: () => void;
    this.decided = new Promise<void>((resolve) => (markDecided = resolve));
    this.committed = new Promise<void>((resolve) => (markCommitted = resolve));

    let mine: RecentCheckin[] | undefined;
    try {
      const since = recentSince(group, windows);
      const subjects = [...new Set(group.map((draft) => draft.row.subject_hash))];
      const windowMs = Math.max(windows.duplicateMs, windows.travelMs);

      // The read may overlap the commit of the group before; the decision waits its turn.
      let read = await this.recentOf(subjects, since, windowMs, now);
      await decidedBefore;
      let decidedAt = this.failures;
      let decision = this.decide(group, read.rows, subjects, since, windows);
      mine = this.positioned(decision, group);
      this.uncommitted.add(mine);
      markDecided();

      await committedBefore;
      if (this.failures !== decidedAt) {
        // An earlier group failed after this one was decided, perhaps folding a scan into a
        // check-in that was never stored. Read and decide again.
        this.uncommitted.delete(mine);
        read = await this.recentOf(subjects, since, windowMs, now);
        decidedAt = this.failures;
        decision = this.decide(group, read.rows, subjects, since, windows);
        mine = this.positioned(decision, group);
        this.uncommitted.add(mine);
      }

      await this.insert(decision);
      this.uncommitted.delete(mine);
      if (this.recent) {
        const venues = new Map(group.map((draft) => [draft.row.id, draft.venue]));
        for (const checkin of decision.inserts) this.recent.add(checkin, venues.get(checkin.id)!);
        this.recent.prune(now);
      }
      return { results: decision.results, farApart: decision.farApart, recentIndexDropped: read.dropped };
    } catch (error) {
      if (mine) this.uncommitted.delete(mine);
      this.failures += 1;
      throw error;
    } finally {
      markDecided();
      markCommitted();
    }
  }

  /** Decide over the rows read plus the matching check-ins of earlier groups still uncommitted. */
  private decide(group: CheckinDraft[], read: RecentCheckin[], subjects: string[], since: number, windows: CheckinWindows): GroupDecision {
    if (this.uncommitted.size === 0) return decideGroup(group, read, windows, this.cipher);
    const wanted = new Set(subjects);
    const seen = new Set(read.map((row) => row.id));
    const merged = [...read];
    for (const rows of this.uncommitted) {
      for (const row of rows) {
        if (wanted.has(row.subject_hash) && row.checked_in_at >= since && !seen.has(row.id)) merged.push(row);
      }
    }
    merged.sort((a, b) => a.checked_in_at - b.checked_in_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
  private async recentOf(subjects: string[], since: number, windowMs: number, now: number): Promise<{ rows: RecentCheckin[]; dropped?: GroupResult['recentIndexDropped'] }> {
    let dropped: GroupResult['recentIndexDropped'];
    if (this.recent === undefined) {
      const completeSince = now - windowMs - RECENT_SLACK_MS;
      this.recent = new RecentCheckins(await store.listCheckinsSince(this.db, completeSince), completeSince, windowMs + RECENT_SLACK_MS);
    }
    if (this.recent && this.recent.size > MAX_RECENT_ROWS) {
      dropped = { rows: this.recent.size, limit: MAX_RECENT_ROWS };
      this.recent = null;
    }
    const rows = this.recent?.of(subjects, since) ?? (await store.listRecentCheckinsOfSubjects(this.db, subjects, since));
    return { rows, dropped };
  }
}
