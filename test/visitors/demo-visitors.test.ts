import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DEMO_SCHOOL } from '../../src/demo/seed.js';
import { seedDemoVisitors } from '../../src/demo/visitors.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { listVisitorsForDay } from '../../src/modules/visitors/service.js';
import { instantOf } from '../../src/shared/time.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

describe.each(DIALECTS)('demo visitors on %s', (dialect) => {
  let t: TestDb;
  let bureau: BureauSimulator;

  beforeAll(async () => {
    bureau = await startBureauSimulator({ appKey: 'demo-visitors', appSecret: 'demo-visitors-secret' });
    const base = loadConfig({});
    t = await createTestDb(dialect, { bureau: { ...base.bureau, url: bureau.url, appKey: 'demo-visitors', appSecret: 'demo-visitors-secret', maxAttempts: 1, timeoutMs: 500 } });
  });
  afterAll(async () => {
    await closeBureauClient(t.ctx);
    await bureau?.close();
    await t?.close();
  });

  it('seeds the day once, with the checks whose time has passed', async () => {
    const school = await buildSchool(t.ctx, DEMO_SCHOOL);
    t.setNow(instantOf('2026-12-07', '11:00'));
    expect(await seedDemoVisitors(t.ctx)).toBe(5);
    expect(await seedDemoVisitors(t.ctx)).toBe(0);

    const day = await listVisitorsForDay(t.ctx, school.id, '2026-12-07');
    expect(day.counts).toMatchObject({ registered: 4, walkIns: 1, entered: 2, inside: 1, left: 1, denied: 1, expected: 2, fevers: 1 });
    const engineer = day.visitors.find((v) => v.name === '王建国')!;
    expect(engineer).toMatchObject({ status: 'left', enteredAt: instantOf('2026-12-07', '09:05'), exitedAt: instantOf('2026-12-07', '10:40'), codeSource: 'bureau' });
    expect(day.visitors.find((v) => v.walkIn)?.walkInReason).toContain('未提前预约');
  });
});
