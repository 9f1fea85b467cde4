import { Kysely } from 'kysely';

/**
 * The scheduled health-code syncs follow the school calendar, so polling no longer has
 * its own weekdays (`polling.weekdays` in each school's settings JSON). A school that
 * polled on a weekday without school keeps syncing on it: its settings get
 * `syncEveryDay: true`. Every other school syncs for its school days only, which also
 * stops its full syncs for days without school.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const school of await listSchools(db)) {
    const settings = parseObject(school.settings);
    const polling = parseObject(settings.polling);
    if (!('weekdays' in polling)) continue;

    const pollingDays = weekdayList(polling.weekdays) ?? [];
    const schoolDays = weekdayList(parseObject(settings.calendar).weekdays) ?? [1, 2, 3, 4, 5];
    delete polling.weekdays;
    const next: Record<string, unknown> = { ...settings, polling };
    if (pollingDays.some((day) => !schoolDays.includes(day))) next.syncEveryDay = true;
    await db.updateTable('schools').set({ settings: JSON.stringify(next) }).where('id', '=', school.id).execute();
  }
}

/** Give polling its weekdays back: every day for a school that synced every day, else the school's weekdays. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const school of await listSchools(db)) {
    const settings = parseObject(school.settings);
    if (!('polling' in settings) && !('syncEveryDay' in settings)) continue;

    const schoolDays = weekdayList(parseObject(settings.calendar).weekdays) ?? [1, 2, 3, 4, 5];
    const weekdays = settings.syncEveryDay === true ? [0, 1, 2, 3, 4, 5, 6] : schoolDays;
    const next: Record<string, unknown> = { ...settings, polling: { ...parseObject(settings.polling), weekdays } };
    delete next.syncEveryDay;
    await db.updateTable('schools').set({ settings: JSON.stringify(next) }).where('id', '=', school.id).execute();
  }
}

async function listSchools(db: Kysely<any>): Promise<Array<{ id: string; settings: string | null }>> {
  return (await db.selectFrom('schools').select(['id', 'settings']).execute()) as Array<{ id: string; settings: string | null }>;
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

function weekdayList(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (!value.every((w) => Number.isInteger(w) && w >= 0 && w <= 6)) return undefined;
  return [...new Set(value as number[])].sort((a, b) => a - b);
}
