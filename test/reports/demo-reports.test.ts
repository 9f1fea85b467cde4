import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoReports } from '../../src/demo/reports.js';
import { DEMO_SCHOOL } from '../../src/demo/seed.js';
import { getDistrictDay, getDistrictTrend } from '../../src/modules/reports/district.js';
import { buildReport } from '../../src/modules/reports/service.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';

describe.each(DIALECTS)('demo reports on %s', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('seeds today and the school days before once', async () => {
    const school = await buildSchool(t.ctx, DEMO_SCHOOL);
    for (let i = 0; i < 4; i++) await buildStudent(t.ctx, school.id, { grade: 1 + (i % 2), classNumber: 1 });
    // Monday 7 December 2026: the 29 days before (8 November to 6 December) hold 20 weekdays.
    t.setNow(instantOf('2026-12-07', '16:45'));
    expect(await seedDemoReports(t.ctx)).toBe(21);
    expect(await seedDemoReports(t.ctx)).toBe(0);

    const today = await getDistrictDay(t.ctx, undefined, '2026-12-07');
    expect(today.schools[0]).toMatchObject({ code: DEMO_SCHOOL.code, state: 'draft' });
    const trend = await getDistrictTrend(t.ctx, undefined, '2026-12-07', 30);
    const reported = trend.filter((point) => point.submitted === 1);
    expect(reported).toHaveLength(20);
    for (const point of reported) {
      expect(point.expected).toBe(4);
      expect(point.arrived).toBe(point.expected - point.absent);
    }
    // Weekends are no school days, so the trend leaves them out.
    expect(trend.find((point) => point.day === '2026-12-05')).toBeUndefined();
    expect(trend).toHaveLength(21);
  });

  it('rejects rebuilding a seeded earlier day', async () => {
    // The seeded history has counts but no gate or check records behind them.
    const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
    const rebuild = buildReport(t.ctx, school, '2026-12-04', { userId: null, name: '演示校长' });
    await expect(rebuild).rejects.toThrow('已没有当天的校门入校记录和晨午检记录');

    const versions = await t.ctx.db.selectFrom('daily_reports').select(['version', 'status']).where('school_id', '=', school.id).where('day', '=', '2026-12-04').execute();
    expect(versions).toEqual([{ version: 1, status: 'submitted' }]);
  });
});
