import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { runCli } from '../../src/main.js';
import { searchAuditLog } from '../../src/modules/auth/audit.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { createUser } from '../../src/modules/auth/service.js';
import { insertConsent } from '../../src/modules/people/store.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { buildPupil } from './helpers.js';

/**
 * The face HTTP routes and command-line commands on one database: what they add over the
 * service (multipart, authorisation, Chinese messages, output) does not depend on the dialect.
 */

const FIXTURES = join(import.meta.dirname, '../fixtures/faces');
const photoPath = (path: string) => join(FIXTURES, path);
const PASSWORD = 'Face-Pass-2026';
/** The key createTestDb gives the field cipher, so the command line reads the same data. */
const TEST_KEY_HEX = '07'.repeat(32);

interface Session {
  cookie: string;
  csrf: string;
}

async function multipartBody(bytes: Uint8Array, fileName: string, field = 'image'): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)]), fileName);
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

/** Run `fangkong ARGS` in this process, capturing stdout, stderr and the exit code. */
async function fangkong(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  const saved = { ...process.env };
  const output = { stdout: '', stderr: '' };
  const writeStdout = process.stdout.write;
  const writeStderr = process.stderr.write;
  Object.assign(process.env, env);
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string) => {
    output.stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    output.stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    await runCli(args);
    return { status: Number(process.exitCode ?? 0), ...output };
  } finally {
    process.stdout.write = writeStdout;
    process.stderr.write = writeStderr;
    process.exitCode = undefined;
    process.env = saved;
  }
}

