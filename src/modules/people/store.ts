import type { Kysely, Transaction } from 'kysely';
import type { Database, PersonTable, SchoolTable, ClassTable, GuardianTable, StaffRole, ConsentTable } from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type SchoolRow = SchoolTable;
export type ClassRow = ClassTable;
export type PersonRow = PersonTable;
export type GuardianRow = GuardianTable;
export type ConsentRow = ConsentTable;

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

export async function insertConsent(db: Executor, row: ConsentRow): Promise<void> {
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
