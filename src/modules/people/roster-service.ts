import type { Transaction } from 'kysely';
import type { AppContext } from '../../context.js';
import type { Database, StaffRole } from '../../db/schema.js';
import { maskIdNumber, maskPhone } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import { schoolDay } from '../../shared/time.js';
import { MAX_CLASS_ENTRIES_LISTED, classListHint, className, describeClassNumbers } from './class-name.js';
import { gradeLabel, normalizeClassText, type ClassRef } from './roster-class.js';
import { EXPORT_FIELDS, STAFF_ROLE_LABELS, exportHeader, type RosterField, type RosterKind } from './roster-fields.js';
import { ROSTER_CONTENT_TYPES, writeRosterCsv, writeRosterXlsx, type RosterFileFormat, type RosterTable } from './roster-export.js';
import { readRosterFile } from './roster-read.js';
import { parseRosterSheets, type RejectedRow, type RosterProblem, type StaffRecord, type StudentRecord } from './roster-rows.js';
import {
  describeConsentChange,
  describeGuardianChanges,
  describeHeadTeacherChange,
  describePersonChanges,
  nameChangeWarning,
  type RosterFieldChange,
  type RosterUpdate,
} from './roster-updates.js';
import { buildPersonRow, getSchoolByCodeOrThrow, type SchoolSummary } from './service.js';
import * as store from './store.js';

/**
 * Roster import and export. An import loads every good row of a file in one transaction:
 * pupils are matched by the keyed hash of their ID number and staff by 工号, guardians
 * and consents are added or updated. A row naming a class the school does not have is
 * rejected, unless the import is asked to create new classes, so a typo in a class name
 * cannot create a class. Importing the same file again changes nothing.
 */

/** Finds the DingTalk user id of a mobile number; undefined when DingTalk has no such user. */
export type DingTalkLookup = (mobile: string) => Promise<string | undefined>;

export interface RosterImportCounts {
  /** Non-empty rows below the header. */
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  classesCreated: number;
}

/** Hint in the reason of a row naming a missing class, for console users: how to allow new classes. */
export const CREATE_CLASSES_HINT_CONSOLE = '在导入时勾选“自动新建班级”';

export interface DingTalkLookupSummary {
  lookedUp: number;
  found: number;
  notFound: number;
  failed: number;
  /** Lookups not tried because too many failed. */
  skipped: number;
}

export interface RosterImportResult {
  kind: RosterKind;
  format: 'xlsx' | 'csv';
  sheet: string;
  headerRow: number;
  counts: RosterImportCounts;
  rejected: RejectedRow[];
  warnings: string[];
  /** Names of the classes this import created, by grade and number. */
  createdClasses: string[];
  /** Null when no lookup function was given (DingTalk not configured). */
  dingtalk: DingTalkLookupSummary | null;
  /** Every updated person with what changed, in row order; one entry per counts.updated. */
  updates: RosterUpdate[];
}

export interface ImportRosterOptions {
  /** Looks up DingTalk user ids of phones that have none, after the import commits. */
  lookupDingTalkUserId?: DingTalkLookup;
  /**
   * Create the classes that rows name and the school does not have. Off by default: such
   * rows are rejected with a reason naming the class.
   */
  createClasses?: boolean;
  /**
   * Hint for allowing new classes, in the reason of a rejected row and in the summary
   * warning. CREATE_CLASSES_HINT_CONSOLE when not given.
   */
  createClassesHint?: string;
  /** Console account importing, stored on the consents the import records and revokes. */
  actor?: store.ConsentActor;
}

/** After this many failed lookups the rest are skipped: DingTalk is probably down or misconfigured. */
const MAX_LOOKUP_FAILURES = 5;
const LOOKUP_CONCURRENCY = 4;
/** Row numbers listed in one warning; longer lists end with 等. */
const MAX_ROWS_IN_WARNING = 20;

const CONSENT_NOTE = '花名册导入';

/** A phone whose DingTalk user id is unknown, found while importing. */
interface LookupCandidate {
  row: number;
  table: 'persons' | 'guardians';
  id: string;
  phone: string;
}

interface ApplyOutcome {
  created: number;
  updated: number;
  unchanged: number;
  updates: RosterUpdate[];
  classesCreated: ClassRef[];
  rejected: RejectedRow[];
  lookups: LookupCandidate[];
  /** Missing classes (by display name) that rows were rejected for. */
  missingClasses: Set<string>;
  /** Rows rejected because they name a missing class. */
  missingClassRows: number[];
}

/** Settings of applyStudents and applyStaff besides the rows. */
interface ApplyOptions {
  /** Code of the school importing, named by the hint on where to see every class. */
  schoolCode: string;
  createClasses: boolean;
  createClassesHint: string;
  /** Header of the class and 班主任班级 columns as the file writes them. */
  columnHeaders: Partial<Record<RosterField, string>>;
  actor: store.ConsentActor | null;
}

/**
 * Import a pupil or staff roster into a school. Throws SCHOOL_NOT_FOUND, ROSTER_TOO_LARGE
 * or ROSTER_UNREADABLE when nothing could be read. Bad rows do not throw: the result lists
 * them, and the good rows load.
 */
