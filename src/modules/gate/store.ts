import { sql, type Kysely, type Transaction } from 'kysely';
import { prepareQuery, slotsOf } from '../../db/prepared.js';
import type {
  AlertTable,
  AttendanceTable,
  CardTable,
  Database,
  DeviceTable,
  GateEventTable,
  PersonKind,
  RecheckTable,
} from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type DeviceRow = DeviceTable;
export type CardRow = CardTable;
export type GateEventRow = GateEventTable;
export type AttendanceRow = AttendanceTable;
export type AlertRow = AlertTable;
export type RecheckRow = RecheckTable;

// --- devices ---

export async function insertDevice(db: Executor, row: DeviceRow): Promise<void> {
  await db.insertInto('devices').values(row).execute();
}

export async function findDeviceById(db: Executor, id: string): Promise<DeviceRow | undefined> {
  return db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listDevices(db: Executor, schoolId: string): Promise<DeviceRow[]> {
  return db.selectFrom('devices').selectAll().where('school_id', '=', schoolId).orderBy('created_at').execute();
}

export async function listActiveDevices(db: Executor): Promise<DeviceRow[]> {
  return db.selectFrom('devices').selectAll().where('active', '=', 1).execute();
}

export async function updateDevice(db: Executor, id: string, changes: Partial<DeviceRow>): Promise<void> {
  await db.updateTable('devices').set(changes).where('id', '=', id).execute();
}

/**
 * Raise last_seen_at to `seenAt` unless it is already later, so an event recorded with an
 * earlier clock (the demo's replayed morning) never makes a device look silent.
 */
export async function raiseLastSeenAt(db: Executor, id: string, seenAt: number): Promise<void> {
  await db
    .updateTable('devices')
    .set({ last_seen_at: seenAt })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', seenAt)]))
    .execute();
}

/** Raise last_serial_no to `serialNo` unless it is already higher. */
export async function raiseLastSerialNo(db: Executor, id: string, serialNo: number): Promise<void> {
  await db
    .updateTable('devices')
    .set({ last_serial_no: serialNo })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_serial_no', 'is', null), eb('last_serial_no', '<', serialNo)]))
    .execute();
}

// --- cards ---

/** Insert or move a card to a person; a card number belongs to one person per school. */
export async function upsertCard(db: Executor, row: CardRow): Promise<void> {
  await db
    .insertInto('cards')
    .values(row)
    .onConflict((oc) => oc.columns(['school_id', 'card_hash']).doUpdateSet({ person_id: row.person_id, created_at: row.created_at }))
    .execute();
}

export async function findCardPersonId(db: Executor, schoolId: string, cardHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('cards').select('person_id').where('school_id', '=', schoolId).where('card_hash', '=', cardHash).executeTakeFirst();
  return row?.person_id;
}

// --- people, read-only views the gate needs ---

/** The fields of a person the gate needs: kind, class and grade for the entry policy. */
export interface GatePerson {
  id: string;
  school_id: string;
  name: string;
  kind: PersonKind;
  active: number;
  class_id: string | null;
  class_name: string | null;
  grade: number | null;
  head_teacher_id: string | null;
}

function gatePersonQuery(db: Executor) {
  return db
    .selectFrom('persons')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .select([
      'persons.id',
      'persons.school_id',
      'persons.name',
      'persons.kind',
      'persons.active',
      'persons.class_id',
      'classes.name as class_name',
      'classes.grade',
      'classes.head_teacher_id',
    ]);
}

const gatePersonById = prepareQuery<{ personId: string }, GatePerson>((db, slot) => gatePersonQuery(db).where('persons.id', '=', slot('personId')));

export async function findGatePerson(db: Executor, personId: string): Promise<GatePerson | undefined> {
  return (await gatePersonById(db, { personId })).rows[0];
}

/** Find a person by the number a terminal stores for them: student number or staff number. */
export async function findGatePersonByNumber(db: Executor, schoolId: string, number: string): Promise<GatePerson | undefined> {
  return gatePersonQuery(db)
    .where('persons.school_id', '=', schoolId)
    .where((eb) => eb.or([eb('persons.student_number', '=', number), eb('persons.staff_number', '=', number)]))
    .executeTakeFirst();
}

export async function findGatePersonByIdNumberHash(db: Executor, schoolId: string, hash: string): Promise<GatePerson | undefined> {
  return gatePersonQuery(db).where('persons.school_id', '=', schoolId).where('persons.id_number_hash', '=', hash).executeTakeFirst();
}

/** Active pupils of a school with their class, for the arrival list. */
export async function listActivePupils(db: Executor, schoolId: string): Promise<GatePerson[]> {
  return gatePersonQuery(db)
    .where('persons.school_id', '=', schoolId)
    .where('persons.kind', '=', 'student')
    .where('persons.active', '=', 1)
    .orderBy('classes.grade')
    .orderBy('classes.number')
    .orderBy('persons.name')
    .execute();
}

// --- gate events ---

/** Insert an event; false when the device already sent this event id. */
const insertGateEventQuery = prepareQuery<GateEventRow>((db, slot, row) =>
  db
    .insertInto('gate_events')
    .values(slotsOf(row, slot))
    .onConflict((oc) => oc.columns(['device_id', 'event_id']).doNothing()),
);

/** Insert an entry attempt; false when the device already sent this event id. */
export async function insertGateEvent(db: Executor, row: GateEventRow): Promise<boolean> {
  const result = await insertGateEventQuery(db, row);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

export async function findGateEvent(db: Executor, deviceId: string, eventId: string): Promise<GateEventRow | undefined> {
  return db.selectFrom('gate_events').selectAll().where('device_id', '=', deviceId).where('event_id', '=', eventId).executeTakeFirst();
}

export async function findGateEventById(db: Executor, id: string): Promise<GateEventRow | undefined> {
  return db.selectFrom('gate_events').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function setSnapshotPath(db: Executor, id: string, path: string | null): Promise<void> {
  await db.updateTable('gate_events').set({ snapshot_path: path }).where('id', '=', id).execute();
}

export interface GateEventFilter {
  schoolId: string;
  day?: string;
  from?: number;
  to?: number;
  classId?: string;
  personId?: string;
  decision?: 'pass' | 'deny';
  reason?: string;
  /** Only events strictly before this occurred_at, for paging backwards. */
  before?: number;
  limit: number;
}

export interface GateEventListRow extends GateEventRow {
  person_name: string | null;
  class_name: string | null;
  device_name: string;
  lane: string | null;
}

/** Events of a school, newest first, with person, class and device names. */
export async function searchGateEvents(db: Executor, filter: GateEventFilter): Promise<GateEventListRow[]> {
  let query = db
    .selectFrom('gate_events')
    .innerJoin('devices', 'devices.id', 'gate_events.device_id')
    .leftJoin('persons', 'persons.id', 'gate_events.person_id')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .selectAll('gate_events')
    .select(['persons.name as person_name', 'classes.name as class_name', 'devices.name as device_name', 'devices.lane'])
    .where('gate_events.school_id', '=', filter.schoolId);

  if (filter.day) query = query.where('gate_events.day', '=', filter.day);
  if (filter.from !== undefined) query = query.where('gate_events.occurred_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('gate_events.occurred_at', '<', filter.to);
  if (filter.classId) query = query.where('persons.class_id', '=', filter.classId);
  if (filter.personId) query = query.where('gate_events.person_id', '=', filter.personId);
  if (filter.decision) query = query.where('gate_events.decision', '=', filter.decision);
  if (filter.reason) query = query.where('gate_events.reason', '=', filter.reason);
  if (filter.before !== undefined) query = query.where('gate_events.occurred_at', '<', filter.before);

  return query.orderBy('gate_events.occurred_at', 'desc').orderBy('gate_events.id', 'desc').limit(filter.limit).execute();
}

/** Events with a snapshot received before `before`, for the retention job. */
export async function listSnapshotsReceivedBefore(db: Executor, schoolId: string, before: number, limit: number): Promise<Array<{ id: string; snapshot_path: string }>> {
  const rows = await db
    .selectFrom('gate_events')
    .select(['id', 'snapshot_path'])
    .where('school_id', '=', schoolId)
    .where('snapshot_path', 'is not', null)
    .where('received_at', '<', before)
    .limit(limit)
    .execute();
  return rows.map((row) => ({ id: row.id, snapshot_path: row.snapshot_path! }));
}

// --- attendance ---

/**
 * Record a pass as the day's attendance. An earlier pass (a replayed event arriving
 * late) replaces a later one, so first_pass_at is always the earliest pass.
 */
const upsertAttendanceQuery = prepareQuery<AttendanceRow>((db, slot, row) =>
  db
    .insertInto('attendance')
    .values(slotsOf(row, slot))
    .onConflict((oc) =>
      oc
        .columns(['person_id', 'day'])
        .doUpdateSet({
          first_pass_at: slot('first_pass_at'),
          late: slot('late'),
          gate_event_id: slot('gate_event_id'),
          source: slot('source'),
        })
        .where('attendance.first_pass_at', '>', slot('first_pass_at')),
    ),
);

/** Record a person's arrival of the day; an earlier pass already stored is kept. */
export async function upsertAttendance(db: Executor, row: AttendanceRow): Promise<void> {
  await upsertAttendanceQuery(db, row);
}

export async function findAttendance(db: Executor, personId: string, day: string): Promise<AttendanceRow | undefined> {
  return db.selectFrom('attendance').selectAll().where('person_id', '=', personId).where('day', '=', day).executeTakeFirst();
}

export async function listAttendance(db: Executor, schoolId: string, day: string): Promise<AttendanceRow[]> {
  return db.selectFrom('attendance').selectAll().where('school_id', '=', schoolId).where('day', '=', day).execute();
}

// --- alerts and re-checks ---

/** Insert an alert; false when one with the same dedupe key exists. */
export async function insertAlert(db: Executor, row: AlertRow): Promise<boolean> {
  const result = await db.insertInto('alerts').values(row).onConflict((oc) => oc.column('dedupe_key').doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function findAlertById(db: Executor, id: string): Promise<AlertRow | undefined> {
  return db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateAlert(db: Executor, id: string, changes: Partial<AlertRow>): Promise<void> {
  await db.updateTable('alerts').set(changes).where('id', '=', id).execute();
}

export async function listAlerts(db: Executor, schoolId: string, options: { status?: AlertRow['status']; kind?: AlertRow['kind']; limit: number }): Promise<AlertRow[]> {
  let query = db.selectFrom('alerts').selectAll().where('school_id', '=', schoolId);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.kind) query = query.where('kind', '=', options.kind);
  return query.orderBy('created_at', 'desc').limit(options.limit).execute();
}

/** Open device_offline alerts of a device. */
export async function listOpenDeviceAlerts(db: Executor, deviceId: string): Promise<AlertRow[]> {
  return db.selectFrom('alerts').selectAll().where('device_id', '=', deviceId).where('kind', '=', 'device_offline').where('status', '!=', 'closed').execute();
}

export async function insertRecheck(db: Executor, row: RecheckRow): Promise<void> {
  await db.insertInto('rechecks').values(row).execute();
}

export async function listRechecks(db: Executor, alertId: string): Promise<RecheckRow[]> {
  return db.selectFrom('rechecks').selectAll().where('alert_id', '=', alertId).orderBy('measured_at').execute();
}

/** Count of events per decision on a day, for the lane overview. */
export async function countEventsByDecision(db: Executor, schoolId: string, day: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('gate_events')
    .select(['decision', sql<number>`count(*)`.as('count')])
    .where('school_id', '=', schoolId)
    .where('day', '=', day)
    .groupBy('decision')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.decision, Number(row.count)]));
}

/**
 * Find the newest event of a device on or after `sinceDay` ('YYYY-MM-DD'), or undefined.
 * The day bound lets the (school_id, day, occurred_at) index stop early for a silent device.
 */
export async function findLastEventOfDevice(
  db: Executor,
  schoolId: string,
  deviceId: string,
  sinceDay: string,
): Promise<Pick<GateEventRow, 'occurred_at' | 'decision' | 'reason'> | undefined> {
  return db
    .selectFrom('gate_events')
    .select(['occurred_at', 'decision', 'reason'])
    .where('school_id', '=', schoolId)
    .where('device_id', '=', deviceId)
    .where('day', '>=', sinceDay)
    .orderBy('day', 'desc')
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
