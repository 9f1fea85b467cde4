import type { Kysely, Transaction } from 'kysely';
import type {
  Database,
  VenueCardTable,
  VenueCheckinTable,
  VenueDeviceTable,
  VenueFlagTable,
  VenueKind,
  VenueRetentionRunTable,
  VenueStatus,
  VenueTable,
} from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type VenueRow = VenueTable;
export type VenueDeviceRow = VenueDeviceTable;
export type VenueCardRow = VenueCardTable;
export type CheckinRow = VenueCheckinTable;
export type FlagRow = VenueFlagTable;
export type RetentionRunRow = VenueRetentionRunTable;

// --- venues ---

export async function insertVenues(db: Executor, rows: VenueRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) await db.insertInto('venues').values(rows.slice(i, i + 200)).execute();
}

export async function findVenue(db: Executor, id: string): Promise<VenueRow | undefined> {
  return db.selectFrom('venues').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findVenues(db: Executor, ids: string[]): Promise<VenueRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('venues').selectAll().where('id', 'in', ids).execute();
}

export interface VenueFilter {
  operator?: string;
  line?: string;
  kind?: VenueKind;
  status?: VenueStatus;
  schoolId?: string;
  /** Part of the name or plate. */
  search?: string;
  limit: number;
  offset: number;
}

export async function listVenues(db: Executor, filter: VenueFilter): Promise<{ rows: VenueRow[]; total: number }> {
  let query = db.selectFrom('venues');
  if (filter.operator) query = query.where('operator', '=', filter.operator);
  if (filter.line) query = query.where('line', '=', filter.line);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.schoolId) query = query.where('school_id', '=', filter.schoolId);
  if (filter.search) {
    const pattern = `%${filter.search.replace(/[%_]/g, '')}%`;
    query = query.where((eb) => eb.or([eb('name', 'like', pattern), eb('plate', 'like', pattern)]));
  }
  const counted = await query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirst();
  const rows = await query.selectAll().orderBy('operator').orderBy('line').orderBy('name').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  return { rows, total: Number(counted?.count ?? 0) };
}

/** Venues of an operator's line (a bus line), active and retired, in name order. */
export async function listLineVenues(db: Executor, operator: string | undefined, line: string): Promise<VenueRow[]> {
  let query = db.selectFrom('venues').selectAll().where('line', '=', line);
  if (operator) query = query.where('operator', '=', operator);
  return query.orderBy('name').orderBy('id').execute();
}

export async function listOperatorVenues(db: Executor, operator: string): Promise<VenueRow[]> {
  return db.selectFrom('venues').selectAll().where('operator', '=', operator).where('status', '=', 'active').orderBy('line').orderBy('name').execute();
}

export async function updateVenue(db: Executor, id: string, changes: Partial<VenueRow>): Promise<void> {
  await db.updateTable('venues').set(changes).where('id', '=', id).execute();
}

// --- devices ---

export async function insertDevice(db: Executor, row: VenueDeviceRow): Promise<void> {
  await db.insertInto('venue_devices').values(row).execute();
}

