import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchool } from '../../src/modules/people/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';

describe.each(DIALECTS)('school districts on %s', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('puts a school without a district code in the only district', async () => {
    const first = await createSchool(t.ctx, { code: 'dist-a', name: '甲小学', districtCode: 'east', districtName: '东区' });
    const second = await createSchool(t.ctx, { code: 'dist-b', name: '乙小学' });
    expect(second.districtId).toBe(first.districtId);
  });

  it('uses the default district when there are several', async () => {
    await createSchool(t.ctx, { code: 'dist-c', name: '丙小学', districtCode: 'west', districtName: '西区' });
    const school = await createSchool(t.ctx, { code: 'dist-d', name: '丁小学' });
    const district = await t.ctx.db.selectFrom('districts').select(['code', 'name']).where('id', '=', school.districtId).executeTakeFirstOrThrow();
    expect(district).toEqual({ code: 'default', name: '本区' });
  });
});