describe(`${DIALECTS[0]}: face over HTTP and the command line`, () => {
  let t: TestDb;
  let app: HttpApp;
  let school: { id: string; code: string };
  let pupil: { id: string; studentNumber: string };
  let admin: Session;
  let teacher: Session;

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string }>;
    const session = cookies.find((c) => c.name === 'fk_session')!;
    const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
    return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
  }

  async function send(method: 'POST' | 'DELETE', url: string, file: string | null, session: Session = admin): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { cookie: session.cookie, 'x-csrf-token': session.csrf };
    if (!file) return app.inject({ method, url, headers });
    const { body, contentType } = await multipartBody(readFileSync(photoPath(file)), file.split('/').pop()!);
    return app.inject({ method, url, payload: body, headers: { ...headers, 'content-type': contentType } });
  }

  const cli = (args: string[]) =>
    fangkong(args, { FANGKONG_DATA_DIR: t.dataDir, FANGKONG_DATABASE_URL: t.ctx.config.databaseUrl, FANGKONG_SECRET_KEY: TEST_KEY_HEX, FANGKONG_LOG_LEVEL: 'silent' });

  beforeAll(async () => {
    t = await createTestDb(DIALECTS[0]);
    app = await buildApp(t.ctx);
    school = await buildSchool(t.ctx, { name: '人脸小学' });
    const built = await buildPupil(t.ctx, school.id);
    pupil = { id: built.person.id, studentNumber: built.person.student_number! };
    await insertConsent(t.ctx.db, { id: newId(), person_id: pupil.id, purpose: 'face', given_by: 'guardian', guardian_id: built.guardianId, given_at: t.ctx.now(), revoked_at: null, note: null });
    await createUser(t.ctx, { username: 'face-admin', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'face-teacher', role: 'teacher', schoolCode: school.code, password: PASSWORD }, null);
    admin = await signIn('face-admin');
    teacher = await signIn('face-teacher');
  });

  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('refuses a photo without a face with the Chinese reason', async () => {
    const response = await send('POST', `/api/schools/${school.code}/persons/${pupil.id}/face`, 'no-face/inspireface_view.jpg');
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ error: 'FACE_REJECTED', message: '照片中未检测到人脸，请正对镜头、露出面部后重拍', details: { reason: 'NO_FACE' } });
  });

  it('refuses a teacher and a missing file', async () => {
    const forbidden = await send('POST', `/api/schools/${school.code}/persons/${pupil.id}/face`, 'face_recognition/obama/obama.jpg', teacher);
    expect(forbidden.statusCode).toBe(403);
    const empty = await send('POST', `/api/schools/${school.code}/persons/${pupil.id}/face`, null);
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toContain('multipart/form-data');
  });

  it('refuses a photo over 5 MB', async () => {
    const big = Buffer.concat([readFileSync(photoPath('face_recognition/obama/obama.jpg')), Buffer.alloc(6 * 1024 * 1024)]);
    const { body, contentType } = await multipartBody(big, 'big.jpg');
    const response = await app.inject({
      method: 'POST',
      url: `/api/schools/${school.code}/persons/${pupil.id}/face`,
      payload: body,
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': contentType },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ error: 'FACE_REJECTED', message: '照片过大，上限为 5 MB，请压缩后重新上传', details: { reason: 'IMAGE_TOO_LARGE' } });
  });

  it('enrols, identifies and deletes over HTTP', async () => {
    const enrolled = await send('POST', `/api/schools/${school.code}/persons/${pupil.id}/face`, 'face_recognition/obama/obama.jpg');
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    expect(enrolled.json()).toMatchObject({ personId: pupil.id, descriptorCount: 1 });

    const identified = await send('POST', `/api/schools/${school.code}/identify`, 'face_recognition/obama/obama2.jpg');
    expect(identified.statusCode, identified.body).toBe(200);
    expect(identified.json()).toMatchObject({ decision: 'match', personId: pupil.id });

    const deleted = await send('DELETE', `/api/schools/${school.code}/persons/${pupil.id}/face`, null);
    expect(deleted.json()).toEqual({ deleted: 1 });
    const actions = await t.ctx.db.selectFrom('audit_log').select('action').where('action', 'like', 'face.%').execute();
    expect(actions.map((a) => a.action).sort()).toEqual(['face.delete', 'face.enrol', 'face.identify']);
  });

  it('enrols by student number and identifies on the command line', async () => {
    const enrolled = await cli(['enroll-face', '--school', school.code, photoPath('face_recognition/obama/obama.jpg'), '--person', pupil.studentNumber]);
    expect(enrolled.stderr).toBe('');
    expect(enrolled.status).toBe(0);
    expect(enrolled.stdout).toMatch(/^已为 .+ 录入人脸（检测置信度 0\.\d\d，现有 1 张）\n$/);

    const identified = await cli(['identify', '--school', school.code, photoPath('face_recognition/obama/obama3.jpg'), '--json']);
    expect(identified.status).toBe(0);
    const body = JSON.parse(identified.stdout);
    expect(body).toMatchObject({ decision: 'match', personId: pupil.id, person: { id: pupil.id, number: pupil.studentNumber }, gallery: { persons: 1, descriptors: 1 } });
    expect(body.distance).toBeLessThan(0.5);

    const text = await cli(['identify', '--school', school.code, photoPath('face_recognition/rose_leslie/img1.jpg')]);
    expect(text.stdout).toMatch(/^门禁判定：未识别\n最相近的人距离 0\.\d{3}，超过阈值，不显示姓名\n$/);
  });

  it('enrols a folder with progress on stderr', async () => {
    const other = await buildPupil(t.ctx, school.id);
    await insertConsent(t.ctx.db, { id: newId(), person_id: other.person.id, purpose: 'face', given_by: 'guardian', guardian_id: other.guardianId, given_at: t.ctx.now(), revoked_at: null, note: null });
    const folder = join(t.dataDir, 'cli-photos');
    mkdirSync(folder);
    copyFileSync(photoPath('face_recognition/biden/biden2.jpg'), join(folder, `${other.idNumber}.jpg`));

    const first = await cli(['enroll-face', '--school', school.code, folder]);
    expect(first.status).toBe(0);
    const masked = `${other.idNumber.slice(0, 3)}***********${other.idNumber.slice(-4)}.jpg`;
    expect(first.stderr).toBe(`[1/1] ${masked} 已录入\n`);
    expect(first.stdout).toBe('共 1 张照片：本次录入 1 张，此前已录入跳过 0 张，失败 0 张\n');

    const again = await cli(['enroll-face', '--school', school.code, folder, '--json']);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toMatchObject({ resumed: true, total: 1, enrolled: 0, skipped: 1, failed: [] });
  });

  it('audits command-line enrolments under the school', async () => {
    const reader: AuthUser = { id: 'face-test-reader', username: 'reader', displayName: '区管理员', role: 'district_admin', schoolId: null, classId: null, personId: null, sessionId: 'none' };
    const { entries } = await searchAuditLog(t.ctx, reader, { action: 'face.', limit: 500 });
    const cliEntries = entries.filter((entry) => entry.username === null);

    const folders = cliEntries.filter((entry) => entry.action === 'face.enrol_folder');
    expect(folders).toHaveLength(2);
    for (const entry of folders) {
      expect(entry.schoolId).toBe(school.id);
      expect(entry.target).toBe(school.code);
      expect(entry.targetLabel).toBe(`人脸小学（${school.code}）`);
    }

    const single = cliEntries.find((entry) => entry.action === 'face.enrol');
    expect(single?.schoolId).toBe(school.id);
    expect(single?.target).toBe(pupil.id);
    const person = await t.ctx.db.selectFrom('persons').select('name').where('id', '=', pupil.id).executeTakeFirstOrThrow();
    expect(single?.targetLabel).toBe(`${person.name}（人脸小学 · 二(3)班）`);
  });

  it('explains command-line mistakes', async () => {
    const noPerson = await cli(['enroll-face', '--school', school.code, photoPath('face_recognition/obama/obama.jpg')]);
    expect(noPerson.status).toBe(2);
    expect(noPerson.stderr).toContain('单张照片需要 --person');

    const unknown = await cli(['enroll-face', '--school', school.code, photoPath('face_recognition/obama/obama.jpg'), '--person', 'XS404']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe('未找到人员（按内部编号、学号、工号或身份证号查找）：XS404\n');
  });
});