export async function findDevice(db: Executor, id: string): Promise<VenueDeviceRow | undefined> {
  return db.selectFrom('venue_devices').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listDevices(db: Executor, operator: string | undefined): Promise<VenueDeviceRow[]> {
  let query = db.selectFrom('venue_devices').selectAll();
  if (operator) query = query.where('operator', '=', operator);
  return query.orderBy('created_at').execute();
}

export async function updateDevice(db: Executor, id: string, changes: Partial<VenueDeviceRow>): Promise<void> {
  await db.updateTable('venue_devices').set(changes).where('id', '=', id).execute();
}

// --- cards ---

export async function insertCard(db: Executor, row: VenueCardRow): Promise<void> {
  await db.insertInto('venue_cards').values(row).execute();
}

export async function findCardByHash(db: Executor, cardHash: string): Promise<VenueCardRow | undefined> {
  return db.selectFrom('venue_cards').selectAll().where('card_hash', '=', cardHash).executeTakeFirst();
}

export async function updateCard(db: Executor, id: string, changes: Partial<VenueCardRow>): Promise<void> {
  await db.updateTable('venue_cards').set(changes).where('id', '=', id).execute();
}

// --- check-ins ---

export async function insertCheckin(db: Executor, row: CheckinRow): Promise<void> {
  await db.insertInto('venue_checkins').values(row).execute();
}

export async function findCheckin(db: Executor, id: string): Promise<CheckinRow | undefined> {
  return db.selectFrom('venue_checkins').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Insert check-ins with one multi-row statement. A group has at most 200 rows of 19
 * columns, 3,800 parameters, inside SQLite's limit of 32,766 and PostgreSQL's of 65,535.
 */
export async function insertCheckins(db: Executor, rows: CheckinRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('venue_checkins').values(rows).execute();
}

/** A check-in with its venue's position, for the duplicate and far-apart checks. */
export interface RecentCheckinRow extends CheckinRow {
  latitude: number | null;
  longitude: number | null;
}

/** List the check-ins of these people (subject hashes) at or after `since`, oldest first. */
export async function listRecentCheckinsOfSubjects(db: Executor, subjectHashes: string[], since: number): Promise<RecentCheckinRow[]> {
  if (subjectHashes.length === 0) return [];
  return db
    .selectFrom('venue_checkins as c')
    .innerJoin('venues as v', 'v.id', 'c.venue_id')
    .selectAll('c')
    .select(['v.latitude', 'v.longitude'])
    .where('c.subject_hash', 'in', subjectHashes)
    .where('c.checked_in_at', '>=', since)
    .orderBy('c.checked_in_at')
    .orderBy('c.id')
    .execute();
}

export interface TraceRow extends CheckinRow {
  venue_name: string;
  venue_kind: VenueKind;
  venue_line: string | null;
  venue_plate: string | null;
  venue_operator: string;
}

const TRACE_COLUMNS = ['v.name as venue_name', 'v.kind as venue_kind', 'v.line as venue_line', 'v.plate as venue_plate', 'v.operator as venue_operator'] as const;

/**
 * Check-ins at any of `venueIds` in [from, to), in time order, at most `limit` rows.
 * The (venue_id, checked_in_at) index serves it with one range scan per venue.
 */
export async function listCheckinsAtVenues(db: Executor, venueIds: string[], from: number, to: number, limit: number): Promise<TraceRow[]> {
  if (venueIds.length === 0) return [];
  return db
    .selectFrom('venue_checkins as c')
    .innerJoin('venues as v', 'v.id', 'c.venue_id')
    .selectAll('c')
    .select(TRACE_COLUMNS)
    .where('c.venue_id', 'in', venueIds)
    .where('c.checked_in_at', '>=', from)
    .where('c.checked_in_at', '<', to)
    .orderBy('c.checked_in_at')
    .orderBy('c.id')
    .limit(limit)
    .execute();
}

/** List a person's check-ins by ID number hash, phone hash or both in [from, to), in time order. */
export async function listCheckinsOfPerson(
  db: Executor,
  keys: { idNumberHash?: string; phoneHash?: string },
  from: number,
  to: number,
  limit: number,
): Promise<TraceRow[]> {
  return db
    .selectFrom('venue_checkins as c')
    .innerJoin('venues as v', 'v.id', 'c.venue_id')
    .selectAll('c')
    .select(TRACE_COLUMNS)
    .where((eb) => {
      const either = [];
      if (keys.idNumberHash) either.push(eb('c.subject_hash', '=', keys.idNumberHash));
      if (keys.phoneHash) either.push(eb('c.phone_hash', '=', keys.phoneHash));
      return eb.or(either);
    })
    .where('c.checked_in_at', '>=', from)
    .where('c.checked_in_at', '<', to)
    .orderBy('c.checked_in_at')
    .orderBy('c.id')
    .limit(limit)
    .execute();
}

/** Ids of every venue, active or retired, for retention. */
export async function listVenueIds(db: Executor): Promise<string[]> {
  return (await db.selectFrom('venues').select('id').execute()).map((row) => row.id);
}

/**
 * Delete up to `batch` check-ins of one venue older than `cutoff` and return how many
 * went. The (venue_id, checked_in_at) index finds them; deleting in batches keeps each
 * statement short after a long pause.
 */
export async function deleteVenueCheckinsBefore(db: Executor, venueId: string, cutoff: number, batch: number): Promise<number> {
  const ids = db.selectFrom('venue_checkins').select('id').where('venue_id', '=', venueId).where('checked_in_at', '<', cutoff).limit(batch);
  const result = await db.deleteFrom('venue_checkins').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteFlagsBefore(db: Executor, cutoff: number): Promise<number> {
  const result = await db.deleteFrom('venue_flags').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// --- flags ---

export async function insertFlag(db: Executor, row: FlagRow): Promise<void> {
  await db.insertInto('venue_flags').values(row).execute();
}

export async function findFlag(db: Executor, id: string): Promise<FlagRow | undefined> {
  return db.selectFrom('venue_flags').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listFlags(db: Executor, status: 'open' | 'reviewed' | undefined, limit: number): Promise<FlagRow[]> {
  let query = db.selectFrom('venue_flags').selectAll();
  if (status) query = query.where('status', '=', status);
  return query.orderBy('created_at', 'desc').limit(limit).execute();
}

export async function updateFlag(db: Executor, id: string, changes: Partial<FlagRow>): Promise<void> {
  await db.updateTable('venue_flags').set(changes).where('id', '=', id).execute();
}

// --- retention runs ---

export async function insertRetentionRun(db: Executor, row: RetentionRunRow): Promise<void> {
  await db.insertInto('venue_retention_runs').values(row).execute();
}

export async function listRetentionRuns(db: Executor, limit: number): Promise<RetentionRunRow[]> {
  return db.selectFrom('venue_retention_runs').selectAll().orderBy('ran_at', 'desc').limit(limit).execute();
}
