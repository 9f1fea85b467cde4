import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { authenticateDevice, createDevice } from '../../src/modules/gate/devices.js';
import { assignCard } from '../../src/modules/gate/cards.js';
import { updateSchoolSettings } from '../../src/modules/people/service.js';
import { forgetSchoolGateSettings } from '../../src/modules/gate/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { bearer, buildGateWorld, setCode, signIn } from './helpers.js';

describe.each(DIALECTS)('%s: gate device API', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;
  let sequence = 0;
  const cardOf = new Map<string, string>();

  const at = (time: string) => instantOf('2026-12-07', time);
  const countRows = async (table: 'gate_events' | 'alerts' | 'outbox' | 'attendance') =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(t.ctx.db)).rows[0].n);

  const post = (body: unknown, headers: Record<string, string> = bearer(world.api)) =>
    app.inject({ method: 'POST', url: '/api/devices/events', headers, payload: body as object });

  const cardEvent = (personId: string, extra: Record<string, unknown> = {}) => {
    sequence += 1;
    return { eventId: `e${sequence}`, occurredAt: t.ctx.now(), temperature: 36.5, cardNumber: cardOf.get(personId), ...extra };
  };

  beforeAll(async () => {
    t = await createTestDb(dialect);
    world = await buildGateWorld(t.ctx);
    app = await buildApp(t.ctx);
    for (const [i, person] of [world.pupil.person, world.classmate.person].entries()) {
      const card = `88000${i}`;
      await assignCard(t.ctx, { schoolCode: world.school.code, cardNumber: card, personId: person.id });
      cardOf.set(person.id, card);
    }
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });
  beforeEach(async () => {
    t.setNow(at('07:15'));
    await setCode(t.ctx, world.school.id, world.pupil.person.id, 'green');
    await setCode(t.ctx, world.school.id, world.classmate.person.id, 'green');
  });

  it('stores only a hash of the device key', async () => {
    const row = await t.ctx.db.selectFrom('devices').selectAll().where('id', '=', world.api.device.id).executeTakeFirstOrThrow();
    expect(row.key_hash).not.toContain(world.api.key);
    expect(await authenticateDevice(t.ctx, world.api.device.id, world.api.key)).toBeDefined();
    expect(await authenticateDevice(t.ctx, world.api.device.id, world.terminal.key)).toBeUndefined();
  });

  it('rejects an unknown device kind or direction', async () => {
    await expect(createDevice(t.ctx, { schoolCode: world.school.code, kind: 'dahua', name: 'x' })).rejects.toThrow('设备类型“dahua”无效');
    await expect(createDevice(t.ctx, { schoolCode: world.school.code, kind: 'api', name: 'x', direction: 'up' })).rejects.toThrow('通行方向“up”无效');
    await expect(createDevice(t.ctx, { schoolCode: 'NOPE', kind: 'api', name: 'x' })).rejects.toThrow('未找到学校代码 NOPE');
  });

  it('rejects calls without a valid key and records nothing', async () => {
    const before = await countRows('gate_events');
    const body = cardEvent(world.pupil.person.id);
    const attempts: Array<Record<string, string>> = [{}, { authorization: `Bearer ${world.api.device.id}.wrongkey` }, { authorization: `Bearer NOSUCHDEVICE.${world.api.key}` }, { authorization: world.api.key }];
    for (const headers of attempts) {
      const reply = await post(body, headers);
      expect(reply.statusCode).toBe(401);
      expect(reply.json().message).toContain('设备认证失败');
    }
    expect(await countRows('gate_events')).toBe(before);
  });

  it('passes a green pupil with a normal card swipe and counts attendance', async () => {
    const reply = await post(cardEvent(world.pupil.person.id));
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ decision: 'pass', reason: 'ok', prompt: '体温正常，请通行', personId: world.pupil.person.id, duplicate: false });
    const attendance = await t.ctx.db.selectFrom('attendance').selectAll().where('person_id', '=', world.pupil.person.id).executeTakeFirstOrThrow();
    expect(attendance).toMatchObject({ day: '2026-12-07', first_pass_at: at('07:15'), late: 0, source: 'gate' });
  });

  it('answers the same eventId twice with one record', async () => {
    const body = cardEvent(world.classmate.person.id, { temperature: 37.8 });
    const first = await post(body);
    const alertsAfterFirst = await countRows('alerts');
    const outboxAfterFirst = await countRows('outbox');
    const second = await post(body);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ ...first.json(), duplicate: true });
    const rows = await t.ctx.db.selectFrom('gate_events').select('id').where('event_id', '=', body.eventId).execute();
    expect(rows).toHaveLength(1);
    expect(await countRows('alerts')).toBe(alertsAfterFirst);
    expect(await countRows('outbox')).toBe(outboxAfterFirst);
  });

  it('denies a fever and alerts the head teacher and the doctor', async () => {
    const body = cardEvent(world.pupil.person.id, { temperature: 37.6 });
    const reply = await post(body);
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'fever', prompt: '体温异常，请到临时观察点复测' });

    const alert = await t.ctx.db.selectFrom('alerts').selectAll().where('dedupe_key', '=', `gate:${world.api.device.id}:${body.eventId}:fever`).executeTakeFirstOrThrow();
    expect(alert).toMatchObject({ kind: 'fever', status: 'open', person_id: world.pupil.person.id });
    const notices = await t.ctx.db.selectFrom('outbox').selectAll().where('idempotency_key', 'like', `gate:${world.api.device.id}:${body.eventId}:fever:%`).execute();
    expect(notices.map((n) => n.recipient_person_id).sort()).toEqual([world.headTeacher.id, world.doctor.id].sort());
    expect(notices.every((n) => n.channel === 'dingtalk_work' && n.body.includes('37.6'))).toBe(true);
  });

  it('denies a red code and alerts the head teacher and management', async () => {
    await setCode(t.ctx, world.school.id, world.pupil.person.id, 'red');
    const body = cardEvent(world.pupil.person.id);
    const reply = await post(body);
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'code_red', prompt: '健康码异常，禁止通行' });
    const notices = await t.ctx.db.selectFrom('outbox').selectAll().where('idempotency_key', 'like', `gate:${world.api.device.id}:${body.eventId}:code:%`).execute();
    expect(notices.map((n) => n.recipient_person_id).sort()).toEqual([world.headTeacher.id, world.manager.id].sort());
    expect(notices[0].body).toContain('红码');
  });

  it('denies a code never synced as unknown', async () => {
    await t.ctx.db.deleteFrom('health_codes').where('person_id', '=', world.classmate.person.id).execute();
    const reply = await post(cardEvent(world.classmate.person.id));
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'code_unknown' });
  });

  it('treats a reading outside 30-45 °C as a sensor error', async () => {
    const alertsBefore = await countRows('alerts');
    const reply = await post(cardEvent(world.pupil.person.id, { temperature: 28.4 }));
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'sensor_error', prompt: '测温异常，请重新测温' });
    expect(await countRows('alerts')).toBe(alertsBefore);
  });

  it('flags a stale green code, or denies it when the school says so', async () => {
    await setCode(t.ctx, world.school.id, world.pupil.person.id, 'green', t.ctx.now() - 3 * 24 * 60 * 60 * 1000);
    const allowed = await post(cardEvent(world.pupil.person.id));
    expect(allowed.json()).toMatchObject({ decision: 'pass', flags: expect.arrayContaining(['stale_code']) });

    await updateSchoolSettings(t.ctx, world.school.id, { ...world.school.settings, gate: { staleGreenCode: 'deny' } } as never);
    forgetSchoolGateSettings(t.ctx, world.school.id);
    const denied = await post(cardEvent(world.pupil.person.id));
    expect(denied.json()).toMatchObject({ decision: 'deny', reason: 'code_stale' });
    await updateSchoolSettings(t.ctx, world.school.id, world.school.settings);
    forgetSchoolGateSettings(t.ctx, world.school.id);
  });

  it('denies an unknown card without alerting anyone', async () => {
    const alertsBefore = await countRows('alerts');
    const reply = await post({ eventId: 'unknown-card-1', occurredAt: t.ctx.now(), temperature: 36.4, cardNumber: '999999' });
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'unknown_person', prompt: '未识别身份，请联系门卫', personId: null });
    expect(await countRows('alerts')).toBe(alertsBefore);
  });

  it('identifies a person by ID number', async () => {
    const reply = await post({ eventId: 'id-1', occurredAt: t.ctx.now(), temperature: 36.4, idNumber: world.classmate.idNumber });
    expect(reply.json()).toMatchObject({ decision: 'pass', personId: world.classmate.person.id });
  });

  it('marks late arrivals and keeps the earliest pass of the day', async () => {
    const classmate = world.classmate.person.id;
    await t.ctx.db.deleteFrom('attendance').where('person_id', '=', classmate).execute();
    t.setNow(at('08:20'));
    const late = await post(cardEvent(classmate, { occurredAt: at('08:20') }));
    expect(late.json().flags).toContain('late');
    let row = await t.ctx.db.selectFrom('attendance').selectAll().where('person_id', '=', classmate).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ first_pass_at: at('08:20'), late: 1 });

    // An earlier pass that reaches the server later (a lane that was offline) wins.
    await post(cardEvent(classmate, { occurredAt: at('07:50') }));
    row = await t.ctx.db.selectFrom('attendance').selectAll().where('person_id', '=', classmate).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ first_pass_at: at('07:50'), late: 0 });

    // A later pass does not move it back.
    await post(cardEvent(classmate, { occurredAt: at('08:15') }));
    row = await t.ctx.db.selectFrom('attendance').selectAll().where('person_id', '=', classmate).executeTakeFirstOrThrow();
    expect(row.first_pass_at).toBe(at('07:50'));
  });

  it('lets everyone out at an exit lane', async () => {
    const exit = await createDevice(t.ctx, { schoolCode: world.school.code, kind: 'api', name: '东门出口', lane: '东门', direction: 'out' });
    await setCode(t.ctx, world.school.id, world.classmate.person.id, 'red');
    const attendanceBefore = await countRows('attendance');
    const alertsBefore = await countRows('alerts');
    const reply = await post(cardEvent(world.classmate.person.id, { temperature: 38.5 }), bearer(exit));
    expect(reply.json()).toMatchObject({ decision: 'pass', reason: 'exit', prompt: '请通行' });
    expect(await countRows('attendance')).toBe(attendanceBefore);
    expect(await countRows('alerts')).toBe(alertsBefore);
  });

  it('rejects malformed bodies with the reason', async () => {
    const base = { eventId: 'bad-1', occurredAt: t.ctx.now(), temperature: 36.5 };
    const descriptorFix = '请发送人脸模型输出的完整 128 维特征值';
    const cases: Array<[unknown, string | RegExp]> = [
      [{ ...base, descriptor: Array(127).fill(0.1) }, `人脸特征值（descriptor）应为 128 个数，收到 127 个：${descriptorFix}`],
      [
        { ...base, descriptor: [...Array(127).fill(0.1), 'x'] },
        '人脸特征值（descriptor）第 128 个值不是有限数（"x"）：每个值都应为数字，NaN、Infinity 和字符串都不接受，请检查人脸模型的输出',
      ],
      [{ ...base, descriptor: [null, ...Array(127).fill(0.1)] }, /^输入不正确：人脸特征值（descriptor）第 1 个值不是有限数（null）：/],
      [{ ...base, imageBase64: Buffer.from('not a picture at all').toString('base64') }, '抓拍图（imageBase64）不是 JPEG 图片：请发送 JPEG 格式的抓拍图，PNG 等格式请先转换'],
      [
        { ...base, imageBase64: Buffer.alloc(5 * 1024 * 1024 + 10, 0xff).toString('base64') },
        '抓拍图（imageBase64）过大：图片 5,242,890 字节，超过上限 5,242,880 字节（5 MB），请压缩后重试',
      ],
      [{ ...base, imageBase64: '!!!' }, '抓拍图（imageBase64）不是有效的 base64 编码：请把 JPEG 图片的字节按 base64 编码后发送'],
      [{ ...base, imageBase64: '' }, '抓拍图（imageBase64）应为非空文本：请发送 base64 编码的 JPEG 图片，可带 data:image/jpeg;base64, 前缀'],
      [
        { ...base },
        '缺少身份信息：请提供人脸特征值（descriptor）、抓拍图（imageBase64）、卡号（cardNumber）、身份证号（idNumber）或人员 ID（personId）之一',
      ],
      [{ ...base, cardNumber: '1', idNumber: world.pupil.idNumber }, '身份信息只能提供一种，收到 卡号（cardNumber）、身份证号（idNumber），请只保留其中一项'],
      [
        { ...base, cardNumber: '1', occurredAt: 'yesterday' },
        '通行时间（occurredAt）“yesterday”无效：请发送毫秒时间戳或 ISO-8601 时间，例如 1796599930000 或 2026-12-07T07:32:10+08:00（同一时刻）',
      ],
      [{ ...base, cardNumber: '1', occurredAt: 1000 }, '通行时间（occurredAt）1970-01-01 08:00（北京时间）早于 2020 年，请校准设备时钟后重发'],
      [{ ...base, cardNumber: '1', occurredAt: at('07:15') + 2 * 86_400_000 }, '通行时间（occurredAt）2026-12-09 07:15（北京时间）比服务器时间晚一天以上，请校准设备时钟后重发'],
      [
        { ...base, cardNumber: '1', eventId: 'has space' },
        '事件编号（eventId）“has space”无效：请发送 1-128 个字母、数字或 _ . : @ - 组成的编号（或一个整数），例如 "east-1-000123"；同一设备的每次通行用不同的编号，重发同一次通行时沿用原编号',
      ],
      [{ ...base, cardNumber: '1', eventId: '' }, /^输入不正确：事件编号（eventId）缺失：请发送 1-128 个字母/],
      [{ ...base, cardNumber: '12 34' }, '卡号（cardNumber）“12 34”无效：请发送读卡器读到的卡号，1-64 位字母或数字，不含空格和符号'],
      [{ ...base, idNumber: '11010520160307123' }, '身份证号（idNumber）无效：请发送 18 位身份证号（17 位数字加 1 位数字或 X），不含空格'],
      [{ ...base, personId: 'no such person!' }, '人员 ID（personId）“no such person!”无效：请发送平台中人员的 ID（1-64 位字母或数字），或改用卡号、身份证号或人脸识别'],
      [{ ...base, cardNumber: '1', temperature: '36.5' }, '请求体有误：体温（temperature）应为数字或空值（null）'],
    ];
    for (const [body, message] of cases) {
      const reply = await post(body);
      expect(reply.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      if (typeof message === 'string') expect(reply.json().message).toBe(`输入不正确：${message}`);
      else expect(reply.json().message).toMatch(message);
    }

    const nan = await app.inject({
      method: 'POST',
      url: '/api/devices/events',
      headers: { ...bearer(world.api), 'content-type': 'application/json' },
      payload: `{"eventId":"nan-1","occurredAt":${t.ctx.now()},"descriptor":[NaN${',0.1'.repeat(127)}]}`,
    });
    expect(nan.statusCode).toBe(400);
    expect(nan.json().message).toBe('输入不正确：请求体含有 NaN 或 Infinity，不是有效的 JSON。人脸特征值（descriptor）的 128 个值都应为有限数，请检查人脸模型的输出后重发');
    expect(await t.ctx.db.selectFrom('gate_events').select('id').where('event_id', 'in', ['bad-1', 'nan-1']).execute()).toHaveLength(0);
  });

  it('records a re-check that closes the fever alert and counts the pupil present', async () => {
    const pupil = world.pupil.person.id;
    await t.ctx.db.deleteFrom('attendance').where('person_id', '=', pupil).execute();
    t.setNow(at('07:32'));
    const fever = cardEvent(pupil, { temperature: 37.6 });
    await post(fever);
    const alert = await t.ctx.db.selectFrom('alerts').selectAll().where('dedupe_key', '=', `gate:${world.api.device.id}:${fever.eventId}:fever`).executeTakeFirstOrThrow();
    expect(await t.ctx.db.selectFrom('attendance').selectAll().where('person_id', '=', pupil).executeTakeFirst()).toBeUndefined();

    const doctor = await signIn(t.ctx, world.school.code, 'school_doctor');
    const guard = await signIn(t.ctx, world.school.code, 'guard');
    const url = `/api/schools/${world.school.code}/alerts/${alert.id}/recheck`;

    const forbidden = await app.inject({ method: 'POST', url, headers: guard.headers, payload: { temperature: 36.9 } });
    expect(forbidden.statusCode).toBe(403);
    const nobody = await app.inject({ method: 'POST', url, payload: { temperature: 36.9 } });
    expect(nobody.statusCode).toBe(401);
    const sensor = await app.inject({ method: 'POST', url, headers: doctor.headers, payload: { temperature: 25 } });
    expect(sensor.statusCode).toBe(400);
    // A typed re-check is a body temperature (34-43 ℃), even where the gate sensor's range is 30-45 ℃.
    const typo = await app.inject({ method: 'POST', url, headers: doctor.headers, payload: { temperature: 44 } });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().message).toContain('体温 44 ℃ 不在 34 到 43 ℃ 之间');

    t.setNow(at('07:40'));
    const reply = await app.inject({ method: 'POST', url, headers: doctor.headers, payload: { temperature: 37.0 } });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ result: 'normal', countedPresent: true, alert: { status: 'closed', closedNote: '复测正常（37.0 °C）' } });
    const attendance = await t.ctx.db.selectFrom('attendance').selectAll().where('person_id', '=', pupil).executeTakeFirstOrThrow();
    expect(attendance).toMatchObject({ source: 'recheck', first_pass_at: at('07:32'), late: 0 });

    const again = await app.inject({ method: 'POST', url, headers: doctor.headers, payload: { temperature: 36.8 } });
    expect(again.statusCode).toBe(409);
  });

  it('confirms a fever on re-check and tells the head teacher', async () => {
    const fever = cardEvent(world.classmate.person.id, { temperature: 38.2 });
    await post(fever);
    const alert = await t.ctx.db.selectFrom('alerts').selectAll().where('dedupe_key', '=', `gate:${world.api.device.id}:${fever.eventId}:fever`).executeTakeFirstOrThrow();
    const doctor = await signIn(t.ctx, world.school.code, 'school_doctor');
    const reply = await app.inject({ method: 'POST', url: `/api/schools/${world.school.code}/alerts/${alert.id}/recheck`, headers: doctor.headers, payload: { temperature: 38.0 } });
    expect(reply.json()).toMatchObject({ result: 'fever', countedPresent: false, alert: { status: 'acknowledged' } });
    const notices = await t.ctx.db.selectFrom('outbox').selectAll().where('kind', '=', 'gate_fever_confirmed').where('recipient_person_id', '=', world.headTeacher.id).execute();
    expect(notices).toHaveLength(1);
    expect(notices[0].body).toContain('38.0');
  });
});