export async function importRoster(
  ctx: AppContext,
  schoolCode: string,
  bytes: Uint8Array,
  options: ImportRosterOptions = {},
): Promise<RosterImportResult> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const workbook = await readRosterFile(bytes, { maxFileMb: ctx.config.roster.maxFileMb });
  const parsed = parseRosterSheets(workbook.sheets, { today: schoolDay(ctx.now()) });
  const applyOptions: ApplyOptions = {
    schoolCode: school.code,
    createClasses: options.createClasses ?? false,
    createClassesHint: options.createClassesHint ?? CREATE_CLASSES_HINT_CONSOLE,
    columnHeaders: parsed.columnHeaders,
    actor: options.actor ?? null,
  };

  const outcome = await ctx.db.transaction().execute((trx) =>
    parsed.kind === 'student'
      ? applyStudents(ctx, trx, school, parsed.records, applyOptions)
      : applyStaff(ctx, trx, school, parsed.records, applyOptions),
  );

  const rejected = [...parsed.rejected, ...outcome.rejected].sort((a, b) => a.row - b.row);
  const warnings = [...parsed.warnings];
  const renamedWarning = nameChangeWarning(outcome.updates, parsed.kind);
  if (renamedWarning) warnings.push(renamedWarning);
  if (outcome.missingClasses.size > 0) warnings.push(missingClassesWarning(outcome, applyOptions.createClassesHint));
  let dingtalk: DingTalkLookupSummary | null = null;
  if (options.lookupDingTalkUserId) {
    dingtalk = await lookUpDingTalkUserIds(ctx, outcome.lookups, options.lookupDingTalkUserId, warnings);
  }

  const counts: RosterImportCounts = {
    rows: parsed.dataRows,
    created: outcome.created,
    updated: outcome.updated,
    unchanged: outcome.unchanged,
    rejected: rejected.length,
    classesCreated: outcome.classesCreated.length,
  };
  const createdClasses = [...outcome.classesCreated].sort((a, b) => a.grade - b.grade || a.number - b.number).map((ref) => className(ref.grade, ref.number));
  ctx.log.info({ school: school.code, kind: parsed.kind, format: workbook.format, ...counts, createClasses: applyOptions.createClasses }, 'roster imported');
  return { kind: parsed.kind, format: workbook.format, sheet: parsed.sheetName, headerRow: parsed.headerRow, counts, rejected, warnings, createdClasses, dingtalk, updates: outcome.updates };
}

/** Summarise the rows rejected for naming classes the school does not have. */
function missingClassesWarning(outcome: ApplyOutcome, hint: string): string {
  const rows = outcome.missingClassRows.length;
  const names = [...outcome.missingClasses];
  const listed = names.slice(0, MAX_CLASS_ENTRIES_LISTED).join('、') + (names.length > MAX_CLASS_ENTRIES_LISTED ? ` 等 ${names.length} 个班，见各行的原因` : '');
  return `${rows} 行因班级不存在未导入（${listed}）；请核对班级名称，如确需新建这些班级，请${hint}`;
}

/** The school's classes by grade and number, creating missing ones in memory first. */
class ClassBook {
  private readonly byKey = new Map<string, store.ClassRow>();
  readonly created: store.ClassRow[] = [];

  constructor(
    private readonly schoolId: string,
    rows: store.ClassRow[],
  ) {
    for (const row of rows) this.byKey.set(`${row.grade}-${row.number}`, row);
  }

  find(ref: ClassRef): store.ClassRow | undefined {
    return this.byKey.get(`${ref.grade}-${ref.number}`);
  }

  /** Name of the class with this id; null for no class or one not in the book. */
  nameOf(classId: string | null): string | null {
    if (classId === null) return null;
    return this.all().find((row) => row.id === classId)?.name ?? null;
  }

  /** Class numbers of a grade that existed before the import, ascending. */
  numbersOfGrade(grade: number): number[] {
    const createdIds = new Set(this.created.map((row) => row.id));
    return this.all()
      .filter((row) => row.grade === grade && !createdIds.has(row.id))
      .map((row) => row.number)
      .sort((a, b) => a - b);
  }

  ensure(ref: ClassRef): store.ClassRow {
    const key = `${ref.grade}-${ref.number}`;
    const existing = this.byKey.get(key);
    if (existing) return existing;

    const row: store.ClassRow = { id: newId(), school_id: this.schoolId, grade: ref.grade, number: ref.number, name: className(ref.grade, ref.number), head_teacher_id: null };
    this.byKey.set(key, row);
    this.created.push(row);
    return row;
  }

  all(): store.ClassRow[] {
    return [...this.byKey.values()];
  }
}

/** Rows to write in the transaction: new rows go out in batches, updates at the end. */
interface PendingWrites {
  persons: store.PersonRow[];
  guardians: store.GuardianRow[];
  consents: store.ConsentRow[];
  personUpdates: Array<{ id: string; changes: Partial<store.PersonRow> }>;
  guardianUpdates: Array<{ id: string; changes: Partial<store.GuardianRow> }>;
  revokedConsentIds: string[];
}

