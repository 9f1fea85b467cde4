import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoVenues } from '../../src/demo/venues.js';
import { traceVenue } from '../../src/modules/venues/tracing.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { instantOf, schoolDay } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

const TRACER: AuthUser = { id: 'tracer', username: 'tracer', displayName: '流调员', role: 'task_force', schoolId: null, classId: null, personId: null, sessionId: 'test' };

describe.each(DIALECTS)('demo venues on %s', (dialect) => {
  let t: TestDb;
  const now = instantOf('2026-12-07', '09:00');

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(now);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('seeds a bus line with a morning of check-ins once', async () => {
    expect(await seedDemoVenues(t.ctx)).toBe(32);
    expect(await seedDemoVenues(t.ctx)).toBe(0);
    const venues = await t.ctx.db.selectFrom('venues').select(['kind', 'line']).execute();
    expect(venues.filter((v) => v.line === 'K101')).toHaveLength(5);
    expect(venues.filter((v) => v.kind === 'shop')).toHaveLength(2);
  });

  it('gives the task force a line to trace', async () => {
    const day = schoolDay(now);
    const result = await traceVenue(t.ctx, TRACER, { line: 'K101', from: instantOf(day, '06:00'), to: instantOf(day, '09:00'), purpose: '演示流调查询' });
    expect(result.entries).toHaveLength(24);
    expect(result.venueCount).toBe(5);
    expect(result.entries.every((e) => e.codeColor === 'green')).toBe(true);
    expect(result.entries.every((e) => !e.flagged)).toBe(true);
  });
});
