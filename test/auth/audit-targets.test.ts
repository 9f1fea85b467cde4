import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { newId } from '../../src/shared/ids.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';
import { eventually } from '../helpers/wait.js';
import { APP_KEY, APP_SECRET, startBureau } from '../healthcode/harness.js';
import { STUDENT_HEADERS, buildXlsx, pupil, studentRow } from '../people/roster-fixtures.js';

/**
 * The audit list names the school an entry concerns as 名称（代码）: for entries written
 * now, which store the school code, and for older entries, which stored the school id.
 */

const PASSWORD = 'Audit-Pass-2026';
const ROBOT_SECRET = 'SECaudit-robot-secret';
const NO_FACE_PHOTO = join(import.meta.dirname, '../fixtures/faces/no-face/inspireface_view.jpg');

/** Actions that stored the school id as their target before the code became the rule. */
const FIXED_ACTIONS = [
  'persons.view',
  'roster.import',
  'roster.export',
  'roster.rejected_export',
  'healthcode.codes.view',
  'healthcode.sync.start',
  'healthcode.schedule.update',
  'dingtalk.test',
  'face.identify',
];

interface Session {
  cookie: string;
  csrf: string;
}

interface ListedEntry {
  id: string;
  action: string;
  target: string | null;
  targetLabel: string | null;
  schoolId: string | null;
}

async function multipartBody(bytes: Uint8Array, field: string, fileName: string): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)]), fileName);
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

