import type pg from 'pg';
import { CompiledQuery, PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import { SqliteRowBatch } from '../../db/connection.js';
import { prepareQuery } from '../../db/prepared.js';
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

/**
 * Reduce a plate to the form compared for duplicates: without spaces, middle dots, dots or
 * dashes, with its Latin letters in upper case. '浙A·12345', '浙a 12345' and '浙A12345' are one plate.
 * `plateKeyOf` is the same rule in SQL, so the lookup below matches what this returns.
 */
export function plateKey(plate: string): string {
  return plate.replace(/[ ·.-]+/g, '').replace(/[a-z]/g, (letter) => letter.toUpperCase());
}

function plateKeyOf(column: string) {
  return sql<string>`upper(replace(replace(replace(replace(${sql.ref(column)}, ' ', ''), '·', ''), '.', ''), '-', ''))`;
}

/** Active venues whose plate has one of these keys (see plateKey). */
export async function findActiveVenuesByPlateKeys(db: Executor, keys: string[]): Promise<Array<VenueRow & { plate_key: string }>> {
  const found: Array<VenueRow & { plate_key: string }> = [];
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const rows = await db
      .selectFrom('venues')
      .selectAll()
      .select(plateKeyOf('plate').as('plate_key'))
      .where('status', '=', 'active')
      .where('plate', 'is not', null)
      .where(plateKeyOf('plate'), 'in', chunk)
      .execute();
    found.push(...rows);
  }
  return found;
}