function emptyWrites(): PendingWrites {
  return { persons: [], guardians: [], consents: [], personUpdates: [], guardianUpdates: [], revokedConsentIds: [] };
}

/**
 * Roster rows handled between two batches of inserts. On PostgreSQL the server inserts
 * one batch while Node validates, hashes and encrypts the next. On SQLite the batches
 * change nothing. For 3,000 rows (bench/import-roster.ts on 2 shared cores), one batch
 * at the end was about 50 ms slower than batches of 500. Other sizes differed by less
 * than the noise of that machine.
 */
const INSERT_BATCH_ROWS = 500;

/**
 * Roster rows between two turns of the event loop. A batch queued behind another only
 * starts when Node notices that the one before has finished, which needs such a turn.
 */
const YIELD_EVERY_ROWS = 100;

/**
 * Sends the new rows of PendingWrites to the database in batches while the import goes
 * on. Batches run in order, so a person's class and a guardian's person are inserted
 * first. After a failure the later batches are skipped and finish() throws it.
 */
class InsertPipeline {
  private chain: Promise<void> = Promise.resolve();
  private readonly sent = { classes: 0, persons: 0, guardians: 0, consents: 0 };

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly classes: ClassBook,
    private readonly writes: PendingWrites,
  ) {}

  /**
   * Call before handling the record at `index`: queues the rows so far every
   * INSERT_BATCH_ROWS records. Every YIELD_EVERY_ROWS records it returns a promise that
   * resolves on the next turn of the event loop, for the caller to await.
   */
  beforeRecord(index: number): Promise<void> | undefined {
    if (index === 0) return undefined;
    if (index % INSERT_BATCH_ROWS === 0) this.send();
    if (index % YIELD_EVERY_ROWS !== 0) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Send the remaining rows and wait for every batch; throws the first failure. */
  async finish(): Promise<void> {
    this.send();
    await this.chain;
  }

  /** Queue an insert of the rows added since the last send; its statements and JSON are built now. */
  private send(): void {
    const rows: store.RosterRows = {
      classes: this.classes.created.slice(this.sent.classes),
      persons: this.writes.persons.slice(this.sent.persons),
      guardians: this.writes.guardians.slice(this.sent.guardians),
      consents: this.writes.consents.slice(this.sent.consents),
    };
    this.sent.classes = this.classes.created.length;
    this.sent.persons = this.writes.persons.length;
    this.sent.guardians = this.writes.guardians.length;
    this.sent.consents = this.writes.consents.length;
    if (rows.classes.length + rows.persons.length + rows.guardians.length + rows.consents.length === 0) return;

    this.chain = this.chain.then(store.prepareRosterInsert(this.trx, rows));
    // A handler now, so that a failure is not reported as unhandled before finish() awaits it.
    this.chain.catch(() => undefined);
  }
}

/** Write the updates and revocations, after every new row is in. */
async function writeUpdates(trx: Transaction<Database>, writes: PendingWrites, now: number, actor: store.ConsentActor | null): Promise<void> {
  for (const update of writes.personUpdates) await store.updatePerson(trx, update.id, update.changes);
  for (const update of writes.guardianUpdates) await store.updateGuardian(trx, update.id, update.changes);
  for (const id of writes.revokedConsentIds) await store.revokeConsent(trx, id, now, actor);
}

/*
 * Guardians and consents belong to persons, so a school without persons has none, and
 * the first import into a school skips both joins. On PostgreSQL the consents join
 * scanned the whole consents table when its statistics were not yet collected, which
 * took 26 ms with 18,000 consents in the database.
 */

async function listGuardiansOf(trx: Transaction<Database>, schoolId: string, persons: store.PersonRow[]): Promise<store.GuardianRow[]> {
  return persons.length === 0 ? [] : store.listSchoolGuardians(trx, schoolId);
}

async function listActiveConsentsOf(trx: Transaction<Database>, schoolId: string, persons: store.PersonRow[]): Promise<store.ConsentRow[]> {
  return persons.length === 0 ? [] : store.listSchoolActiveConsents(trx, schoolId, 'health_code');
}

/** Consent changes for a stated 是/否; returns true when something changes. */
function applyConsent(
  ctx: AppContext,
  writes: PendingWrites,
  activeConsents: Map<string, store.ConsentRow>,
  personId: string,
  consent: boolean | null,
  giver: { givenBy: 'self' | 'guardian'; guardianId: string | null },
  actor: store.ConsentActor | null,
): boolean {
  if (consent === null) return false;

  const active = activeConsents.get(personId);
  if (consent && !active) {
    const row: store.ConsentRow = {
      id: newId(),
      person_id: personId,
      purpose: 'health_code',
      given_by: giver.givenBy,
      guardian_id: giver.guardianId,
      given_at: ctx.now(),
      revoked_at: null,
      note: CONSENT_NOTE,
      ...store.recordedByColumns(actor),
      ...store.revokedByColumns(null),
    };
    writes.consents.push(row);
    activeConsents.set(personId, row);
    return true;
  }
  if (!consent && active) {
    writes.revokedConsentIds.push(active.id);
    activeConsents.delete(personId);
    return true;
  }
  return false;
}

