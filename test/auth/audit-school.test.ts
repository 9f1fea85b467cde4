import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { READ_ACTIONS } from '../../src/modules/auth/audit.js';
import { createUser } from '../../src/modules/auth/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';

/**
 * An audit entry belongs to the school the action concerns, whoever acted, so a school
 * admin's audit list shows what a district admin did to that school and nothing done to
 * another school.
 */

const PASSWORD = 'Audit-School-2026';

interface Session {
  cookie: string;
  csrf: string;
}

interface ListedEntry {
  id: string;
  username: string | null;
  schoolId: string | null;
  action: string;
  target: string | null;
}

describe.each(DIALECTS)('%s: audit entries of the school acted on', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let schoolX: { id: string; code: string; name: string };
  let schoolY: { id: string; code: string; name: string };
  let adminX: Session;
  let adminY: Session;
  let district: Session;
  let guardXId: string;

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string }>;
    const session = cookies.find((c) => c.name === 'fk_session')!;
    const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
    return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
  }

  const get = (url: string, session: Session) => app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
  const send = (method: 'POST' | 'PATCH', url: string, payload: object, session: Session) =>
    app.inject({ method, url, payload, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });

  async function listAudit(session: Session): Promise<ListedEntry[]> {
    const response = await get('/api/audit?limit=500', session);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().entries as ListedEntry[];
  }

  /** Entries written by the district admin, as `action target` strings. */
  const byDistrict = (entries: ListedEntry[]) => entries.filter((e) => e.username === 'as-district').map((e) => `${e.action} ${e.target}`);

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);

    schoolX = await buildSchool(t.ctx, { name: '审计归属甲小学' });
    schoolY = await buildSchool(t.ctx, { name: '审计归属乙小学' });
    await buildStudent(t.ctx, schoolX.id);
    await buildStudent(t.ctx, schoolY.id);
    await createUser(t.ctx, { username: 'as-admin-x', role: 'school_admin', schoolCode: schoolX.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'as-admin-y', role: 'school_admin', schoolCode: schoolY.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'as-district', role: 'district_admin', password: PASSWORD }, null);
    guardXId = (await createUser(t.ctx, { username: 'as-guard-x', role: 'guard', schoolCode: schoolX.code, password: PASSWORD }, null)).id;
    adminX = await signIn('as-admin-x');
    adminY = await signIn('as-admin-y');
    district = await signIn('as-district');
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('district actions list under the school', async () => {
    // Reads and writes through school routes.
    expect((await get(`/api/schools/${schoolX.code}/persons`, district)).statusCode).toBe(200);
    expect((await get(`/api/schools/${schoolX.code}/roster.csv`, district)).statusCode).toBe(200);
    const device = await send('POST', `/api/schools/${schoolX.code}/devices`, { name: '东门 1 号通道', kind: 'api', lane: '东门' }, district);
    expect(device.statusCode, device.body).toBe(201);
    const deviceId = device.json().device.id as string;

    // Writes through services that take the school from the record they change.
    const venue = await send('POST', '/api/venues', { kind: 'school_gate', name: '甲小学东门', operator: '审计归属甲小学', schoolCode: schoolX.code }, district);
    expect(venue.statusCode, venue.body).toBe(200);
    const venueId = venue.json().id as string;
    expect((await send('PATCH', `/api/venues/${venueId}`, { address: '学府路 1 号' }, district)).statusCode).toBe(200);
    expect((await send('POST', `/api/auth/users/${guardXId}/unlock`, {}, district)).statusCode).toBe(200);

    // One read of school Y, which only Y's admin should see.
    expect((await get(`/api/schools/${schoolY.code}/persons`, district)).statusCode).toBe(200);

    const onX = [
      `persons.view ${schoolX.code}`,
      `roster.export ${schoolX.code}`,
      `device.create ${deviceId}`,
      `venue.create ${venueId}`,
      `venue.update ${venueId}`,
      'user.unlock as-guard-x',
    ];
    const onY = [`persons.view ${schoolY.code}`];

    const stored = await t.ctx.db.selectFrom('audit_log').select(['action', 'target', 'school_id']).where('username', '=', 'as-district').execute();
    for (const row of stored) {
      const key = `${row.action} ${row.target}`;
      if (onX.includes(key)) expect(row.school_id, key).toBe(schoolX.id);
      if (onY.includes(key)) expect(row.school_id, key).toBe(schoolY.id);
    }

    const seenByX = byDistrict(await listAudit(adminX));
    for (const key of onX) expect(seenByX, key).toContain(key);
    for (const key of onY) expect(seenByX, key).not.toContain(key);

    const seenByY = byDistrict(await listAudit(adminY));
    for (const key of onY) expect(seenByY, key).toContain(key);
    for (const key of onX) expect(seenByY, key).not.toContain(key);

    const seenByDistrict = byDistrict(await listAudit(district));
    for (const key of [...onX, ...onY]) expect(seenByDistrict, key).toContain(key);
  });

  it('school admin actions stay with their school', async () => {
    expect((await get(`/api/schools/${schoolX.code}/persons`, adminX)).statusCode).toBe(200);
    const report = await send('POST', `/api/schools/${schoolX.code}/reports/2026-12-07/build`, {}, adminX);
    expect(report.statusCode, report.body).toBe(200);

    const own = (await listAudit(adminX)).filter((e) => e.username === 'as-admin-x').map((e) => `${e.action} ${e.target}`);
    expect(own).toContain(`persons.view ${schoolX.code}`);
    expect(own).toContain(`report.build ${schoolX.code}:2026-12-07`);

    const seenByY = (await listAudit(adminY)).map((e) => e.username);
    expect(seenByY).not.toContain('as-admin-x');
  });

  it('district-wide actions belong to no school', async () => {
    const deadline = await app.inject({
      method: 'PUT',
      url: '/api/district/report-settings',
      payload: { deadline: '10:00' },
      headers: { cookie: district.cookie, 'x-csrf-token': district.csrf },
    });
    expect(deadline.statusCode, deadline.body).toBe(200);

    const entry = (await listAudit(district)).find((e) => e.action === 'report.deadline');
    expect(entry).toBeDefined();
    expect(entry!.schoolId).toBeNull();
    for (const admin of [adminX, adminY]) {
      expect((await listAudit(admin)).map((e) => e.action)).not.toContain('report.deadline');
    }
  });

  it('kind filter splits reads from changes', async () => {
    const all = await get('/api/audit?limit=500', district);
    const changes = await get('/api/audit?limit=500&kind=change', district);
    const reads = await get('/api/audit?limit=500&kind=read', district);
    for (const response of [all, changes, reads]) expect(response.statusCode, response.body).toBe(200);

    const changeActions = (changes.json().entries as ListedEntry[]).map((e) => e.action);
    const readActions = (reads.json().entries as ListedEntry[]).map((e) => e.action);
    expect(changeActions).toContain('device.create');
    expect(changeActions).toContain('venue.update');
    for (const action of changeActions) expect(READ_ACTIONS, action).not.toContain(action);
    expect(readActions).toContain('persons.view');
    expect(readActions).toContain('roster.export');
    for (const action of readActions) expect(READ_ACTIONS, action).toContain(action);
    expect(changes.json().total + reads.json().total).toBe(all.json().total);

    const unknown = await get('/api/audit?kind=views', district);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toContain('类型');
  });
});
