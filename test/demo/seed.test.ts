import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoAccounts } from '../../src/demo/accounts.js';
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

  it('links teacher23 to the head teacher of 二(3)班', async () => {
    await seedDemoAccounts(t.ctx);
    const klass = await t.ctx.db.selectFrom('classes').select(['id', 'head_teacher_id']).where('name', '=', '二(3)班').executeTakeFirstOrThrow();
    const teacher = await t.ctx.db.selectFrom('users').select(['person_id', 'class_id']).where('username', '=', 'teacher23').executeTakeFirstOrThrow();
    expect(teacher.person_id).toBe(klass.head_teacher_id);
    expect(teacher.class_id).toBe(klass.id);

    const principal = await t.ctx.db.selectFrom('users').select('person_id').where('username', '=', 'principal').executeTakeFirstOrThrow();
    const manager = await t.ctx.db.selectFrom('persons').select('staff_role').where('id', '=', principal.person_id!).executeTakeFirstOrThrow();
    expect(manager.staff_role).toBe('management');
  });

  it('links an account seeded before the link existed', async () => {
    await t.ctx.db.updateTable('users').set({ person_id: null }).where('username', '=', 'teacher23').execute();
    await seedDemoAccounts(t.ctx);
    const teacher = await t.ctx.db.selectFrom('users').select('person_id').where('username', '=', 'teacher23').executeTakeFirstOrThrow();
    expect(teacher.person_id).not.toBeNull();
  });
});