/** Compute the changed columns of a person row; empty when the row already matches. */
function diffPerson(existing: store.PersonRow, desired: Partial<store.PersonRow>): Partial<store.PersonRow> {
  const changes: Partial<store.PersonRow> = {};
  for (const [key, value] of Object.entries(desired) as Array<[keyof store.PersonRow, unknown]>) {
    if (value !== undefined && existing[key] !== value) (changes as Record<string, unknown>)[key] = value;
  }
  return changes;
}

/** Encrypted, hashed and masked columns of a phone number whose keyed hash is known. */
function phoneColumns(ctx: AppContext, phone: string, hash: string) {
  return { phone_enc: ctx.cipher.encrypt(phone), phone_hash: hash, phone_masked: maskPhone(phone) };
}

/** Encrypted, hashed and masked columns of an ID number whose keyed hash is known. */
function idNumberColumns(ctx: AppContext, idNumber: string, hash: string) {
  return { id_number_enc: ctx.cipher.encrypt(idNumber), id_number_hash: hash, id_number_masked: maskIdNumber(idNumber) };
}

function rejectRow(row: number, column: string, value: string, reason: string): RejectedRow {
  return { row, problems: [{ column, value, reason }] };
}

/**
 * Find the class a row names, or create it in memory when the import may create classes.
 * Otherwise, when the school has no such class, record the problem and return undefined.
 */
function resolveClass(
  classes: ClassBook,
  ref: ClassRef,
  written: string,
  column: string,
  options: ApplyOptions,
  outcome: ApplyOutcome,
  problems: RosterProblem[],
): store.ClassRow | undefined {
  const existing = classes.find(ref);
  if (existing) return existing;
  if (options.createClasses) {
    const created = classes.ensure(ref);
    if (!outcome.classesCreated.some((c) => c.grade === ref.grade && c.number === ref.number)) outcome.classesCreated.push(ref);
    return created;
  }

  const name = className(ref.grade, ref.number);
  outcome.missingClasses.add(name);
  problems.push({ column, value: written, reason: missingClassReason(classes, ref, written, options) });
  return undefined;
}

/**
 * Say that the class does not exist and what to do, with the classes the grade has, so
 * that a typo (二(13)班 for 二(3)班) is easy to spot.
 */
function missingClassReason(classes: ClassBook, ref: ClassRef, written: string, options: ApplyOptions): string {
  const name = className(ref.grade, ref.number);
  const quotedName = normalizeClassText(written) === name || written === '' ? `“${name}”` : `“${written}”（即${name}）`;
  const numbers = classes.numbersOfGrade(ref.grade);
  let existing: string;
  if (classes.all().length === 0) existing = '本校还没有任何班级';
  else if (numbers.length === 0) existing = `本校还没有${gradeLabel(ref.grade)}的班级`;
  else {
    const listed = describeClassNumbers(ref.grade, numbers);
    existing = listed ? `本校${gradeLabel(ref.grade)}现有${listed}` : `本校${gradeLabel(ref.grade)}共有 ${numbers.length} 个班，${classListHint(options.schoolCode)}`;
  }
  return `班级${quotedName}不存在，请检查拼写，或${options.createClassesHint}（${existing}）`;
}

