import { Kysely } from 'kysely';

/**
 * The school calendar (校历): days the district or one school marks as school days or as
 * days without school, which override the weekday rule. Every row carries the district,
 * so the district view reads the entries of all its schools with one query.
 *
 * Before this migration each school kept its own calendar in its settings JSON: the
 * checks' `schoolWeekdays`, `holidays` and `extraSchoolDays`, and the gate's own
 * `schoolWeekdays`. Their holidays and make-up days become the school's rows here, and
 * the weekdays move to `calendar.weekdays` (the checks' list wins when both differ,
 * because the console edited that one).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('calendar_days')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('scope_id', 'text', (c) => c.notNull())
    .addColumn('district_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('is_school_day', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addColumn('updated_by_name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('calendar_days_pk', ['scope', 'scope_id', 'day'])
    .execute();
  await db.schema.createIndex('calendar_days_district_day').on('calendar_days').columns(['district_id', 'day']).execute();

  const schools = (await db.selectFrom('schools').select(['id', 'district_id', 'settings']).execute()) as Array<{ id: string; district_id: string; settings: string | null }>;
  const now = Date.now();
  for (const school of schools) {
    const settings = parseObject(school.settings);
    const checks = parseObject(settings.checks);
    const gate = parseObject(settings.gate);
    const hasOldCalendar = ['schoolWeekdays', 'holidays', 'extraSchoolDays'].some((key) => key in checks) || 'schoolWeekdays' in gate;
    if (!hasOldCalendar) continue;

    const rows = new Map<string, { isSchoolDay: number; reason: string }>();
    for (const day of dayList(checks.holidays)) rows.set(day, { isSchoolDay: 0, reason: '放假' });
    for (const day of dayList(checks.extraSchoolDays)) rows.set(day, { isSchoolDay: 1, reason: '调休上课' });
    for (const [day, row] of rows) {
      await db
        .insertInto('calendar_days')
        .values({
          scope: 'school',
          scope_id: school.id,
          district_id: school.district_id,
          day,
          is_school_day: row.isSchoolDay,
          reason: row.reason,
          updated_at: now,
          updated_by: null,
          updated_by_name: '数据迁移',
        })
        .execute();
    }

    const weekdays = weekdayList(checks.schoolWeekdays) ?? weekdayList(gate.schoolWeekdays);
    delete checks.schoolWeekdays;
    delete checks.holidays;
    delete checks.extraSchoolDays;
    delete gate.schoolWeekdays;
    const next: Record<string, unknown> = { ...settings, checks, gate };
    if (weekdays) next.calendar = { ...parseObject(settings.calendar), weekdays };
    await db.updateTable('schools').set({ settings: JSON.stringify(next) }).where('id', '=', school.id).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('calendar_days').execute();
}

function parseObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      return parseObject(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return value && typeof value === 'object' && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
}

function dayList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((day): day is string => typeof day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`)));
}

function weekdayList(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (!value.every((w) => Number.isInteger(w) && w >= 0 && w <= 6)) return undefined;
  return [...new Set(value as number[])].sort((a, b) => a - b);
}
