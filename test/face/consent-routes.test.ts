import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';

const PASSWORD = 'Consent-Pass-2026';
const OBAMA = join(import.meta.dirname, '../fixtures/faces/face_recognition/obama/obama.jpg');

interface Session {
  cookie: string;
  csrf: string;
}

describe.each(DIALECTS)('%s: consent records over HTTP', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let school: { id: string; code: string };
  let pupil: Awaited<ReturnType<typeof buildStudent>>;
  let otherPupil: Awaited<ReturnType<typeof buildStudent>>;
  let admin: Session;
  let otherAdmin: Session;
  let head: Session;

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string }>;
    const session = cookies.find((c) => c.name === 'fk_session')!;
    const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
    return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
  }

  const call = (session: Session, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object): Promise<LightMyRequestResponse> =>
    app.inject({ method, url: `/api/schools/${school.code}${url}`, payload, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });

  async function enrolPhoto(personId: string): Promise<LightMyRequestResponse> {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(readFileSync(OBAMA))]), 'obama.jpg');
    const response = new Response(form);
    return app.inject({
      method: 'POST',
      url: `/api/schools/${school.code}/persons/${personId}/face`,
      payload: Buffer.from(await response.arrayBuffer()),
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': response.headers.get('content-type')! },
    });
  }

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    school = await buildSchool(t.ctx, { name: '授权小学' });
    pupil = await buildStudent(t.ctx, school.id, { grade: 3, classNumber: 1 });
    otherPupil = await buildStudent(t.ctx, school.id, { grade: 3, classNumber: 2 });
    const teacher = await buildStaff(t.ctx, school.id, 'head_teacher', { classId: pupil.klass.id });
    await createUser(t.ctx, { username: 'consent-admin', displayName: '钱校长', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'consent-admin2', displayName: '孙主任', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'consent-head', role: 'head_teacher', schoolCode: school.code, className: '三(1)班', personId: teacher.id, password: PASSWORD }, null);
    admin = await signIn('consent-admin');
    otherAdmin = await signIn('consent-admin2');
    head = await signIn('consent-head');
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('lists consents within the head teacher class', async () => {
    const listed = await call(head, 'GET', `/persons/${pupil.person.id}/consents`);
    expect(listed.statusCode, listed.body).toBe(200);
    const body = listed.json();
    // The factory writes the consent as rows from before accounts were stored.
    expect(body.items).toEqual([
      expect.objectContaining({ purpose: 'health_code', givenBy: 'guardian', guardianId: pupil.guardianId, revokedAt: null, recordedBy: null, revokedBy: null }),
    ]);
    expect(body.items[0].guardianName).toBe(body.guardians[0].name);
    expect(body.faceDescriptors).toBe(0);

    const other = await call(head, 'GET', `/persons/${otherPupil.person.id}/consents`);
    expect(other.statusCode).toBe(403);
    expect(other.json().message).toContain('班主任只能查看和操作本班的数据');
    const grant = await call(head, 'POST', `/persons/${pupil.person.id}/consents`, { purpose: 'face', givenBy: 'self' });
    expect(grant.statusCode).toBe(403);

    const audited = await t.ctx.db.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'consent.view').execute();
    expect(audited).toContainEqual({ action: 'consent.view', target: pupil.person.id });
  });

  it('grants face consent once, enrols a photo, and revoking deletes the photo', async () => {
    const missingGuardian = await call(admin, 'POST', `/persons/${pupil.person.id}/consents`, { purpose: 'face', givenBy: 'guardian' });
    expect(missingGuardian.statusCode).toBe(400);
    expect(missingGuardian.json().message).toContain('请选择是哪位监护人');

    const refused = await enrolPhoto(pupil.person.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toContain('尚未授权人脸识别');

    const granted = await call(admin, 'POST', `/persons/${pupil.person.id}/consents`, { purpose: 'face', givenBy: 'guardian', guardianId: pupil.guardianId, note: '纸质授权书已存档' });
    expect(granted.statusCode, granted.body).toBe(200);
    const accounts = await t.ctx.db.selectFrom('users').select(['id', 'username']).where('username', 'in', ['consent-admin', 'consent-admin2']).execute();
    const idOf = (username: string) => accounts.find((a) => a.username === username)!.id;
    const recorder = { userId: idOf('consent-admin'), username: 'consent-admin', displayName: '钱校长' };
    expect(granted.json()).toMatchObject({ purpose: 'face', givenBy: 'guardian', note: '纸质授权书已存档', revokedAt: null, recordedBy: recorder, revokedBy: null });
    const twice = await call(admin, 'POST', `/persons/${pupil.person.id}/consents`, { purpose: 'face', givenBy: 'self' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().message).toContain('已有有效的人脸识别授权');

    const enrolled = await enrolPhoto(pupil.person.id);
    expect(enrolled.statusCode, enrolled.body).toBe(200);

    const revoked = await call(otherAdmin, 'DELETE', `/persons/${pupil.person.id}/consents?purpose=face`);
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toEqual({ revoked: 1, faceDescriptorsDeleted: 1 });
    const again = await call(admin, 'DELETE', `/persons/${pupil.person.id}/consents?purpose=face`);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('没有有效的人脸识别授权，无需撤回');

    const after = (await call(admin, 'GET', `/persons/${pupil.person.id}/consents`)).json();
    expect(after.faceDescriptors).toBe(0);
    const face = after.items.find((c: { purpose: string }) => c.purpose === 'face');
    expect(face.revokedAt).toBe(t.ctx.now());
    expect(face.recordedBy).toEqual(recorder);
    expect(face.revokedBy).toEqual({ userId: idOf('consent-admin2'), username: 'consent-admin2', displayName: '孙主任' });
    const actions = await t.ctx.db.selectFrom('audit_log').select('action').where('target', '=', pupil.person.id).execute();
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['consent.grant', 'consent.revoke', 'face.enrol']));
  });

  it('refuses a person of another school', async () => {
    const elsewhere = await buildSchool(t.ctx, { name: '别的小学' });
    const stranger = await buildStudent(t.ctx, elsewhere.id);
    const response = await call(admin, 'GET', `/persons/${stranger.person.id}/consents`);
    expect(response.statusCode).toBe(404);
  });
});