/** Active venues with one of these names, for the duplicate check of new or renamed venues. */
export async function findActiveVenuesByNames(db: Executor, names: string[]): Promise<VenueRow[]> {
  const found: VenueRow[] = [];
  for (let i = 0; i < names.length; i += 500) {
    found.push(...(await db.selectFrom('venues').selectAll().where('status', '=', 'active').where('name', 'in', names.slice(i, i + 500)).execute()));
  }
  return found;
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

export async function listDevices(db: Executor, filter: { operator?: string; venueId?: string }): Promise<VenueDeviceRow[]> {
  let query = db.selectFrom('venue_devices').selectAll();
  if (filter.operator) query = query.where('operator', '=', filter.operator);
  if (filter.venueId) query = query.where('venue_id', '=', filter.venueId);
  return query.orderBy('created_at').execute();
}

/**
 * Find the active device of this name at a venue, or among an operator's devices that serve all
 * its venues (venueId null), for the check against two devices of one name.
 */
export async function findActiveDeviceByName(db: Executor, place: { venueId: string } | { operator: string }, name: string): Promise<VenueDeviceRow | undefined> {
  let query = db.selectFrom('venue_devices').selectAll().where('active', '=', 1).where('name', '=', name);
  query = 'venueId' in place ? query.where('venue_id', '=', place.venueId) : query.where('venue_id', 'is', null).where('operator', '=', place.operator);
  return query.executeTakeFirst();
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

/** Every column of venue_checkins, in the order the prepared insert names them. */
const CHECKIN_COLUMNS = [
  'id',
  'venue_id',
  'checked_in_at',
  'method',
  'subject_hash',
  'name',
  'id_number_enc',
  'id_number_hash',
  'id_number_masked',
  'phone_enc',
  'phone_hash',
  'phone_masked',
  'code_color',
  'code_source',
  'code_seen',
  'seen_color',
  'card_id',
  'device_id',
  'flagged',
] as const satisfies ReadonlyArray<keyof CheckinRow>;

// A column added to the table must be added to CHECKIN_COLUMNS too, or this line fails to compile.
const _allCheckinColumns: Exclude<keyof CheckinRow, (typeof CHECKIN_COLUMNS)[number]> extends never ? true : never = true;
void _allCheckinColumns;

const checkinInsertTexts = new WeakMap<object, string>();

/** Return the insert text of the database's dialect, compiled once: one row of `?` (SQLite) or one JSON array of rows (PostgreSQL). */
function checkinInsertText(db: Executor, postgres: boolean): string {
  const adapter = db.getExecutor().adapter;
  let text = checkinInsertTexts.get(adapter);
  if (!text) {
    const columns = sql.join(CHECKIN_COLUMNS.map((name) => sql.id(name)));
    const source = postgres
      ? sql`select ${columns} from json_populate_recordset(null::venue_checkins, ${'[]'})`
      : sql`values (${sql.join(CHECKIN_COLUMNS.map(() => sql.raw('?')))})`;
    text = sql`insert into venue_checkins (${columns}) ${source}`.compile(db).sql;
    checkinInsertTexts.set(adapter, text);
  }
  return text;
}

/**
 * Insert check-ins, all or none, with one statement text whatever their number, compiled
 * once, because building a multi-row insert with Kysely cost more than running it.
 * PostgreSQL gets the rows as one JSON parameter (json_populate_recordset). SQLite runs
 * one cached single-row INSERT per row inside a savepoint (SqliteRowBatch).
 */
export async function insertCheckins(db: Executor, rows: CheckinRow[]): Promise<void> {
  if (rows.length === 0) return;
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const text = checkinInsertText(db, postgres);
  const parameter = postgres ? JSON.stringify(rows) : new SqliteRowBatch(rows.map((row) => CHECKIN_COLUMNS.map((name) => row[name])));
  await db.executeQuery(CompiledQuery.raw(text, [parameter]));
}

/** A check-in with its venue's position, as the in-memory index of recent check-ins keeps it. */
export interface RecentCheckinRow extends CheckinRow {
  latitude: number | null;
  longitude: number | null;
}

/** An earlier check-in as the duplicate and far-apart checks need it: whose, where and when. */
export type PlacedCheckin = Pick<RecentCheckinRow, 'id' | 'venue_id' | 'checked_in_at' | 'subject_hash' | 'latitude' | 'longitude'>;

/**
 * Query of the recent check-ins of a group's people, prepared once. The subject hashes go
 * in as one parameter (a JSON array read with json_each on SQLite, an array on PostgreSQL),
 * so the text does not change with the group's size. Both plans probe the
 * (subject_hash, checked_in_at) index once per person.
 */
const recentCheckinsQuery = prepareQuery<{ subjects: string | string[]; since: number }, PlacedCheckin>((db, slot) => {
  const subjects =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? sql<boolean>`c.subject_hash = any(${slot('subjects')})`
      : sql<boolean>`c.subject_hash in (select value from json_each(${slot('subjects')}))`;
  return db
    .selectFrom('venue_checkins as c')
    .innerJoin('venues as v', 'v.id', 'c.venue_id')
    .select(['c.id', 'c.venue_id', 'c.checked_in_at', 'c.subject_hash', 'v.latitude', 'v.longitude'])
    .where(subjects)
    .where('c.checked_in_at', '>=', slot('since'))
    .orderBy('c.checked_in_at')
    .orderBy('c.id');
});

/**
 * List the check-ins of these people (subject hashes) at or after `since`, oldest first.
 * On PostgreSQL, given the pool, it runs as a named statement, which the server parses and
 * plans once per connection instead of once per group.
 */
export async function listRecentCheckinsOfSubjects(db: Executor, subjectHashes: string[], since: number, pool?: pg.Pool): Promise<PlacedCheckin[]> {
  if (subjectHashes.length === 0) return [];
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    if (pool) {
      const text = recentCheckinsText(db);
      return (await pool.query<PlacedCheckin>({ name: 'fangkong_recent_checkins', text, values: [subjectHashes, since] })).rows;
    }
    return (await recentCheckinsQuery(db, { subjects: subjectHashes, since })).rows;
  }
  return (await recentCheckinsQuery(db, { subjects: JSON.stringify(subjectHashes), since })).rows;
}

let recentTextPostgres: string | undefined;

function recentCheckinsText(db: Executor): string {
  recentTextPostgres ??= db
    .selectFrom('venue_checkins as c')
    .innerJoin('venues as v', 'v.id', 'c.venue_id')
    .select(['c.id', 'c.venue_id', 'c.checked_in_at', 'c.subject_hash', 'v.latitude', 'v.longitude'])
    .where(sql<boolean>`c.subject_hash = any(${sql.raw('$1')})`)
    .where('c.checked_in_at', '>=', sql.raw<number>('$2'))
    .orderBy('c.checked_in_at')
    .orderBy('c.id')
    .compile().sql;
  return recentTextPostgres;
}

/** Find check-ins by id, without their ciphertext columns. */
export async function findCheckinRecords(db: Executor, ids: string[]): Promise<Omit<CheckinRow, 'id_number_enc' | 'phone_enc'>[]> {
  if (ids.length === 0) return [];
  const columns = CHECKIN_COLUMNS.filter((name): name is Exclude<(typeof CHECKIN_COLUMNS)[number], 'id_number_enc' | 'phone_enc'> => name !== 'id_number_enc' && name !== 'phone_enc');
  return db.selectFrom('venue_checkins').select(columns).where('id', 'in', ids).execute();
}

/**
 * List every check-in at or after `since`, with its venue's position. The query goes venue
 * by venue through the (venue_id, checked_in_at) index, because the table has no index on
 * time alone. SQLite keeps the order of a CROSS JOIN, so venues are the outer loop.
 */
export async function listCheckinsSince(db: Executor, since: number): Promise<RecentCheckinRow[]> {
  return db
    .selectFrom('venues as v')
    .crossJoin('venue_checkins as c')
    .whereRef('c.venue_id', '=', 'v.id')
    .selectAll('c')
    .select(['v.latitude', 'v.longitude'])
    .where('c.checked_in_at', '>=', since)
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