async function applyStudents(
  ctx: AppContext,
  trx: Transaction<Database>,
  school: SchoolSummary,
  records: StudentRecord[],
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  const now = ctx.now();
  const persons = await store.listSchoolPersons(trx, school.id);
  const personByHash = new Map(persons.filter((p) => p.id_number_hash).map((p) => [p.id_number_hash!, p]));
  const classes = new ClassBook(school.id, await store.listClasses(trx, school.id));
  const guardiansByPerson = groupBy(await listGuardiansOf(trx, school.id, persons), (g) => g.person_id);
  const activeConsents = new Map((await listActiveConsentsOf(trx, school.id, persons)).map((c) => [c.person_id, c]));

  const writes = emptyWrites();
  const pipeline = new InsertPipeline(trx, classes, writes);
  const outcome = emptyOutcome();

  for (const [index, record] of records.entries()) {
    const turn = pipeline.beforeRecord(index);
    if (turn) await turn;
    const hash = ctx.cipher.hash(record.idNumber);
    const existing = personByHash.get(hash);
    if (existing && existing.kind !== 'student') {
      const staffNumber = existing.staff_number ? `（工号 ${existing.staff_number}）` : '';
      outcome.rejected.push(rejectRow(record.row, '身份证号', maskIdNumber(record.idNumber), `该身份证号已登记为本校教职工${staffNumber}，不能再作为学生导入`));
      continue;
    }

    const problems: RosterProblem[] = [];
    const klass = resolveClass(classes, record.class, record.classText, options.columnHeaders.class ?? '班级', options, outcome, problems);
    if (!klass) {
      outcome.rejected.push({ row: record.row, problems });
      outcome.missingClassRows.push(record.row);
      continue;
    }
    let personId: string;
    const described: RosterFieldChange[] = [];
    const previousName = existing?.name ?? record.name;

    if (!existing) {
      // The hash is already known, so the ID columns are added here rather than hashed again.
      const row: store.PersonRow = {
        ...buildPersonRow(ctx, {
          schoolId: school.id,
          kind: 'student',
          name: record.name,
          gender: record.gender,
          birthDate: record.birthDate,
          studentNumber: record.studentNumber,
          classId: klass.id,
        }),
        ...idNumberColumns(ctx, record.idNumber, hash),
      };
      writes.persons.push(row);
      personByHash.set(hash, row);
      personId = row.id;
    } else {
      personId = existing.id;
      const changes = diffPerson(existing, {
        name: record.name,
        gender: record.gender,
        birth_date: record.birthDate,
        class_id: klass.id,
        student_number: record.studentNumber ?? undefined,
        active: 1,
      });
      if (Object.keys(changes).length > 0) {
        described.push(...describePersonChanges(existing, changes, (classId) => classes.nameOf(classId)));
        writes.personUpdates.push({ id: existing.id, changes: { ...changes, updated_at: now } });
        Object.assign(existing, changes);
      }
    }

    let guardianId: string | null = null;
    if (record.guardian) {
      const guardian = upsertGuardian(ctx, writes, guardiansByPerson, personId, record.guardian);
      guardianId = guardian.id;
      described.push(...guardian.changes);
      if (record.guardian.phone && !guardian.dingtalkUserId) {
        outcome.lookups.push({ row: record.row, table: 'guardians', id: guardian.id, phone: record.guardian.phone });
      }
    } else {
      guardianId = guardiansByPerson.get(personId)?.[0]?.id ?? null;
    }

    if (applyConsent(ctx, writes, activeConsents, personId, record.consent, { givenBy: 'guardian', guardianId }, options.actor)) {
      described.push(describeConsentChange(record.consent!));
    }

    countOutcome(outcome, existing, { row: record.row, previousName, name: record.name, changes: described });
  }

  await pipeline.finish();
  await writeUpdates(trx, writes, now, options.actor);
  return outcome;
}

function emptyOutcome(): ApplyOutcome {
  return { created: 0, updated: 0, unchanged: 0, updates: [], classesCreated: [], rejected: [], lookups: [], missingClasses: new Set(), missingClassRows: [] };
}

/**
 * Match the row's guardian to a stored one, by phone first and then by name, and update
 * it; add a guardian when none matches. Other guardians of the pupil are left alone.
 */
function upsertGuardian(
  ctx: AppContext,
  writes: PendingWrites,
  guardiansByPerson: Map<string, store.GuardianRow[]>,
  personId: string,
  input: { name: string; phone: string | null; dingtalkUserId: string | null },
): { id: string; changes: RosterFieldChange[]; dingtalkUserId: string | null } {
  const now = ctx.now();
  const guardians = guardiansByPerson.get(personId) ?? [];
  const phoneHash = input.phone ? ctx.cipher.hash(input.phone) : null;
  const match =
    (phoneHash ? guardians.find((g) => g.phone_hash === phoneHash) : undefined) ?? guardians.find((g) => g.name === input.name);

  if (!match) {
    const row: store.GuardianRow = {
      id: newId(),
      person_id: personId,
      name: input.name,
      relation: null,
      phone_enc: null,
      phone_hash: null,
      phone_masked: null,
      dingtalk_user_id: input.dingtalkUserId,
      created_at: now,
      updated_at: now,
      ...(input.phone && phoneHash ? phoneColumns(ctx, input.phone, phoneHash) : {}),
    };
    writes.guardians.push(row);
    guardiansByPerson.set(personId, [...guardians, row]);
    return { id: row.id, changes: describeGuardianChanges(undefined, {}), dingtalkUserId: row.dingtalk_user_id };
  }

  const changes: Partial<store.GuardianRow> = {};
  if (match.name !== input.name) changes.name = input.name;
  if (input.phone && phoneHash && match.phone_hash !== phoneHash) Object.assign(changes, phoneColumns(ctx, input.phone, phoneHash));
  if (input.dingtalkUserId && match.dingtalk_user_id !== input.dingtalkUserId) changes.dingtalk_user_id = input.dingtalkUserId;
  if (Object.keys(changes).length === 0) return { id: match.id, changes: [], dingtalkUserId: match.dingtalk_user_id };

  const described = describeGuardianChanges(match, changes);
  writes.guardianUpdates.push({ id: match.id, changes: { ...changes, updated_at: now } });
  Object.assign(match, changes);
  return { id: match.id, changes: described, dingtalkUserId: match.dingtalk_user_id };
}

