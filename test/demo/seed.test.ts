import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/seed.js';
import { listSyncTargets } from '../../src/modules/people/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

describe.each(DIALECTS)('%s: demo seed', (dialect) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates a 72-class school of about 3,000 people', async () => {
    const result = await seedDemo(t.ctx);
    expect(result.created).toBe(true);
    expect(result.pupils).toBe(2880);
    expect(result.staff).toBeGreaterThan(100);

    const classes = await t.ctx.db.selectFrom('classes').select(['name', 'head_teacher_id']).where('school_id', '=', result.schoolId).execute();
    expect(classes).toHaveLength(72);
    expect(classes.every((c) => c.head_teacher_id !== null)).toBe(true);
    expect(classes.map((c) => c.name)).toContain('二(3)班');
  });

  it('gives every seeded person a consented, decryptable ID number', async () => {
    const school = await t.ctx.db.selectFrom('schools').select('id').where('code', '=', 'demo-primary').executeTakeFirstOrThrow();
    const targets = await listSyncTargets(t.ctx, school.id);
    expect(targets.length).toBeGreaterThan(2950);
    expect(targets.every((target) => /^\d{17}[\dX]$/.test(target.idNumber))).toBe(true);
  });

  it('does nothing when run again', async () => {
    const again = await seedDemo(t.ctx);
    expect(again.created).toBe(false);
    expect(again.pupils).toBe(2880);
  });
});
