import { CompiledQuery, PostgresAdapter, sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import { SqliteRowBatch } from '../../db/connection.js';
import type { Database, PersonTable, SchoolTable, ClassTable, GuardianTable, StaffRole, ConsentTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type SchoolRow = SchoolTable;
export type ClassRow = ClassTable;
export type PersonRow = PersonTable;
export type GuardianRow = GuardianTable;
export type ConsentRow = ConsentTable;

/** A console account as a consent record names it: the id, username and display name at the time. */
export interface ConsentActor {
  userId: string;
  username: string;
  displayName: string;
}

/** Build the recorded_by_* columns of a consent recorded by the account, all null without one. */
export function recordedByColumns(actor: ConsentActor | null | undefined) {
  return { recorded_by_user_id: actor?.userId ?? null, recorded_by_username: actor?.username ?? null, recorded_by_name: actor?.displayName ?? null };
}

/** Build the revoked_by_* columns of a consent revoked by the account, all null without one. */
export function revokedByColumns(actor: ConsentActor | null | undefined) {
  return { revoked_by_user_id: actor?.userId ?? null, revoked_by_username: actor?.username ?? null, revoked_by_name: actor?.displayName ?? null };
}

export async function findDistrictByCode(db: Executor, code: string) {
  return db.selectFrom('districts').selectAll().where('code', '=', code).executeTakeFirst();
}

export async function insertDistrict(db: Executor, row: Database['districts']): Promise<void> {
  await db.insertInto('districts').values(row).execute();
}

export async function findSchoolByCode(db: Executor, code: string): Promise<SchoolRow | undefined> {
  return db.selectFrom('schools').selectAll().where('code', '=', code).executeTakeFirst();
}

export async function findSchoolById(db: Executor, id: string): Promise<SchoolRow | undefined> {
  return db.selectFrom('schools').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listSchools(db: Executor): Promise<SchoolRow[]> {
  return db.selectFrom('schools').selectAll().orderBy('code').execute();
}

/** Id, code and name of the schools whose id or code is one of the keys. */
export async function listSchoolNamesByIdOrCode(db: Executor, keys: string[]): Promise<Array<{ id: string; code: string; name: string }>> {
  if (keys.length === 0) return [];
  return db
    .selectFrom('schools')
    .select(['id', 'code', 'name'])
    .where((eb) => eb.or([eb('id', 'in', keys), eb('code', 'in', keys)]))
    .execute();
}

export async function listDistrictNamesById(db: Executor, ids: string[]): Promise<Array<{ id: string; code: string; name: string }>> {
  if (ids.length === 0) return [];
  return db.selectFrom('districts').select(['id', 'code', 'name']).where('id', 'in', ids).execute();
}

/** Name of each person by id, with the name of their school and class (null for staff). */
export async function listPersonNamesById(db: Executor, ids: string[]): Promise<Array<{ id: string; name: string; school_name: string; class_name: string | null }>> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('persons')
    .innerJoin('schools', 'schools.id', 'persons.school_id')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .select(['persons.id', 'persons.name', 'schools.name as school_name', 'classes.name as class_name'])
    .where('persons.id', 'in', ids)
    .execute();
}

export async function listClassNamesById(db: Executor, ids: string[]): Promise<Array<{ id: string; name: string; school_name: string }>> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('classes')
    .innerJoin('schools', 'schools.id', 'classes.school_id')
    .select(['classes.id', 'classes.name', 'schools.name as school_name'])
    .where('classes.id', 'in', ids)
    .execute();
}

export async function insertSchool(db: Executor, row: SchoolRow): Promise<void> {
  await db.insertInto('schools').values(row).execute();
}

export async function updateSchoolSettings(db: Executor, schoolId: string, settings: string): Promise<void> {
  await db.updateTable('schools').set({ settings }).where('id', '=', schoolId).execute();
}

export async function listClasses(db: Executor, schoolId: string): Promise<ClassRow[]> {
  return db.selectFrom('classes').selectAll().where('school_id', '=', schoolId).orderBy('grade').orderBy('number').execute();
}

export async function findClass(db: Executor, schoolId: string, grade: number, number: number): Promise<ClassRow | undefined> {
  return db
    .selectFrom('classes')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('grade', '=', grade)
    .where('number', '=', number)
    .executeTakeFirst();
}

export async function findClassById(db: Executor, id: string): Promise<ClassRow | undefined> {
  return db.selectFrom('classes').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertClass(db: Executor, row: ClassRow): Promise<void> {
  await db.insertInto('classes').values(row).execute();
}

export async function setHeadTeacher(db: Executor, classId: string, personId: string | null): Promise<void> {
  await db.updateTable('classes').set({ head_teacher_id: personId }).where('id', '=', classId).execute();
}

export async function findPersonById(db: Executor, id: string): Promise<PersonRow | undefined> {
  return db.selectFrom('persons').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findPersonByIdNumberHash(db: Executor, schoolId: string, hash: string): Promise<PersonRow | undefined> {
  return db
    .selectFrom('persons')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('id_number_hash', '=', hash)
    .executeTakeFirst();
}

export async function findPersonByStaffNumber(db: Executor, schoolId: string, staffNumber: string): Promise<PersonRow | undefined> {
  return db
    .selectFrom('persons')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('staff_number', '=', staffNumber)
    .executeTakeFirst();
}

export async function findPersonByStudentNumber(db: Executor, schoolId: string, studentNumber: string): Promise<PersonRow | undefined> {
  return db
    .selectFrom('persons')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('student_number', '=', studentNumber)
    .executeTakeFirst();
}

export async function insertPerson(db: Executor, row: PersonRow): Promise<void> {
  await db.insertInto('persons').values(row).execute();
}

export async function updatePerson(db: Executor, id: string, changes: Partial<PersonRow>): Promise<void> {
  await db.updateTable('persons').set(changes).where('id', '=', id).execute();
}

/** Active people of a school, students first, ordered by class and name. */
export async function listActivePersons(db: Executor, schoolId: string): Promise<PersonRow[]> {
  return db
    .selectFrom('persons')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('active', '=', 1)
    .orderBy('kind', 'desc')
    .orderBy('class_id')
    .orderBy('name')
    .execute();
}

export async function listStaffByRole(db: Executor, schoolId: string, role: StaffRole): Promise<PersonRow[]> {
  return db
    .selectFrom('persons')
    .selectAll()
    .where('school_id', '=', schoolId)
    .where('staff_role', '=', role)
    .where('active', '=', 1)
    .execute();
}

export async function listGuardians(db: Executor, personId: string): Promise<GuardianRow[]> {
  return db.selectFrom('guardians').selectAll().where('person_id', '=', personId).orderBy('created_at').execute();
}

export async function listGuardiansOfPersons(db: Executor, personIds: string[]): Promise<GuardianRow[]> {
  if (personIds.length === 0) return [];
  return db.selectFrom('guardians').selectAll().where('person_id', 'in', personIds).execute();
}

export async function insertGuardian(db: Executor, row: GuardianRow): Promise<void> {
  await db.insertInto('guardians').values(row).execute();
}

export async function updateGuardian(db: Executor, id: string, changes: Partial<GuardianRow>): Promise<void> {
  await db.updateTable('guardians').set(changes).where('id', '=', id).execute();
}

/** Insert a consent. The recorder and revoker columns may be left out, which stores null. */
export async function insertConsent(db: Executor, row: Insertable<ConsentTable>): Promise<void> {
  await db.insertInto('consents').values(row).execute();
}

export async function listConsents(db: Executor, personId: string): Promise<ConsentRow[]> {
  return db.selectFrom('consents').selectAll().where('person_id', '=', personId).orderBy('given_at').execute();
}

/** True when the person has an unrevoked consent for the purpose. */
export async function hasConsent(db: Executor, personId: string, purpose: ConsentRow['purpose']): Promise<boolean> {
  const row = await db
    .selectFrom('consents')
    .select('id')
    .where('person_id', '=', personId)
    .where('purpose', '=', purpose)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

type BulkTable = 'classes' | 'persons' | 'guardians' | 'consents';

/** New rows of a roster import, written together by insertRosterRows. */
export interface RosterRows {
  classes: ClassRow[];
  persons: PersonRow[];
  guardians: GuardianRow[];
  consents: ConsentRow[];
}

/** Tables in the order their foreign keys need: classes, then persons, then the rows that name a person. */
const ROSTER_TABLES = ['classes', 'persons', 'guardians', 'consents'] as const;

/**
 * Insert the new rows of a roster import. PostgreSQL gets one statement for all four
 * tables: each table's rows arrive as one JSON parameter (json_populate_recordset) in a
 * data-modifying WITH clause. Foreign keys are checked at the end of that statement, so
 * persons may name classes inserted beside them. Multi-row VALUES measured several times
 * slower for 3,000 rows. SQLite runs one cached INSERT per row (see SqliteRowBatch),
 * table by table. The columns are named, so a column added later with a default keeps
 * its default.
 */
export async function insertRosterRows(db: Executor, rows: RosterRows): Promise<void> {
  await prepareRosterInsert(db, rows)();
}

/**
 * Build the statements of insertRosterRows now, with their JSON, and return a function
 * that runs them. A caller that queues batches builds each one while the database is
 * still busy with the one before.
 */
export function prepareRosterInsert(db: Executor, rows: RosterRows): () => Promise<void> {
  const tables = ROSTER_TABLES.filter((table) => rows[table].length > 0);
  if (tables.length === 0) return async () => undefined;

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    const inserts = tables.map((table) => insertFromJson(table, rows[table]));
    const last = inserts.pop()!;
    const earlier = inserts.map((insert, index) => sql`${sql.id(`inserted_${index}`)} as (${insert})`);
    const statement = (earlier.length === 0 ? last : sql`with ${sql.join(earlier)} ${last}`).compile(db);
    return async () => {
      await db.executeQuery(statement);
    };
  }

  const statements = tables.map((table) => insertRowByRow(db, table, rows[table]));
  return async () => {
    for (const statement of statements) await db.executeQuery(statement);
  };
}

/** Column names of a batch, taken from its first row. */
function columnsOf<T extends BulkTable>(rows: Array<Database[T]>): Array<keyof Database[T] & string> {
  return Object.keys(rows[0]) as Array<keyof Database[T] & string>;
}

function insertFromJson<T extends BulkTable>(table: T, rows: Array<Database[T]>) {
  const columns = sql.join(columnsOf(rows).map((name) => sql.id(name)));
  return sql`insert into ${sql.table(table)} (${columns}) select ${columns} from json_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)})`;
}

function insertRowByRow<T extends BulkTable>(db: Executor, table: T, rows: Array<Database[T]>): CompiledQuery {
  const names = columnsOf(rows);
  const placeholders = sql.join(names.map(() => sql.raw('?')));
  const { sql: text } = sql`insert into ${sql.table(table)} (${sql.join(names.map((name) => sql.id(name)))}) values (${placeholders})`.compile(db);
  const values = rows.map((row) => names.map((name) => row[name]));
  return CompiledQuery.raw(text, [new SqliteRowBatch(values)]);
}

/** List every person of a school, active or not. */
export async function listSchoolPersons(db: Executor, schoolId: string): Promise<PersonRow[]> {
  return db.selectFrom('persons').selectAll().where('school_id', '=', schoolId).execute();
}

/** Guardians of every person of a school, oldest first. */
export async function listSchoolGuardians(db: Executor, schoolId: string): Promise<GuardianRow[]> {
  return db
    .selectFrom('guardians')
    .innerJoin('persons', 'persons.id', 'guardians.person_id')
    .selectAll('guardians')
    .where('persons.school_id', '=', schoolId)
    .orderBy('guardians.created_at')
    .orderBy('guardians.id')
    .execute();
}

/** Unrevoked consents for a purpose of the people of a school. */
export async function listSchoolActiveConsents(db: Executor, schoolId: string, purpose: ConsentRow['purpose']): Promise<ConsentRow[]> {
  return db
    .selectFrom('consents')
    .innerJoin('persons', 'persons.id', 'consents.person_id')
    .selectAll('consents')
    .where('persons.school_id', '=', schoolId)
    .where('consents.purpose', '=', purpose)
    .where('consents.revoked_at', 'is', null)
    .execute();
}

/** Mark a consent revoked at `revokedAt`, by the console account when there is one. */
export async function revokeConsent(db: Executor, id: string, revokedAt: number, actor: ConsentActor | null): Promise<void> {
  await db.updateTable('consents').set({ revoked_at: revokedAt, ...revokedByColumns(actor) }).where('id', '=', id).execute();
}

export async function setPersonDingtalkUserId(db: Executor, id: string, dingtalkUserId: string, now: number): Promise<void> {
  await db.updateTable('persons').set({ dingtalk_user_id: dingtalkUserId, updated_at: now }).where('id', '=', id).execute();
}

export async function setGuardianDingtalkUserId(db: Executor, id: string, dingtalkUserId: string, now: number): Promise<void> {
  await db.updateTable('guardians').set({ dingtalk_user_id: dingtalkUserId, updated_at: now }).where('id', '=', id).execute();
}

export interface PersonSearch {
  kind?: PersonRow['kind'];
  /** Part of a name; matched literally (% and _ are not wildcards). */
  name?: string;
  classId?: string;
  limit: number;
  offset: number;
}

/** Active people of a school matching the search, by class and name, with the total count. */
export async function searchPersons(db: Executor, schoolId: string, search: PersonSearch): Promise<{ rows: PersonRow[]; total: number }> {
  let query = db.selectFrom('persons').where('school_id', '=', schoolId).where('active', '=', 1);
  if (search.kind) query = query.where('kind', '=', search.kind);
  if (search.classId) query = query.where('class_id', '=', search.classId);
  if (search.name) {
    const pattern = `%${search.name.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    query = query.where(sql<boolean>`name like ${pattern} escape '\\'`);
  }

  const total = await query.select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
  const rows = await query
    .selectAll()
    .orderBy('kind', 'desc')
    .orderBy('class_id')
    .orderBy('name')
    .orderBy('id')
    .limit(search.limit)
    .offset(search.offset)
    .execute();
  return { rows, total: Number(total.count) };
}

/** Classes of a school with the number of active pupils in each. */
export async function listClassesWithCounts(db: Executor, schoolId: string): Promise<Array<ClassRow & { pupils: number }>> {
  const rows = await db
    .selectFrom('classes')
    .leftJoin('persons', (join) => join.onRef('persons.class_id', '=', 'classes.id').on('persons.active', '=', 1).on('persons.kind', '=', 'student'))
    .selectAll('classes')
    .select((eb) => eb.fn.count<number | string>('persons.id').as('pupils'))
    .where('classes.school_id', '=', schoolId)
    // PostgreSQL allows the other columns of classes because classes.id is its primary key.
    .groupBy('classes.id')
    .orderBy('classes.grade')
    .orderBy('classes.number')
    .execute();
  return rows.map((row) => ({ ...row, pupils: Number(row.pupils) }));
}

/** List the persons among `personIds` with an unrevoked consent for the purpose. */
export async function listConsentedPersonIds(db: Executor, personIds: string[], purpose: ConsentRow['purpose']): Promise<string[]> {
  if (personIds.length === 0) return [];
  const rows = await db
    .selectFrom('consents')
    .select('person_id')
    .distinct()
    .where('person_id', 'in', personIds)
    .where('purpose', '=', purpose)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((row) => row.person_id);
}
