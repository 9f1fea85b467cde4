import type { AppContext } from '../../context.js';
import type { PersonTable as PersonRow, StaffRole } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { maskIdNumber, maskPhone } from '../../shared/crypto.js';
import { className } from './class-name.js';
import { parseClass } from './roster-class.js';
import { DEFAULT_SCHOOL_SETTINGS, parseSchoolSettings, type SchoolSettings } from './school-settings.js';
import * as store from './store.js';

const DEFAULT_DISTRICT = { code: 'default', name: '本区' };

export interface SchoolSummary {
  id: string;
  code: string;
  name: string;
  districtId: string;
  settings: SchoolSettings;
}

function toSchoolSummary(row: store.SchoolRow): SchoolSummary {
  return { id: row.id, code: row.code, name: row.name, districtId: row.district_id, settings: parseSchoolSettings(row.settings) };
}

/**
 * Create a school in the named district. Without a name it joins the only district there
 * is, or the default district when there is none or several.
 */
export async function createSchool(
  ctx: AppContext,
  input: { code: string; name: string; districtCode?: string; districtName?: string },
): Promise<SchoolSummary> {
  const code = input.code.trim();
  const name = input.name.trim();
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(code)) {
    throw new AppError('VALIDATION', { detail: `学校代码“${code}”只能包含字母、数字、下划线和连字符，长度 1-32` });
  }
  if (!name) throw new AppError('VALIDATION', { detail: '学校名称不能为空' });

  return ctx.db.transaction().execute(async (trx) => {
    if (await store.findSchoolByCode(trx, code)) {
      throw new AppError('CONFLICT', { detail: `学校代码 ${code} 已存在` });
    }
    // Without a district code the school joins the installation's only district, so it
    // shows on that district's screens. The default district is used when there is none
    // or there are several.
    const districts = input.districtCode === undefined ? await trx.selectFrom('districts').select('code').limit(2).execute() : [];
    const districtCode = input.districtCode ?? (districts.length === 1 ? districts[0]!.code : DEFAULT_DISTRICT.code);
    let district = await store.findDistrictByCode(trx, districtCode);
    if (!district) {
      district = { id: newId(), code: districtCode, name: input.districtName ?? DEFAULT_DISTRICT.name, created_at: ctx.now() };
      await store.insertDistrict(trx, district);
    }
    const row: store.SchoolRow = {
      id: newId(),
      district_id: district.id,
      code,
      name,
      settings: JSON.stringify(DEFAULT_SCHOOL_SETTINGS),
      created_at: ctx.now(),
    };
    await store.insertSchool(trx, row);
    return toSchoolSummary(row);
  });
}

export async function getSchoolByCodeOrThrow(ctx: AppContext, code: string): Promise<SchoolSummary> {
  const row = await store.findSchoolByCode(ctx.db, code);
  if (!row) throw new AppError('SCHOOL_NOT_FOUND', { code });
  return toSchoolSummary(row);
}