async function applyStaff(
  ctx: AppContext,
  trx: Transaction<Database>,
  school: SchoolSummary,
  records: StaffRecord[],
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  const now = ctx.now();
  const persons = await store.listSchoolPersons(trx, school.id);
  const personByStaffNumber = new Map(persons.filter((p) => p.staff_number).map((p) => [p.staff_number!, p]));
  const personByHash = new Map(persons.filter((p) => p.id_number_hash).map((p) => [p.id_number_hash!, p]));
  const classes = new ClassBook(school.id, await store.listClasses(trx, school.id));
  const activeConsents = new Map((await listActiveConsentsOf(trx, school.id, persons)).map((c) => [c.person_id, c]));

  // Head teacher of each class as the import goes; written to the classes at the end.
  const headTeacherByClass = new Map(classes.all().map((c) => [c.id, c.head_teacher_id]));
  // As stored before the import, so the report of a row is not changed by the rows before it.
  const headTeacherAtStart = new Map(headTeacherByClass);
  const writes = emptyWrites();
  const pipeline = new InsertPipeline(trx, classes, writes);
  const outcome = emptyOutcome();

  for (const [index, record] of records.entries()) {
    const turn = pipeline.beforeRecord(index);
    if (turn) await turn;
    let existing = personByStaffNumber.get(record.staffNumber);
    const hash = record.idNumber ? ctx.cipher.hash(record.idNumber) : null;
    const phoneHash = record.phone ? ctx.cipher.hash(record.phone) : null;
    const holder = hash ? personByHash.get(hash) : undefined;

    if (holder && holder !== existing) {
      const adoptable = !existing && holder.kind === 'staff' && !holder.staff_number;
      if (!adoptable) {
        const reason =
          holder.kind === 'student' ? '该身份证号已登记为本校学生，不能再作为教职工导入' : `该身份证号已登记给工号 ${holder.staff_number} 的教职工，请核对工号`;
        outcome.rejected.push(rejectRow(record.row, '身份证号', maskIdNumber(record.idNumber!), reason));
        continue;
      }
      existing = holder;
    }

    // Classes are checked before anything is written, so a rejected row changes nothing.
    const problems: RosterProblem[] = [];
    const headedClasses = (record.headTeacherClasses ?? []).map((ref) =>
      resolveClass(classes, ref, '', options.columnHeaders.headTeacherClasses ?? '班主任班级', options, outcome, problems),
    );
    if (problems.length > 0) {
      for (const problem of problems) problem.value = record.headTeacherClassesText;
      outcome.rejected.push({ row: record.row, problems });
      outcome.missingClassRows.push(record.row);
      continue;
    }

    const headsClasses = (record.headTeacherClasses ?? []).length > 0;
    let personId: string;
    const described: RosterFieldChange[] = [];
    const previousName = existing?.name ?? record.name;

    if (!existing) {
      const row: store.PersonRow = {
        ...buildPersonRow(ctx, {
          schoolId: school.id,
          kind: 'staff',
          name: record.name,
          gender: record.gender,
          birthDate: record.birthDate,
          staffNumber: record.staffNumber,
          staffRole: record.role ?? (headsClasses ? 'head_teacher' : 'teacher'),
          dingtalkUserId: record.dingtalkUserId,
        }),
        ...(record.idNumber && hash ? idNumberColumns(ctx, record.idNumber, hash) : {}),
        ...(record.phone && phoneHash ? phoneColumns(ctx, record.phone, phoneHash) : {}),
      };
      writes.persons.push(row);
      personByStaffNumber.set(record.staffNumber, row);
      if (hash) personByHash.set(hash, row);
      personId = row.id;
      if (record.phone && !record.dingtalkUserId) outcome.lookups.push({ row: record.row, table: 'persons', id: row.id, phone: record.phone });
    } else {
      personId = existing.id;
      const changes = diffPerson(existing, {
        name: record.name,
        staff_number: record.staffNumber,
        gender: record.gender ?? undefined,
        birth_date: record.birthDate ?? undefined,
        staff_role: (record.role ?? undefined) as StaffRole | undefined,
        dingtalk_user_id: record.dingtalkUserId ?? undefined,
        active: 1,
      });
      if (record.idNumber && hash && existing.id_number_hash !== hash) Object.assign(changes, idNumberColumns(ctx, record.idNumber, hash));
      if (record.phone && phoneHash && existing.phone_hash !== phoneHash) Object.assign(changes, phoneColumns(ctx, record.phone, phoneHash));

      if (Object.keys(changes).length > 0) {
        described.push(...describePersonChanges(existing, changes, (classId) => classes.nameOf(classId)));
        writes.personUpdates.push({ id: existing.id, changes: { ...changes, updated_at: now } });
        Object.assign(existing, changes);
        if (hash) personByHash.set(hash, existing);
      }
      if (record.phone && !existing.dingtalk_user_id) outcome.lookups.push({ row: record.row, table: 'persons', id: existing.id, phone: record.phone });
    }

    if (record.headTeacherClasses !== null) {
      const classIds = headedClasses.map((klass) => klass!.id);
      if (assignHeadTeacher(headTeacherByClass, personId, classIds)) {
        described.push(describeHeadTeacherChange(headedClassNames(headTeacherAtStart, personId, classes), headedClassNames(headTeacherByClass, personId, classes)));
      }
    }
    if (applyConsent(ctx, writes, activeConsents, personId, record.consent, { givenBy: 'self', guardianId: null }, options.actor)) {
      described.push(describeConsentChange(record.consent!));
    }

    countOutcome(outcome, existing, { row: record.row, previousName, name: record.name, changes: described });
  }

  await pipeline.finish();
  await writeUpdates(trx, writes, now, options.actor);
  const stored = new Map(classes.all().map((c) => [c.id, c.head_teacher_id]));
  for (const [classId, headTeacherId] of headTeacherByClass) {
    if (stored.get(classId) !== headTeacherId) await store.setHeadTeacher(trx, classId, headTeacherId);
  }
  return outcome;
}

