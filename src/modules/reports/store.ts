import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, DailyReportTable, DistrictReportSettingsTable } from '../../db/schema.js';
import type { DayRecords } from './report-model.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type ReportRow = DailyReportTable;
/** A report row without its JSON content: what lists and the district view read. */
export type ReportSummaryRow = Omit<ReportRow, 'content'>;

const SUMMARY_COLUMNS = [
  'id',
  'school_id',
  'district_id',
  'day',
  'version',
  'status',
  'trigger',
  'built_at',
  'built_by',
  'built_by_name',
  'submitted_at',
  'submitted_by',
  'submitted_by_name',
  'change_note',
  'changes',
  'expected_count',
  'arrived_count',
  'absent_count',
  'late_count',
  'fever_count',
  'non_green_count',
  'stale_count',
  'unsynced_count',
  'illness_absence_count',
  'open_follow_up_count',
  'cluster_count',
  'visitor_count',
  'is_zero',
] as const satisfies ReadonlyArray<keyof ReportSummaryRow>;

export async function insertReport(db: Executor, row: ReportRow): Promise<void> {
  await db.insertInto('daily_reports').values(row).execute();
}

/** Replace a draft's content; a submitted row is never updated (the status check enforces it). */
export async function updateDraft(db: Executor, id: string, changes: Partial<ReportRow>): Promise<boolean> {
  const result = await db.updateTable('daily_reports').set(changes).where('id', '=', id).where('status', '=', 'draft').executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function markSubmitted(
  db: Executor,
  id: string,
  fields: Pick<ReportRow, 'submitted_at' | 'submitted_by' | 'submitted_by_name' | 'change_note' | 'changes'>,
): Promise<boolean> {
  const result = await db
    .updateTable('daily_reports')
    .set({ ...fields, status: 'submitted' })
    .where('id', '=', id)
    .where('status', '=', 'draft')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Every version of a school's report of a day, newest first, without content. */
export async function listVersions(db: Executor, schoolId: string, day: string): Promise<ReportSummaryRow[]> {
  return db.selectFrom('daily_reports').select(SUMMARY_COLUMNS).where('school_id', '=', schoolId).where('day', '=', day).orderBy('version', 'desc').execute();
}

export async function findVersion(db: Executor, schoolId: string, day: string, version: number): Promise<ReportRow | undefined> {
  return db.selectFrom('daily_reports').selectAll().where('school_id', '=', schoolId).where('day', '=', day).where('version', '=', version).executeTakeFirst();
}

/** The newest version of each day of a school in [from, to], without content. */
export async function listLatestPerDay(db: Executor, schoolId: string, from: string, to: string): Promise<ReportSummaryRow[]> {
  const rows = await db
    .selectFrom('daily_reports')
    .select(SUMMARY_COLUMNS)
    .where('school_id', '=', schoolId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .orderBy('day', 'desc')
    .orderBy('version', 'desc')
    .execute();
  const seen = new Set<string>();
  return rows.filter((row) => (seen.has(row.day) ? false : (seen.add(row.day), true)));
}

/**
 * The current submitted version of each school of a district for the days in [from, to]:
 * the highest submitted version per school and day. One indexed range read; the figures
 * come from columns, so the district view never opens a report's JSON.
 */
export async function listSubmittedInRange(db: Executor, districtId: string, from: string, to: string): Promise<ReportSummaryRow[]> {
  return db
    .selectFrom('daily_reports as r')
    .select(SUMMARY_COLUMNS.map((column) => `r.${column}` as const))
    .where('r.district_id', '=', districtId)
    .where('r.day', '>=', from)
    .where('r.day', '<=', to)
    .where('r.status', '=', 'submitted')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('daily_reports as newer')
            .select(sql`1`.as('one'))
            .whereRef('newer.school_id', '=', 'r.school_id')
            .whereRef('newer.day', '=', 'r.day')
            .where('newer.status', '=', 'submitted')
            .whereRef('newer.version', '>', 'r.version'),
        ),
      ),
    )
    .execute();
}