export async function getSchoolByIdOrThrow(ctx: AppContext, id: string): Promise<SchoolSummary> {
  const row = await store.findSchoolById(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', { what: '学校', value: id });
  return toSchoolSummary(row);
}

export async function listSchools(ctx: AppContext): Promise<SchoolSummary[]> {
  return (await store.listSchools(ctx.db)).map(toSchoolSummary);
}

/** Ids and codes of schools, districts, persons and classes whose names a caller wants to show. */
export interface DisplayNameKeys {
  /** School ids or school codes, mixed. */
  schools?: string[];
  districtIds?: string[];
  personIds?: string[];
  classIds?: string[];
}

/** Names found for DisplayNameKeys. A key with no record is missing from its map. */
export interface DisplayNames {
  /** Keyed by school id and by school code, so either finds the school. */
  schools: Map<string, { code: string; name: string }>;
  districts: Map<string, { code: string; name: string }>;
  persons: Map<string, { name: string; schoolName: string; className: string | null }>;
  classes: Map<string, { name: string; schoolName: string }>;
}

/**
 * Look up the names that identify records other modules refer to by id or code, such as
 * the targets of audit entries. Returns names only: no ID number or phone is read.
 */
export async function lookUpDisplayNames(ctx: AppContext, keys: DisplayNameKeys): Promise<DisplayNames> {
  const unique = (values: string[] | undefined) => [...new Set(values ?? [])];
  const [schools, districts, persons, classes] = await Promise.all([
    store.listSchoolNamesByIdOrCode(ctx.db, unique(keys.schools)),
    store.listDistrictNamesById(ctx.db, unique(keys.districtIds)),
    store.listPersonNamesById(ctx.db, unique(keys.personIds)),
    store.listClassNamesById(ctx.db, unique(keys.classIds)),
  ]);

  const names: DisplayNames = { schools: new Map(), districts: new Map(), persons: new Map(), classes: new Map() };
  for (const school of schools) {
    names.schools.set(school.id, { code: school.code, name: school.name });
    names.schools.set(school.code, { code: school.code, name: school.name });
  }
  for (const district of districts) names.districts.set(district.id, { code: district.code, name: district.name });
  for (const person of persons) names.persons.set(person.id, { name: person.name, schoolName: person.school_name, className: person.class_name });
  for (const klass of classes) names.classes.set(klass.id, { name: klass.name, schoolName: klass.school_name });
  return names;
}

export async function updateSchoolSettings(ctx: AppContext, schoolId: string, settings: SchoolSettings): Promise<void> {
  await store.updateSchoolSettings(ctx.db, schoolId, JSON.stringify(settings));
}

/** Find or create the class of a grade and number, named in the usual way (二(3)班). */
export async function ensureClass(ctx: AppContext, schoolId: string, grade: number, number: number): Promise<store.ClassRow> {
  const existing = await store.findClass(ctx.db, schoolId, grade, number);
  if (existing) return existing;
  const row: store.ClassRow = { id: newId(), school_id: schoolId, grade, number, name: className(grade, number), head_teacher_id: null };
  await store.insertClass(ctx.db, row);
  return row;
}

export interface NewPerson {
  schoolId: string;
  kind: PersonRow['kind'];
  name: string;
  gender?: string | null;
  idNumber?: string | null;
  birthDate?: string | null;
  studentNumber?: string | null;
  staffNumber?: string | null;
  classId?: string | null;
  staffRole?: StaffRole | null;
  phone?: string | null;
  dingtalkUserId?: string | null;
}

/** Build a person row with the ID number and phone encrypted, hashed and masked. */
export function buildPersonRow(ctx: AppContext, input: NewPerson, id = newId()): PersonRow {
  const now = ctx.now();
  return {
    id,
    school_id: input.schoolId,
    kind: input.kind,
    name: input.name,
    gender: input.gender ?? null,
    id_number_enc: input.idNumber ? ctx.cipher.encrypt(input.idNumber) : null,
    id_number_hash: input.idNumber ? ctx.cipher.hash(input.idNumber) : null,
    id_number_masked: input.idNumber ? maskIdNumber(input.idNumber) : null,
    birth_date: input.birthDate ?? null,
    student_number: input.studentNumber ?? null,
    staff_number: input.staffNumber ?? null,
    class_id: input.classId ?? null,
    staff_role: input.staffRole ?? null,
    phone_enc: input.phone ? ctx.cipher.encrypt(input.phone) : null,
    phone_hash: input.phone ? ctx.cipher.hash(input.phone) : null,
    phone_masked: input.phone ? maskPhone(input.phone) : null,
    dingtalk_user_id: input.dingtalkUserId ?? null,
    active: 1,
    created_at: now,
    updated_at: now,
  };
}

export async function addPerson(ctx: AppContext, input: NewPerson): Promise<PersonRow> {
  const row = buildPersonRow(ctx, input);
  await store.insertPerson(ctx.db, row);
  return row;
}

/** A person whose health code can be fetched: active, with an ID number and health-code consent. */
export interface SyncTarget {
  personId: string;
  idNumber: string;
}

export async function listSyncTargets(ctx: AppContext, schoolId: string): Promise<SyncTarget[]> {
  const rows = await ctx.db
    .selectFrom('persons')
    .innerJoin('consents', 'consents.person_id', 'persons.id')
    .select(['persons.id', 'persons.id_number_enc'])
    .where('persons.school_id', '=', schoolId)
    .where('persons.active', '=', 1)
    .where('persons.id_number_enc', 'is not', null)
    .where('consents.purpose', '=', 'health_code')
    .where('consents.revoked_at', 'is', null)
    .distinct()
    .orderBy('persons.id')
    .execute();
  return rows.map((row) => ({ personId: row.id, idNumber: ctx.cipher.decrypt(row.id_number_enc!) }));
}

/** Who must hear about a person: their class, its head teacher and their guardians. */
export interface PersonContacts {
  person: PersonRow;
  className: string | null;
  grade: number | null;
  headTeacher: PersonRow | null;
  guardians: store.GuardianRow[];
}

export async function getContacts(ctx: AppContext, personIds: string[]): Promise<Map<string, PersonContacts>> {
  const result = new Map<string, PersonContacts>();
  if (personIds.length === 0) return result;

  const persons = await ctx.db.selectFrom('persons').selectAll().where('id', 'in', personIds).execute();
  const classIds = [...new Set(persons.map((p) => p.class_id).filter((id): id is string => id !== null))];
  const classes = classIds.length ? await ctx.db.selectFrom('classes').selectAll().where('id', 'in', classIds).execute() : [];
  const teacherIds = [...new Set(classes.map((c) => c.head_teacher_id).filter((id): id is string => id !== null))];
  const teachers = teacherIds.length ? await ctx.db.selectFrom('persons').selectAll().where('id', 'in', teacherIds).execute() : [];
  const guardians = await store.listGuardiansOfPersons(ctx.db, personIds);

  const classById = new Map(classes.map((c) => [c.id, c]));
  const teacherById = new Map(teachers.map((t) => [t.id, t]));
  // Grouped once: filtering the whole list per person took 200 ms for the 3,003 people of the demo school.
  const guardiansByPerson = new Map<string, store.GuardianRow[]>();
  for (const guardian of guardians) {
    const list = guardiansByPerson.get(guardian.person_id);
    if (list) list.push(guardian);
    else guardiansByPerson.set(guardian.person_id, [guardian]);
  }
  for (const person of persons) {
    const klass = person.class_id ? classById.get(person.class_id) : undefined;
    result.set(person.id, {
      person,
      className: klass?.name ?? null,
      grade: klass?.grade ?? null,
      headTeacher: klass?.head_teacher_id ? (teacherById.get(klass.head_teacher_id) ?? null) : null,
      guardians: guardiansByPerson.get(person.id) ?? [],
    });
  }
  return result;
}

/** The school's management (principal and epidemic officer), who hear of every change. */
export async function listManagement(ctx: AppContext, schoolId: string): Promise<PersonRow[]> {
  return store.listStaffByRole(ctx.db, schoolId, 'management');
}

export async function listStaffByRole(ctx: AppContext, schoolId: string, role: StaffRole): Promise<PersonRow[]> {
  return store.listStaffByRole(ctx.db, schoolId, role);
}

/** A person as lists show them: ID number and phones masked, never decrypted. */
export interface PersonListItem {
  id: string;
  kind: PersonRow['kind'];
  name: string;
  gender: string | null;
  classId: string | null;
  className: string | null;
  studentNumber: string | null;
  staffNumber: string | null;
  staffRole: StaffRole | null;
  idNumberMasked: string | null;
  phoneMasked: string | null;
  hasDingtalk: boolean;
  healthCodeConsent: boolean;
  guardians: Array<{ name: string; relation: string | null; phoneMasked: string | null; hasDingtalk: boolean }>;
}

export interface PersonListQuery {
  kind?: PersonRow['kind'];
  /** Part of a name. */
  name?: string;
  /** A class as rosters write it (一(1)班, 101, 1-1) or a class id. */
  className?: string;
  limit: number;
  offset: number;
}

/** Active people of a school, filtered by name, class and kind, with masked personal data. */
export async function listPersons(ctx: AppContext, schoolId: string, query: PersonListQuery): Promise<{ total: number; items: PersonListItem[] }> {
  const classes = await store.listClasses(ctx.db, schoolId);
  let classId: string | undefined;
  if (query.className) {
    const parsed = parseClass(query.className);
    const klass = parsed.ok
      ? classes.find((c) => c.grade === parsed.grade && c.number === parsed.number)
      : classes.find((c) => c.id === query.className || c.name === query.className);
    if (!klass) return { total: 0, items: [] };
    classId = klass.id;
  }

  const { rows, total } = await store.searchPersons(ctx.db, schoolId, { kind: query.kind, name: query.name?.trim() || undefined, classId, limit: query.limit, offset: query.offset });
  const ids = rows.map((row) => row.id);
  const guardians = await store.listGuardiansOfPersons(ctx.db, ids);
  const consented = new Set(await store.listConsentedPersonIds(ctx.db, ids, 'health_code'));
  const classById = new Map(classes.map((c) => [c.id, c]));

  const items = rows.map((row): PersonListItem => ({
    id: row.id,
    kind: row.kind,
    name: row.name,
    gender: row.gender,
    classId: row.class_id,
    className: row.class_id ? (classById.get(row.class_id)?.name ?? null) : null,
    studentNumber: row.student_number,
    staffNumber: row.staff_number,
    staffRole: row.staff_role,
    idNumberMasked: row.id_number_masked,
    phoneMasked: row.phone_masked,
    hasDingtalk: row.dingtalk_user_id !== null,
    healthCodeConsent: consented.has(row.id),
    guardians: guardians
      .filter((g) => g.person_id === row.id)
      .sort((a, b) => a.created_at - b.created_at)
      .map((g) => ({
        name: g.name,
        relation: g.relation,
        phoneMasked: g.phone_masked ?? (g.phone_enc ? maskPhone(ctx.cipher.decrypt(g.phone_enc)) : null),
        hasDingtalk: g.dingtalk_user_id !== null,
      })),
  }));
  return { total, items };
}

export interface ClassSummary {
  id: string;
  grade: number;
  number: number;
  name: string;
  headTeacher: { id: string; name: string } | null;
  /** Active pupils in the class. */
  pupils: number;
}

/** Classes of a school by grade and number, with head teacher and pupil count. */
export async function listClassSummaries(ctx: AppContext, schoolId: string): Promise<ClassSummary[]> {
  const classes = await store.listClassesWithCounts(ctx.db, schoolId);
  const teacherIds = [...new Set(classes.map((c) => c.head_teacher_id).filter((id): id is string => id !== null))];
  const teachers = teacherIds.length ? await ctx.db.selectFrom('persons').select(['id', 'name']).where('id', 'in', teacherIds).execute() : [];
  const teacherById = new Map(teachers.map((t) => [t.id, t]));

  return classes.map((c) => {
    const teacher = c.head_teacher_id ? teacherById.get(c.head_teacher_id) : undefined;
    return { id: c.id, grade: c.grade, number: c.number, name: c.name, headTeacher: teacher ? { id: teacher.id, name: teacher.name } : null, pupils: c.pupils };
  });
}

/** Whether the person has an unrevoked consent for the purpose (the face module asks before enrolling). */
export async function hasConsent(ctx: AppContext, personId: string, purpose: store.ConsentRow['purpose']): Promise<boolean> {
  return store.hasConsent(ctx.db, personId, purpose);
}

/** A person by internal id, or undefined. */
export async function findPerson(ctx: AppContext, personId: string): Promise<PersonRow | undefined> {
  return store.findPersonById(ctx.db, personId);
}

/**
 * A person of the school named by a student number, a staff number or an 18-character ID
 * number (matched through its keyed hash), or undefined. Batch photo enrolment names its
 * files this way.
 */
export async function findPersonByNumber(ctx: AppContext, schoolId: string, number: string): Promise<PersonRow | undefined> {
  const text = number.trim();
  if (/^\d{17}[\dXx]$/.test(text)) {
    return store.findPersonByIdNumberHash(ctx.db, schoolId, ctx.cipher.hash(text.toUpperCase()));
  }
  return (await store.findPersonByStudentNumber(ctx.db, schoolId, text)) ?? (await store.findPersonByStaffNumber(ctx.db, schoolId, text));
}

/** Ids of the school's active persons with an unrevoked consent for the purpose. */
export async function listConsentedPersonIdsOfSchool(ctx: AppContext, schoolId: string, purpose: store.ConsentRow['purpose']): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('persons')
    .innerJoin('consents', 'consents.person_id', 'persons.id')
    .select('persons.id')
    .where('persons.school_id', '=', schoolId)
    .where('persons.active', '=', 1)
    .where('consents.purpose', '=', purpose)
    .where('consents.revoked_at', 'is', null)
    .distinct()
    .execute();
  return rows.map((row) => row.id);
}