/** Names of the classes the person heads in `headTeacherByClass`, ordered by grade and number. */
function headedClassNames(headTeacherByClass: Map<string, string | null>, personId: string, classes: ClassBook): string[] {
  return classes
    .all()
    .filter((klass) => headTeacherByClass.get(klass.id) === personId)
    .sort((a, b) => a.grade - b.grade || a.number - b.number)
    .map((klass) => klass.name);
}

/**
 * Count a handled row as created (no existing person), updated (with the changes listed
 * in the report) or unchanged.
 */
function countOutcome(outcome: ApplyOutcome, existing: store.PersonRow | undefined, update: RosterUpdate): void {
  if (!existing) outcome.created += 1;
  else if (update.changes.length > 0) {
    outcome.updated += 1;
    outcome.updates.push(update);
  } else outcome.unchanged += 1;
}

/**
 * Make the person head teacher of exactly these classes: set them, and clear the classes
 * the person headed before and no longer does. Returns true when anything changes.
 */
function assignHeadTeacher(headTeacherByClass: Map<string, string | null>, personId: string, classIds: string[]): boolean {
  let changed = false;
  const headedClassIds = new Set(classIds);

  for (const classId of headedClassIds) {
    if (headTeacherByClass.get(classId) === personId) continue;
    headTeacherByClass.set(classId, personId);
    changed = true;
  }
  for (const [classId, headTeacherId] of headTeacherByClass) {
    if (headTeacherId !== personId || headedClassIds.has(classId)) continue;
    headTeacherByClass.set(classId, null);
    changed = true;
  }
  return changed;
}

/**
 * Look up the DingTalk user ids of imported phones that have none, a few at a time, and
 * store what is found. Failures become warnings; after MAX_LOOKUP_FAILURES the rest are
 * skipped, since DingTalk is then likely down or misconfigured.
 */
async function lookUpDingTalkUserIds(
  ctx: AppContext,
  candidates: LookupCandidate[],
  lookup: DingTalkLookup,
  warnings: string[],
): Promise<DingTalkLookupSummary> {
  const summary: DingTalkLookupSummary = { lookedUp: 0, found: 0, notFound: 0, failed: 0, skipped: 0 };
  const notFoundRows: number[] = [];
  const failedRows: number[] = [];
  const queue = [...candidates];

  const worker = async () => {
    for (let candidate = queue.shift(); candidate; candidate = queue.shift()) {
      if (summary.failed >= MAX_LOOKUP_FAILURES) {
        summary.skipped += 1;
        continue;
      }

      summary.lookedUp += 1;
      let userId: string | undefined;
      try {
        userId = await lookup(candidate.phone);
      } catch (error) {
        summary.failed += 1;
        failedRows.push(candidate.row);
        ctx.log.warn({ err: error, row: candidate.row, table: candidate.table, id: candidate.id }, 'dingtalk user lookup failed');
        continue;
      }

      if (!userId) {
        summary.notFound += 1;
        notFoundRows.push(candidate.row);
        continue;
      }
      summary.found += 1;
      if (candidate.table === 'persons') await store.setPersonDingtalkUserId(ctx.db, candidate.id, userId, ctx.now());
      else await store.setGuardianDingtalkUserId(ctx.db, candidate.id, userId, ctx.now());
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, candidates.length) }, worker));

  if (notFoundRows.length > 0) {
    warnings.push(`${notFoundRows.length} 个手机号在钉钉中未找到用户（${listRows(notFoundRows)}），这些人将收不到钉钉通知，请核对手机号或请其加入学校钉钉`);
  }
  if (summary.failed > 0) {
    const skipped = summary.skipped > 0 ? `，另有 ${summary.skipped} 个未查询` : '';
    warnings.push(`通过手机号查询钉钉用户失败 ${summary.failed} 次（${listRows(failedRows)}）${skipped}；人员已导入，请检查钉钉配置后重新导入同一文件补查`);
  }
  ctx.log.info({ ...summary }, 'dingtalk lookups finished');
  return summary;
}

