import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '../../src/db/migrations/2026120501-school-calendar.js';
import { getSchoolDayStatus } from '../../src/modules/calendar/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

/**
 * The calendar migration moves each school's old calendar out of its settings JSON. The
 * test database is migrated already, so the migration is run again from its `down`, after
 * schools were given settings in the old shape.
 */
describe.each(DIALECTS)('%s: calendar migration', (dialect) => {
  let t: TestDb;
  let schools: Array<Awaited<ReturnType<typeof buildSchool>>>;

  const settingsOf = async (id: string) => JSON.parse((await t.ctx.db.selectFrom('schools').select('settings').where('id', '=', id).executeTakeFirstOrThrow()).settings);
  const writeSettings = (id: string, settings: object) => t.ctx.db.updateTable('schools').set({ settings: JSON.stringify(settings) }).where('id', '=', id).execute();

  beforeAll(async () => {
    t = await createTestDb(dialect);
    schools = [await buildSchool(t.ctx), await buildSchool(t.ctx), await buildSchool(t.ctx)];
    await writeSettings(schools[0]!.id, {
      dayStartsAt: '07:50',
      checks: { morningDueAt: '09:30', schoolWeekdays: [6, 1, 2, 3, 4, 5], holidays: ['2026-12-09', 'soon'], extraSchoolDays: ['2026-12-13'] },
      gate: { feverThresholdC: 37.5, schoolWeekdays: [1, 2, 3, 4, 5] },
    });
    await writeSettings(schools[1]!.id, { gate: { schoolWeekdays: [0, 1, 2, 3, 4, 5, 6] } });
    await writeSettings(schools[2]!.id, { dayStartsAt: '08:10' });
    await down(t.ctx.db);
    await up(t.ctx.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('moves holidays and make-up days into school entries', async () => {
    const rows = await t.ctx.db.selectFrom('calendar_days').select(['scope', 'scope_id', 'district_id', 'day', 'is_school_day', 'reason']).orderBy('day').execute();
    expect(rows).toEqual([
      { scope: 'school', scope_id: schools[0]!.id, district_id: schools[0]!.districtId, day: '2026-12-09', is_school_day: 0, reason: '放假' },
      { scope: 'school', scope_id: schools[0]!.id, district_id: schools[0]!.districtId, day: '2026-12-13', is_school_day: 1, reason: '调休上课' },
    ]);
    expect((await getSchoolDayStatus(t.ctx, schools[0]!.id, '2026-12-09')).isSchoolDay).toBe(false);
    expect((await getSchoolDayStatus(t.ctx, schools[0]!.id, '2026-12-13')).isSchoolDay).toBe(true);
  });

  it('moves the weekdays and keeps the other settings', async () => {
    expect(await settingsOf(schools[0]!.id)).toEqual({
      dayStartsAt: '07:50',
      checks: { morningDueAt: '09:30' },
      gate: { feverThresholdC: 37.5 },
      calendar: { weekdays: [1, 2, 3, 4, 5, 6] },
    });
    expect((await getSchoolDayStatus(t.ctx, schools[0]!.id, '2026-12-12')).isSchoolDay).toBe(true);
    expect((await settingsOf(schools[1]!.id)).calendar).toEqual({ weekdays: [0, 1, 2, 3, 4, 5, 6] });
    expect(await settingsOf(schools[2]!.id)).toEqual({ dayStartsAt: '08:10' });
  });
});
