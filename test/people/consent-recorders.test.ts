import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '../../src/db/migrations/2026120503-consent-recorders.js';
import { grantConsent, listPersonConsents, revokePersonConsent } from '../../src/modules/people/consents.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';

const PRINCIPAL = { userId: 'user-principal', username: 'principal', displayName: '王校长' };
const CLERK = { userId: 'user-clerk', username: 'clerk', displayName: '赵干事' };

describe.each(DIALECTS)('%s: accounts on consent records', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('reads a consent stored before the migration without accounts', async () => {
    const school = await buildSchool(t.ctx);
    const pupil = await buildStudent(t.ctx, school.id, { consent: false });

    // Take the columns away, write a row as the code before them did, and add them back.
    await down(t.ctx.db);
    const id = newId();
    await t.ctx.db
      .insertInto('consents')
      .values({ id, person_id: pupil.person.id, purpose: 'health_code', given_by: 'guardian', guardian_id: pupil.guardianId, given_at: 1_000, revoked_at: 2_000, note: '旧记录' })
      .execute();
    await up(t.ctx.db);

    const [consent] = await listPersonConsents(t.ctx, pupil.person.id);
    expect(consent).toMatchObject({ id, note: '旧记录', givenAt: 1_000, revokedAt: 2_000, recordedBy: null, revokedBy: null });
  });

  it('stores who recorded a consent and who revoked it', async () => {
    const school = await buildSchool(t.ctx);
    const pupil = await buildStudent(t.ctx, school.id, { consent: false });

    const granted = await grantConsent(t.ctx, pupil.person.id, { purpose: 'face', givenBy: 'guardian', guardianId: pupil.guardianId }, PRINCIPAL);
    expect(granted).toMatchObject({ purpose: 'face', recordedBy: PRINCIPAL, revokedBy: null });

    t.setNow(t.ctx.now() + 60_000);
    expect(await revokePersonConsent(t.ctx, pupil.person.id, 'face', CLERK)).toEqual({ revoked: 1 });
    const [revoked] = await listPersonConsents(t.ctx, pupil.person.id);
    expect(revoked).toMatchObject({ id: granted.id, revokedAt: t.ctx.now(), recordedBy: PRINCIPAL, revokedBy: CLERK });

    const row = await t.ctx.db.selectFrom('consents').selectAll().where('id', '=', granted.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      recorded_by_user_id: 'user-principal',
      recorded_by_username: 'principal',
      recorded_by_name: '王校长',
      revoked_by_user_id: 'user-clerk',
      revoked_by_username: 'clerk',
      revoked_by_name: '赵干事',
    });
  });

  it('records a consent without an account as null', async () => {
    const school = await buildSchool(t.ctx);
    const pupil = await buildStudent(t.ctx, school.id, { consent: false });

    const granted = await grantConsent(t.ctx, pupil.person.id, { purpose: 'health_code', givenBy: 'self' }, null);
    await revokePersonConsent(t.ctx, pupil.person.id, 'health_code', null);

    const [consent] = await listPersonConsents(t.ctx, pupil.person.id);
    expect(consent).toMatchObject({ id: granted.id, recordedBy: null, revokedBy: null });
    expect(consent.revokedAt).not.toBeNull();
  });
});