function listRows(rows: number[]): string {
  const sorted = [...rows].sort((a, b) => a - b);
  const listed = sorted.slice(0, MAX_ROWS_IN_WARNING).map((row) => `第 ${row} 行`).join('、');
  return sorted.length > MAX_ROWS_IN_WARNING ? `${listed} 等` : listed;
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

export interface RosterExport {
  fileName: string;
  contentType: string;
  bytes: Buffer;
  /** People written, not counting the title and header rows. */
  rows: number;
}

/**
 * Export the active pupils or staff of a school in the import layout, with ID numbers
 * and phones decrypted. Re-importing the file changes nothing.
 */
export async function exportRoster(
  ctx: AppContext,
  schoolCode: string,
  options: { kind: RosterKind; format: RosterFileFormat },
): Promise<RosterExport> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const table = options.kind === 'student' ? await buildStudentTable(ctx, school) : await buildStaffTable(ctx, school);
  const bytes = options.format === 'xlsx' ? await writeRosterXlsx(table) : writeRosterCsv(table);
  const label = options.kind === 'student' ? '学生名单' : '教职工名单';

  ctx.log.info({ school: school.code, kind: options.kind, format: options.format, rows: table.rows.length }, 'roster exported');
  return {
    fileName: `${school.name}${label}.${options.format}`,
    contentType: ROSTER_CONTENT_TYPES[options.format],
    bytes,
    rows: table.rows.length,
  };
}

function digitColumns(fields: RosterField[]): number[] {
  return fields.flatMap((field, index) => (field === 'idNumber' || field === 'phone' ? [index] : []));
}

async function buildStudentTable(ctx: AppContext, school: SchoolSummary): Promise<RosterTable> {
  const fields = EXPORT_FIELDS.student;
  const persons = (await store.listSchoolPersons(ctx.db, school.id)).filter((p) => p.kind === 'student' && p.active === 1);
  const classById = new Map((await store.listClasses(ctx.db, school.id)).map((c) => [c.id, c]));
  const guardiansByPerson = groupBy(await store.listSchoolGuardians(ctx.db, school.id), (g) => g.person_id);
  const consented = new Set((await store.listSchoolActiveConsents(ctx.db, school.id, 'health_code')).map((c) => c.person_id));

  const sortKey = (p: store.PersonRow) => {
    const klass = p.class_id ? classById.get(p.class_id) : undefined;
    return [klass?.grade ?? 99, klass?.number ?? 99, p.student_number ?? '', p.name, p.id] as const;
  };
  persons.sort((a, b) => compareTuples(sortKey(a), sortKey(b)));

  const rows = persons.map((person) => {
    const klass = person.class_id ? classById.get(person.class_id) : undefined;
    const guardian = guardiansByPerson.get(person.id)?.[0];
    const values: Record<RosterField, string> = {
      ...emptyValues(),
      name: person.name,
      gender: person.gender ?? '',
      idNumber: person.id_number_enc ? ctx.cipher.decrypt(person.id_number_enc) : '',
      personType: '学生',
      grade: klass ? gradeLabel(klass.grade) : '',
      class: klass?.name ?? '',
      studentNumber: person.student_number ?? '',
      guardianName: guardian?.name ?? '',
      phone: guardian?.phone_enc ? ctx.cipher.decrypt(guardian.phone_enc) : '',
      dingtalkUserId: guardian?.dingtalk_user_id ?? '',
      consent: consented.has(person.id) ? '是' : '否',
    };
    return fields.map((field) => values[field]);
  });

  return { title: `${school.name}学生名单`, headers: fields.map((f) => exportHeader('student', f)), rows, digitColumns: digitColumns(fields) };
}

async function buildStaffTable(ctx: AppContext, school: SchoolSummary): Promise<RosterTable> {
  const fields = EXPORT_FIELDS.staff;
  const persons = (await store.listSchoolPersons(ctx.db, school.id)).filter((p) => p.kind === 'staff' && p.active === 1);
  const classes = await store.listClasses(ctx.db, school.id);
  const consented = new Set((await store.listSchoolActiveConsents(ctx.db, school.id, 'health_code')).map((c) => c.person_id));
  const headedClasses = groupBy(
    classes.filter((c) => c.head_teacher_id),
    (c) => c.head_teacher_id!,
  );

  persons.sort((a, b) => compareTuples([a.staff_number ?? '', a.name, a.id], [b.staff_number ?? '', b.name, b.id]));
  const rows = persons.map((person) => {
    const values: Record<RosterField, string> = {
      ...emptyValues(),
      name: person.name,
      gender: person.gender ?? '',
      staffNumber: person.staff_number ?? '',
      idNumber: person.id_number_enc ? ctx.cipher.decrypt(person.id_number_enc) : '',
      personType: '教职工',
      position: person.staff_role ? STAFF_ROLE_LABELS[person.staff_role] : '',
      headTeacherClasses: (headedClasses.get(person.id) ?? []).map((c) => c.name).join('、'),
      phone: person.phone_enc ? ctx.cipher.decrypt(person.phone_enc) : '',
      dingtalkUserId: person.dingtalk_user_id ?? '',
      consent: consented.has(person.id) ? '是' : '否',
    };
    return fields.map((field) => values[field]);
  });

  return { title: `${school.name}教职工名单`, headers: fields.map((f) => exportHeader('staff', f)), rows, digitColumns: digitColumns(fields) };
}

function emptyValues(): Record<RosterField, string> {
  return {
    name: '',
    gender: '',
    idNumber: '',
    grade: '',
    class: '',
    studentNumber: '',
    guardianName: '',
    phone: '',
    personType: '',
    consent: '',
    dingtalkUserId: '',
    staffNumber: '',
    position: '',
    headTeacherClasses: '',
  };
}

function compareTuples(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}