/** Schools of a district that have any report row of a day (draft or submitted). */
export async function listDraftSchoolIds(db: Executor, districtId: string, day: string): Promise<Set<string>> {
  const rows = await db.selectFrom('daily_reports').select('school_id').distinct().where('district_id', '=', districtId).where('day', '=', day).execute();
  return new Set(rows.map((row) => row.school_id));
}

export async function findDistrictSettings(db: Executor, districtId: string): Promise<DistrictReportSettingsTable | undefined> {
  return db.selectFrom('district_report_settings').selectAll().where('district_id', '=', districtId).executeTakeFirst();
}

export async function upsertDistrictSettings(db: Executor, row: DistrictReportSettingsTable): Promise<void> {
  await db
    .insertInto('district_report_settings')
    .values(row)
    .onConflict((oc) => oc.column('district_id').doUpdateSet({ deadline: row.deadline, updated_at: row.updated_at, updated_by: row.updated_by }))
    .execute();
}

/** Whether the school has any report row of the day; the scheduled build runs only when not. */
export async function hasReport(db: Executor, schoolId: string, day: string): Promise<boolean> {
  const row = await db.selectFrom('daily_reports').select('id').where('school_id', '=', schoolId).where('day', '=', day).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** When each school of a district first submitted a version of a day. */
export async function listFirstSubmissions(db: Executor, districtId: string, day: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('daily_reports')
    .select(['school_id', sql<number>`min(submitted_at)`.as('first_at')])
    .where('district_id', '=', districtId)
    .where('day', '=', day)
    .where('status', '=', 'submitted')
    .groupBy('school_id')
    .execute();
  return new Map(rows.map((row) => [row.school_id, Number(row.first_at)]));
}

export interface GradeAttendanceRow {
  grade: number | null;
  expected: number;
  arrived: number;
  late: number;
}

/**
 * Count active pupils per grade and, of those, the ones present on `day`: with an
 * attendance row (a gate pass or a normal re-check) or marked present in a class check
 * although the gate did not see them. Late counts gate arrivals only.
 */
/** Count a school's gate arrivals (attendance rows) and morning/noon check entries of a day. */
export async function countDayRecords(db: Executor, schoolId: string, day: string): Promise<DayRecords> {
  const arrivals = await db.selectFrom('attendance').select(sql<number>`count(*)`.as('count')).where('school_id', '=', schoolId).where('day', '=', day).executeTakeFirst();
  const checks = await db.selectFrom('daily_checks').select(sql<number>`count(*)`.as('count')).where('school_id', '=', schoolId).where('day', '=', day).executeTakeFirst();
  return { arrivals: Number(arrivals?.count ?? 0), checks: Number(checks?.count ?? 0) };
}

export async function countAttendanceByGrade(db: Executor, schoolId: string, day: string): Promise<GradeAttendanceRow[]> {
  const rows = await db
    .selectFrom('persons')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .leftJoin('attendance', (join) => join.onRef('attendance.person_id', '=', 'persons.id').on('attendance.day', '=', day))
    .select([
      'classes.grade',
      sql<number>`count(*)`.as('expected'),
      sql<number>`sum(case when attendance.person_id is not null or exists (select 1 from daily_checks where daily_checks.person_id = persons.id and daily_checks.day = ${day} and daily_checks.status = 'present') then 1 else 0 end)`.as('arrived'),
      sql<number>`sum(case when attendance.late = 1 then 1 else 0 end)`.as('late'),
    ])
    .where('persons.school_id', '=', schoolId)
    .where('persons.kind', '=', 'student')
    .where('persons.active', '=', 1)
    .groupBy('classes.grade')
    .execute();

  return rows
    .map((row) => ({ grade: row.grade ?? null, expected: Number(row.expected), arrived: Number(row.arrived ?? 0), late: Number(row.late ?? 0) }))
    .sort((a, b) => (a.grade ?? 99) - (b.grade ?? 99));
}
