import type { CheckinRow, RecentCheckinRow, VenueRow } from './store.js';

/**
 * Index of recent check-ins per person, kept in memory by the check-in writer on SQLite so
 * a group is decided without reading the database. That read cost about 20 µs of CPU per
 * check-in over HTTP (docs/benchmarks.md).
 *
 * The index is valid only while this process is the only writer of check-ins. That is
 * true for SQLite, where one server process owns the file. PostgreSQL may run several
 * server processes, so its writer reads the database for every group.
 *
 * The index is loaded from the database once (every check-in at or after `completeSince`)
 * and then gets every check-in the writer commits. `of` returns undefined for a `since`
 * before `completeSince` (a clock set back, as in tests), and the caller then reads the
 * database. Venue positions come from the latest venue row the writer saw, so a moved
 * venue counts from its new place, as in the database join.
 */
export class RecentCheckins {
  private readonly bySubject = new Map<string, RecentCheckinRow[]>();
  private readonly positions = new Map<string, { latitude: number | null; longitude: number | null }>();
  private rows = 0;
  private prunedAt: number;

  /**
   * @param loaded every check-in at or after `completeSince`, with its venue's position
   * @param keepMs how long a check-in stays in the index, counted back from each prune
   */
  constructor(
    loaded: RecentCheckinRow[],
    private completeSince: number,
    private readonly keepMs: number,
  ) {
    for (const row of loaded) {
      if (!this.positions.has(row.venue_id)) this.positions.set(row.venue_id, { latitude: row.latitude, longitude: row.longitude });
      this.insert(row);
    }
    this.prunedAt = completeSince + keepMs;
  }

  /** Number of check-ins in the index. */
  get size(): number {
    return this.rows;
  }

  /**
   * Return the check-ins of these people at or after `since`, each person's oldest first,
   * with their venues' positions. Returns undefined when `since` is before `completeSince`.
   * The rows are the index's own: the caller must not change them.
   */
  of(subjects: Iterable<string>, since: number): RecentCheckinRow[] | undefined {
    if (since < this.completeSince) return undefined;
    const found: RecentCheckinRow[] = [];
    for (const subject of subjects) {
      const list = this.bySubject.get(subject);
      if (!list) continue;
      for (const row of list) if (row.checked_in_at >= since) found.push(row);
    }
    return found;
  }

  /** Add a check-in the writer has committed at `venue`. */
  add(row: CheckinRow, venue: Pick<VenueRow, 'id' | 'latitude' | 'longitude'>): void {
    const { latitude, longitude } = venue;
    const known = this.positions.get(venue.id);
    if (!known || known.latitude !== latitude || known.longitude !== longitude) {
      this.positions.set(venue.id, { latitude, longitude });
      // A moved venue: its earlier check-ins count from the new place, as in the database join.
      if (known) this.moveVenue(venue.id, latitude, longitude);
    }
    this.insert({ ...row, latitude, longitude });
  }

  /**
   * Drop check-ins older than `keepMs` before `now`, at most once a minute. Afterwards
   * `of` returns check-ins only for a `since` at or after that cut.
   */
  prune(now: number): void {
    if (now - this.prunedAt < 60_000) return;
    this.prunedAt = now;
    const cut = now - this.keepMs;
    if (cut <= this.completeSince) return;
    for (const [subject, list] of this.bySubject) {
      const remaining = list.filter((row) => row.checked_in_at >= cut);
      this.rows -= list.length - remaining.length;
      if (remaining.length === 0) this.bySubject.delete(subject);
      else if (remaining.length < list.length) this.bySubject.set(subject, remaining);
    }
    this.completeSince = cut;
  }

  private moveVenue(venueId: string, latitude: number | null, longitude: number | null): void {
    for (const list of this.bySubject.values()) {
      for (const row of list) {
        if (row.venue_id !== venueId) continue;
        row.latitude = latitude;
        row.longitude = longitude;
      }
    }
  }

  /** Insert in the database order, (checked_in_at, id). New check-ins usually go last. */
  private insert(row: RecentCheckinRow): void {
    let list = this.bySubject.get(row.subject_hash);
    if (!list) {
      list = [];
      this.bySubject.set(row.subject_hash, list);
    }
    let at = list.length;
    while (at > 0 && isAfter(list[at - 1], row)) at -= 1;
    list.splice(at, 0, row);
    this.rows += 1;
  }
}

function isAfter(a: CheckinRow, b: CheckinRow): boolean {
  return a.checked_in_at > b.checked_in_at || (a.checked_in_at === b.checked_in_at && a.id > b.id);
}