describe.each(DIALECTS)('%s: audit targets by name', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let bureau: Awaited<ReturnType<typeof startBureau>>;
  let dingtalk: DingTalkSimulator;
  let school: { id: string; code: string; name: string };
  let otherSchool: { id: string; code: string; name: string };
  let admin: Session;
  let district: Session;
  let student: Awaited<ReturnType<typeof buildStudent>>;

  async function signIn(username: string): Promise<Session> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    const cookies = response.cookies as Array<{ name: string; value: string }>;
    const session = cookies.find((c) => c.name === 'fk_session')!;
    const csrf = cookies.find((c) => c.name === 'fk_csrf')!;
    return { cookie: `fk_session=${session.value}; fk_csrf=${csrf.value}`, csrf: csrf.value };
  }

  const get = (url: string, session: Session = admin) => app.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
  const send = (method: 'POST' | 'PUT', url: string, payload: object = {}, session: Session = admin) =>
    app.inject({ method, url, payload, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });

  async function upload(url: string, bytes: Uint8Array, field: string, fileName: string): Promise<LightMyRequestResponse> {
    const { body, contentType } = await multipartBody(bytes, field, fileName);
    return app.inject({ method: 'POST', url, payload: body, headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': contentType } });
  }

  async function listAudit(session: Session): Promise<ListedEntry[]> {
    const response = await get('/api/audit?limit=500', session);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().entries as ListedEntry[];
  }

  /** Write an entry as an older release did, bypassing the audit service. */
  async function insertOldEntry(action: string, target: string, schoolId: string | null, detail: Record<string, unknown> = {}): Promise<string> {
    const id = newId(t.ctx.now());
    await t.ctx.db
      .insertInto('audit_log')
      .values({ id, at: t.ctx.now(), user_id: null, username: 'old-release', school_id: schoolId, action, target, detail: JSON.stringify(detail), ip: null })
      .execute();
    return id;
  }

  beforeAll(async () => {
    bureau = await startBureau();
    dingtalk = await startDingTalkSimulator({ port: 0, appKey: 'audit-app-key', appSecret: 'audit-app-secret', robotSecret: ROBOT_SECRET, robotPenaltyMs: 0 });
    t = await createTestDb(dialect, {
      bureau: { url: bureau.simulator.url, appKey: APP_KEY, appSecret: APP_SECRET, concurrency: 2, requestsPerSecond: 200, timeoutMs: 2000, maxAttempts: 2, staleAfterMinutes: 60 },
      dingtalk: { apiUrl: dingtalk.url, appKey: '', appSecret: '', agentId: '', robotWebhook: dingtalk.robotWebhook, robotSecret: ROBOT_SECRET },
    });
    app = await buildApp(t.ctx);

    school = await buildSchool(t.ctx, { name: '审计实验小学' });
    otherSchool = await buildSchool(t.ctx, { name: '审计第二小学' });
    student = await buildStudent(t.ctx, school.id, { grade: 2, classNumber: 3 });
    await createUser(t.ctx, { username: 'audit-admin', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: 'audit-district', role: 'district_admin', password: PASSWORD }, null);
    admin = await signIn('audit-admin');
    district = await signIn('audit-district');
  });

  afterAll(async () => {
    await app?.close();
    if (t) await closeBureauClient(t.ctx);
    await bureau?.close();
    await dingtalk?.close();
    await t?.close();
  });

  it('school actions store the code and list the name', async () => {
    const base = `/api/schools/${school.code}`;
    expect((await get(`${base}/persons`)).statusCode).toBe(200);
    expect((await get(`${base}/codes`)).statusCode).toBe(200);
    expect((await send('PUT', `${base}/sync-schedule`, { preset: 'daily-0430' })).statusCode).toBe(200);

    const sync = await send('POST', `${base}/sync`);
    expect(sync.statusCode, sync.body).toBe(202);
    // The sync runs in the background; let it finish before the database closes.
    await eventually(async () => (await get(`${base}/sync-runs`)).json().items.every((run: { status: string }) => run.status !== 'running'));

    const dingtalkTest = await send('POST', `${base}/dingtalk/test`);
    expect(dingtalkTest.statusCode, dingtalkTest.body).toBe(200);

    const roster = await buildXlsx({ titles: ['审计实验小学学生名单'], headers: STUDENT_HEADERS, rows: [studentRow(pupil(8100), '', '二(3)班', 'SJ1')] });
    const imported = await upload(`${base}/roster`, roster, 'file', 'roster.xlsx');
    expect(imported.statusCode, imported.body).toBe(200);
    expect((await get(`${base}/roster.csv`)).statusCode).toBe(200);
    const rejected = { row: 3, problems: [{ column: '班级', value: '9班', reason: '班级不存在' }] };
    expect((await send('POST', `${base}/roster/rejected.xlsx`, { rejected: [rejected] })).statusCode).toBe(200);

    const identified = await upload(`${base}/identify`, readFileSync(NO_FACE_PHOTO), 'image', 'no-face.jpg');
    expect(identified.statusCode, identified.body).toBe(200);

    const stored = await t.ctx.db.selectFrom('audit_log').select(['action', 'target']).where('action', 'in', FIXED_ACTIONS).execute();
    expect(new Set(stored.map((row) => row.action))).toEqual(new Set(FIXED_ACTIONS));
    for (const row of stored) expect(row.target, row.action).toBe(school.code);

    const label = `审计实验小学（${school.code}）`;
    for (const session of [admin, district]) {
      const listed = (await listAudit(session)).filter((entry) => FIXED_ACTIONS.includes(entry.action));
      expect(new Set(listed.map((entry) => entry.action))).toEqual(new Set(FIXED_ACTIONS));
      for (const entry of listed) {
        expect(entry.target, entry.action).toBe(school.code);
        expect(entry.targetLabel, entry.action).toBe(label);
      }
    }
  });

  it('old entries with a school id list the name and code', async () => {
    const ids = new Map<string, string>();
    for (const action of FIXED_ACTIONS) ids.set(await insertOldEntry(action, otherSchool.id, otherSchool.id), action);

    const listed = (await listAudit(district)).filter((entry) => ids.has(entry.id));
    expect(listed).toHaveLength(FIXED_ACTIONS.length);
    for (const entry of listed) {
      expect(entry.target, entry.action).toBe(otherSchool.id);
      expect(entry.targetLabel, entry.action).toBe(`审计第二小学（${otherSchool.code}）`);
    }

    // A school admin sees only the entries of their own school, so none of these.
    const own = await listAudit(admin);
    expect(own.some((entry) => entry.target === otherSchool.id)).toBe(false);
  });

  it('names persons, classes, devices, districts and report days', async () => {
    const districtRow = await t.ctx.db.selectFrom('districts').select(['id', 'code', 'name']).executeTakeFirstOrThrow();
    const cases: Array<{ action: string; target: string; detail?: Record<string, unknown>; label: string | null }> = [
      { action: 'consent.view', target: student.person.id, label: `${student.person.name}（审计实验小学 · 二(3)班）` },
      { action: 'checks.save', target: student.person.class_id!, label: '审计实验小学 · 二(3)班' },
      { action: 'device.create', target: newId(), detail: { name: '东门 1 号通道（平板）' }, label: '东门 1 号通道（平板）' },
      { action: 'report.deadline', target: districtRow.id, label: `${districtRow.name}（${districtRow.code}）` },
      { action: 'report.build', target: `${school.code}:2026-12-07`, label: `审计实验小学（${school.code}）· 2026-12-07` },
      // A school that no longer exists, and an action whose target needs no name.
      { action: 'persons.view', target: newId(), label: null },
      { action: 'auth.login', target: 'audit-admin', label: null },
    ];
    const ids = new Map<string, (typeof cases)[number]>();
    for (const item of cases) ids.set(await insertOldEntry(item.action, item.target, school.id, item.detail), item);

    const listed = await listAudit(district);
    for (const [id, item] of ids) {
      const entry = listed.find((e) => e.id === id);
      expect(entry, item.action).toBeDefined();
      expect(entry!.target, item.action).toBe(item.target);
      expect(entry!.targetLabel, item.action).toBe(item.label);
    }
  });
});