/** Where a person of a school belongs, without personal data: what counts by class need. */
export interface PersonPlacement {
  id: string;
  kind: PersonRow['kind'];
  classId: string | null;
  active: boolean;
  hasIdNumber: boolean;
}

/** Every person of a school (active or not) with kind and class only; no decryption. */
export async function listPersonPlacements(ctx: AppContext, schoolId: string): Promise<PersonPlacement[]> {
  const rows = await ctx.db
    .selectFrom('persons')
    .select(['id', 'kind', 'class_id', 'active', (eb) => eb('id_number_enc', 'is not', null).as('has_id_number')])
    .where('school_id', '=', schoolId)
    .execute();
  return rows.map((row) => ({ id: row.id, kind: row.kind, classId: row.class_id, active: row.active === 1, hasIdNumber: Boolean(row.has_id_number) }));
}

/** Classes of a school by grade and number. */
export async function listClasses(ctx: AppContext, schoolId: string): Promise<store.ClassRow[]> {
  return store.listClasses(ctx.db, schoolId);
}

/** A class of the school by id, or NOT_FOUND naming the id. */
export async function getClassOfSchoolOrThrow(ctx: AppContext, schoolId: string, classId: string): Promise<store.ClassRow> {
  const klass = await store.findClassById(ctx.db, classId);
  if (!klass || klass.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '班级', value: classId });
  return klass;
}

/**
 * Ids of the persons whose notices belong to a class: its pupils (active or not, since
 * a notice about a pupil who left still names them) and its head teacher. Notices to a
 * pupil's guardians carry the pupil's id, so they are included.
 */
export async function listClassNoticePersonIds(ctx: AppContext, classId: string): Promise<string[]> {
  const klass = await store.findClassById(ctx.db, classId);
  const pupils = await ctx.db.selectFrom('persons').select('id').where('class_id', '=', classId).execute();
  const ids = pupils.map((row) => row.id);
  if (klass?.head_teacher_id) ids.push(klass.head_teacher_id);
  return ids;
}
