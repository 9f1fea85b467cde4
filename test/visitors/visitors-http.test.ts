import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { listVisitorsForDay } from '../../src/modules/visitors/service.js';
import { makeIdNumber, makePhone } from '../../src/shared/synthetic.js';
import { instantOf } from '../../src/shared/time.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStaff } from '../helpers/factories.js';

const APP_KEY = 'visitor-test';
const APP_SECRET = 'visitor-test-secret';
const PASSWORD = 'visitor-test-password';
const DAY = '2026-12-07';

interface Session {
  headers: Record<string, string>;
}

interface Reply {
  status: number;
  body: any;
}

let idSeed = 700;
/** Make a synthetic ID number that no other test of this file uses. */
function nextIdNumber(): string {
  idSeed += 1;
  return makeIdNumber(idSeed, `1985-0${1 + (idSeed % 9)}-1${idSeed % 9}`);
}

describe.each(DIALECTS)('visitors over HTTP on %s', (dialect) => {
  let t: TestDb;
  let bureau: BureauSimulator;
  let app: HttpApp;
  let baseUrl: string;
  let school: { id: string; code: string };
  let otherSchool: { id: string; code: string };
  let guard: Session;
  let host: Session;
  let otherTeacher: Session;
  let otherAdmin: Session;
  let doctor: Session;

  async function call(method: string, path: string, session: Session, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { ...session.headers, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  async function signIn(username: string, role: string, schoolCode: string): Promise<Session> {
    await createUser(t.ctx, { username, displayName: `${username}老师`, role, schoolCode, password: PASSWORD }, null);
    const response = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]);
    const csrf = cookies.find((c) => c.startsWith('fk_csrf='))!.slice('fk_csrf='.length);
    return { headers: { cookie: cookies.join('; '), 'x-csrf-token': csrf } };
  }

  function register(session: Session, fields: Record<string, unknown>, code = school.code): Promise<Reply> {
    return call('POST', `/api/schools/${code}/visitors`, session, { name: '钱访客', purpose: '维修教室空调', day: DAY, from: '09:00', to: '11:00', ...fields });
  }

  beforeAll(async () => {
    bureau = await startBureauSimulator({ appKey: APP_KEY, appSecret: APP_SECRET });
    const base = loadConfig({});
    t = await createTestDb(dialect, {
      bureau: { ...base.bureau, url: bureau.url, appKey: APP_KEY, appSecret: APP_SECRET, concurrency: 2, requestsPerSecond: 500, timeoutMs: 300, maxAttempts: 1 },
      venues: { ...base.venues, bureauDeadlineMs: 1500 },
    });
    t.setNow(instantOf(DAY, '08:30'));
    app = await buildApp(t.ctx);
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    school = await buildSchool(t.ctx, { name: '访客小学' });
    otherSchool = await buildSchool(t.ctx, { name: '隔壁小学' });
    await buildStaff(t.ctx, school.id, 'school_doctor');
    await buildStaff(t.ctx, school.id, 'management');
    const suffix = dialect.slice(0, 2);
    guard = await signIn(`guard${suffix}`, 'guard', school.code);
    host = await signIn(`host${suffix}`, 'teacher', school.code);
    otherTeacher = await signIn(`teach${suffix}`, 'teacher', school.code);
    otherAdmin = await signIn(`admin${suffix}`, 'school_admin', otherSchool.code);
    doctor = await signIn(`doctor${suffix}`, 'school_doctor', school.code);
  });

  afterAll(async () => {
    await app?.close();
    await closeBureauClient(t.ctx);
    await bureau?.close();
    await t?.close();
  });

  describe('registration', () => {
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['neither ID number nor phone', {}, ['身份证号 / 手机号：至少填写一项']],
      ['a wrong check digit', { idNumber: '110101199003078671' }, ['身份证号 **************8671', '校验']],
      ['a phone that is not a mobile', { phone: '0571-8888' }, ['手机号', '以 1 开头的 11 位数字']],
      ['a window that ends before it starts', { phone: makePhone(1), from: '10:00', to: '09:30' }, ['预计离开时间：09:30 不晚于预计到达时间 10:00']],
      ['a day in the past', { phone: makePhone(1), day: '2026-12-06' }, ['到访日期：2026-12-06 已经过去']],
      ['no purpose', { phone: makePhone(1), purpose: ' ' }, ['来访事由']],
    ];

    it.each(cases)('refuses %s with a Chinese message naming the field', async (_case, fields, expected) => {
      const reply = await register(host, fields);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('VALIDATION');
      for (const text of expected) expect(reply.body.message).toContain(text);
      expect(reply.body.message).not.toContain('110101199003078671');
    });

    it('rejects a misspelt field and stores nothing', async () => {
      const before = await t.ctx.db.selectFrom('visitors').select(({ fn }) => fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
      const reply = await register(host, { phone: makePhone(2), hostname: '王老师', note: '带工具箱' });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('VALIDATION');
      expect(reply.body.message).toBe('输入不正确：请求体有误：不支持字段 hostname、note，请删除或改正：hostname 应写作 hostName（接待人）');
      const after = await t.ctx.db.selectFrom('visitors').select(({ fn }) => fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
      expect(Number(after.count)).toBe(Number(before.count));
    });

    it('stores the ID number encrypted and shows only its last 4 characters', async () => {
      const idNumber = nextIdNumber();
      const reply = await register(host, { idNumber: ` ${idNumber.toLowerCase()} `, phone: makePhone(2) });
      expect(reply.status).toBe(200);
      expect(reply.body.idNumberMasked).toBe(`${'*'.repeat(14)}${idNumber.slice(-4)}`);
      expect(reply.body.phoneMasked).toBe(`*******${makePhone(2).slice(-4)}`);
      expect(reply.body.hostName).toBe(`host${dialect.slice(0, 2)}老师`);
      expect(reply.body.status).toBe('expected');

      const row = await t.ctx.db.selectFrom('visitors').selectAll().where('id', '=', reply.body.id).executeTakeFirstOrThrow();
      expect(row.id_number_enc).not.toContain(idNumber);
      expect(t.ctx.cipher.decrypt(row.id_number_enc!)).toBe(idNumber);
      expect(row.id_number_hash).toBe(t.ctx.cipher.hash(idNumber));

      const list = await call('GET', `/api/schools/${school.code}/visitors?day=${DAY}`, guard);
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).not.toContain(idNumber);
      const audits = await t.ctx.db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'visitor.list.view').where('school_id', '=', school.id).execute();
      expect(audits.length).toBeGreaterThan(0);

      const found = await call('POST', `/api/schools/${school.code}/visitors/search`, guard, { idNumber, day: DAY });
      expect(found.body.visitors.map((v: { id: string }) => v.id)).toEqual([reply.body.id]);
    });
  });

  describe('at the gate', () => {
    it('lets a registered green visitor in and records the exit, refusing an exit before the entry', async () => {
      const idNumber = nextIdNumber();
      const visitor = (await register(host, { idNumber, name: '孙来访' })).body;

      const early = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/exit`, guard, {});
      expect(early.status).toBe(409);
      expect(early.body.message).toContain('尚未登记入校，不能登记离校');

      t.setNow(instantOf(DAY, '08:45'));
      const arrival = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.6 });
      expect(arrival.status, JSON.stringify(arrival.body)).toBe(200);
      expect(arrival.body).toMatchObject({ decision: 'pass', reason: 'ok', code: { color: 'green', source: 'bureau' } });
      expect(arrival.body.prompt).toContain('准予入校');
      expect(arrival.body.visitor.enteredAt).toBe(instantOf(DAY, '08:45'));

      const again = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.6 });
      expect(again.status).toBe(409);

      t.setNow(instantOf(DAY, '08:58'));
      const before = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/exit`, guard, { at: '08:40' });
      expect(before.status).toBe(400);
      expect(before.body.message).toContain('离校时间：08:40 早于入校时间 08:45');

      const exit = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/exit`, guard, { at: '08:55' });
      expect(exit.status).toBe(200);
      expect(exit.body).toMatchObject({ status: 'left', exitedAt: instantOf(DAY, '08:55'), enteredAt: instantOf(DAY, '08:45') });
    });

    it('refuses temperatures outside 34-43 °C with a message naming the field', async () => {
      const visitor = (await register(host, { phone: makePhone(3) })).body;
      for (const temperature of [3.7, 373, 'abc']) {
        const reply = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature });
        expect(reply.status).toBe(400);
        expect(reply.body.message).toContain('体温');
      }
    });

    it('denies a fever and raises the gate alert with notices to the doctor', async () => {
      const visitor = (await register(host, { idNumber: nextIdNumber(), name: '周发热' })).body;
      const reply = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 37.9 });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ decision: 'deny', reason: 'fever', alerts: ['fever'] });
      expect(reply.body.prompt).toContain('禁止入校');
      expect(reply.body.visitor.status).toBe('denied');
      expect(reply.body.visitor.enteredAt).toBeNull();

      const alerts = await t.ctx.db.selectFrom('alerts').selectAll().where('school_id', '=', school.id).where('title', 'like', '%周发热%').execute();
      expect(alerts.map((a) => a.kind)).toEqual(['fever']);
      const notices = await t.ctx.db.selectFrom('outbox').select('kind').where('school_id', '=', school.id).where('idempotency_key', 'like', `visitor:%:fever:%`).execute();
      expect(notices.length).toBeGreaterThanOrEqual(2);

      const recheck = await call('POST', `/api/schools/${school.code}/alerts/${alerts[0].id}/recheck`, doctor, { temperature: 36.8 });
      expect(recheck.status).toBe(409);
      expect(recheck.body.message).toContain('访客的体温异常预警不记复测结果');
      const close = await call('POST', `/api/schools/${school.code}/alerts/${alerts[0].id}/close`, doctor, { note: '复测 36.8 °C，访客已离开' });
      expect(close.status).toBe(200);
      expect(close.body.status).toBe('closed');
    });

    it('denies a red code and raises a code alert', async () => {
      const idNumber = nextIdNumber();
      bureau.setCode(idNumber, 'red');
      const visitor = (await register(host, { idNumber, name: '吴红码' })).body;
      const reply = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.4 });
      expect(reply.body).toMatchObject({ decision: 'deny', reason: 'code_red', code: { color: 'red', source: 'bureau' }, alerts: ['code'] });
      const alerts = await t.ctx.db.selectFrom('alerts').select('title').where('school_id', '=', school.id).where('kind', '=', 'code').execute();
      expect(alerts.map((a) => a.title)).toContain('访客 吴红码 健康码红码');
    });

    it('never turns a failed bureau into green, and passes on a later check', async () => {
      const visitor = (await register(host, { idNumber: nextIdNumber(), name: '郑待查' })).body;
      bureau.setFaults({ outage: true });
      try {
        const reply = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.5, shownCode: 'green' });
        expect(reply.body).toMatchObject({ decision: 'deny', reason: 'code_unknown', code: { color: 'unknown', source: 'unavailable' }, alerts: [] });
        expect(reply.body.prompt).toContain('联系学校管理人员');
      } finally {
        bureau.setFaults({ outage: false });
      }
      const retry = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.5 });
      expect(retry.body).toMatchObject({ decision: 'pass', code: { color: 'green', source: 'bureau' } });
      const checks = await t.ctx.db.selectFrom('visitor_checks').select('decision').where('visitor_id', '=', visitor.id).orderBy('checked_at').execute();
      expect(checks.map((c) => c.decision)).toEqual(['deny', 'pass']);
    });

    it('records a walk-in with the reason, and checks a phone-only visitor by the code shown', async () => {
      const missing = await call('POST', `/api/schools/${school.code}/visitors/walk-in`, guard, { name: '冯临时', phone: makePhone(4), purpose: '送快递', reason: '', temperature: 36.5 });
      expect(missing.status).toBe(400);
      expect(missing.body.message).toContain('未预约原因');

      const before = await t.ctx.db.selectFrom('visitors').select('id').where('school_id', '=', school.id).execute();
      const noCode = await call('POST', `/api/schools/${school.code}/visitors/walk-in`, guard, { name: '陈无码', phone: makePhone(5), purpose: '送教材', reason: '临时送货', temperature: 36.5 });
      expect(noCode.status).toBe(400);
      expect(noCode.body.error).toBe('VALIDATION');
      expect(noCode.body.message).toContain('请选择访客出示的健康码颜色');
      const after = await t.ctx.db.selectFrom('visitors').select('id').where('school_id', '=', school.id).execute();
      expect(after.length).toBe(before.length);

      const shown = await call('POST', `/api/schools/${school.code}/visitors/walk-in`, guard, {
        name: '冯临时',
        phone: makePhone(4),
        purpose: '送快递',
        reason: '快递员未提前预约',
        hostName: '总务处',
        temperature: '36.7',
        shownCode: 'green',
      });
      expect(shown.status, JSON.stringify(shown.body)).toBe(200);
      expect(shown.body).toMatchObject({ decision: 'pass', code: { color: 'green', source: 'shown' } });
      expect(shown.body.visitor).toMatchObject({ walkIn: true, walkInReason: '快递员未提前预约', hostName: '总务处', status: 'inside' });

      const byTeacher = await call('POST', `/api/schools/${school.code}/visitors/walk-in`, host, { name: '冯临时', phone: makePhone(4), purpose: '送快递', reason: '未预约', temperature: 36.5 });
      expect(byTeacher.status).toBe(403);
    });
  });

  describe('phone-only visitor without a shown code', () => {
    it('rejects the check and records no denial, then passes with the colour', async () => {
      const visitor = (await register(host, { phone: makePhone(7), name: '韩仅手机' })).body;
      const noCode = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.5 });
      expect(noCode.status).toBe(400);
      expect(noCode.body.message).toContain('请选择访客出示的健康码颜色');
      expect(noCode.body.message).toContain('联系学校管理人员人工核验');

      const both = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 365 });
      expect(both.status).toBe(400);
      expect(both.body.message).toContain('体温：365 ℃ 不在 34–43 ℃ 之间');
      expect(both.body.message).toContain('请选择访客出示的健康码颜色');

      const stored = await t.ctx.db.selectFrom('visitors').select('status').where('id', '=', visitor.id).executeTakeFirstOrThrow();
      expect(stored.status).toBe('expected');
      const checks = await t.ctx.db.selectFrom('visitor_checks').select('id').where('visitor_id', '=', visitor.id).execute();
      expect(checks).toEqual([]);

      const shown = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.5, shownCode: 'green' });
      expect(shown.body).toMatchObject({ decision: 'pass', code: { color: 'green', source: 'shown' } });
    });

    it('does not ask for a colour when the ID number is on record', async () => {
      const visitor = (await register(host, { idNumber: nextIdNumber(), name: '魏有证' })).body;
      const reply = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/arrive`, guard, { temperature: 36.5 });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body).toMatchObject({ decision: 'pass', code: { source: 'bureau' } });
    });
  });

  describe('scope and the day', () => {
    it('shows a school only its own visitors, and a teacher only the visitors they host', async () => {
      const visitor = (await register(host, { phone: makePhone(6), name: '褚本校' })).body;
      const foreignList = await call('GET', `/api/schools/${school.code}/visitors`, otherAdmin);
      expect(foreignList.status).toBe(403);
      const foreignArrive = await call('POST', `/api/schools/${otherSchool.code}/visitors/${visitor.id}/arrive`, otherAdmin, { temperature: 36.5 });
      expect(foreignArrive.status).toBe(404);
      const ownList = await call('GET', `/api/schools/${otherSchool.code}/visitors?day=${DAY}`, otherAdmin);
      expect(ownList.body.visitors).toEqual([]);

      const mine = await call('GET', `/api/schools/${school.code}/visitors?day=${DAY}`, otherTeacher);
      expect(mine.body.visitors).toEqual([]);
      const hosted = await call('GET', `/api/schools/${school.code}/visitors?day=${DAY}`, host);
      expect(hosted.body.visitors.map((v: { name: string }) => v.name)).toContain('褚本校');

      const cancelByOther = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/cancel`, otherTeacher);
      expect(cancelByOther.status).toBe(403);
      const cancel = await call('POST', `/api/schools/${school.code}/visitors/${visitor.id}/cancel`, host);
      expect(cancel.body.status).toBe('cancelled');
    });

    it('counts the day for the daily report without raw ID numbers', async () => {
      const day = await listVisitorsForDay(t.ctx, school.id, DAY);
      const byStatus = (status: string) => day.visitors.filter((v) => v.status === status).length;
      expect(day.counts).toMatchObject({
        // The walk-in without a shown code was rejected before it was stored.
        walkIns: 1,
        inside: byStatus('inside'),
        left: 1,
        denied: byStatus('denied'),
        expected: byStatus('expected'),
        fevers: 1,
        abnormalCodes: 1,
      });
      expect(day.counts.registered + day.counts.walkIns).toBe(day.visitors.filter((v) => v.status !== 'cancelled').length);
      expect(day.counts.entered).toBe(day.visitors.filter((v) => v.enteredAt !== null).length);
      for (const visitor of day.visitors) {
        expect(Object.keys(visitor)).not.toContain('idNumber');
        if (visitor.idNumberMasked) expect(visitor.idNumberMasked).toMatch(/^\*{14}[0-9X]{4}$/);
      }
    });
  });
});
