import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { addPerson } from '../../src/modules/people/service.js';
import { drainTerminalQueues, processTerminalPush } from '../../src/modules/gate/terminal-events.js';
import { readTerminalPush } from '../../src/modules/gate/hikvision.js';
import { createLogger } from '../../src/shared/logger.js';
import { purgeExpiredSnapshots } from '../../src/modules/gate/jobs.js';
import { snapshotFile } from '../../src/modules/gate/snapshots.js';
import { instantOf } from '../../src/shared/time.js';
import { hikvisionEventJson, hikvisionEventXml, hikvisionMultipart, tinyJpeg, type HikvisionEventOptions } from '../../tools/simulators/terminal-payloads.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildGateWorld, setCode, signIn } from './helpers.js';

const fixtures = join(import.meta.dirname, '../fixtures/terminal-events');

describe.each(DIALECTS)('%s: Hikvision terminal push', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;
  let serial = 100;
  let studentNumber: string;

  const at = (time: string, day = '2026-12-07') => instantOf(day, time);
  const iso = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00';
  const url = (token = world.terminal.key) => `/api/terminals/hikvision/${world.terminal.device.id}/events?token=${encodeURIComponent(token)}`;

  const event = (overrides: Partial<HikvisionEventOptions> = {}): HikvisionEventOptions => {
    serial += 1;
    return { serialNo: serial, dateTime: iso(t.ctx.now()), minor: 75, employeeNoString: studentNumber, currTemperature: 36.6, ...overrides };
  };

  const push = async (payload: { body: Buffer | string; contentType: string }, target = url()) => {
    const headers: Record<string, string> = payload.contentType ? { 'content-type': payload.contentType } : {};
    const reply = await app.inject({ method: 'POST', url: target, headers, payload: payload.body });
    await drainTerminalQueues(t.ctx);
    return reply;
  };

  const eventsOfSerial = (serialNo: number) =>
    t.ctx.db.selectFrom('gate_events').selectAll().where('device_id', '=', world.terminal.device.id).where('event_id', 'like', `sn${serialNo}@%`).execute();

  beforeAll(async () => {
    t = await createTestDb(dialect);
    world = await buildGateWorld(t.ctx);
    studentNumber = world.pupil.person.student_number!;
    app = await buildApp(t.ctx);
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });
  beforeEach(() => t.setNow(at('07:20')));

  it('rejects a wrong token with a Digest challenge and records nothing', async () => {
    const options = event();
    const reply = await push({ body: JSON.stringify(hikvisionEventJson(options)), contentType: 'application/json' }, url('wrong'));
    expect(reply.statusCode).toBe(401);
    expect(reply.headers['www-authenticate']).toMatch(/^Digest realm="fangkong", qop="auth"/);
    expect(reply.json().message).toContain('?token=<设备密钥>');
    const none = await push({ body: JSON.stringify(hikvisionEventJson(options)), contentType: 'application/json' }, `/api/terminals/hikvision/${world.terminal.device.id}/events`);
    expect(none.statusCode).toBe(401);
    const otherDevice = await push({ body: '{}', contentType: 'application/json' }, `/api/terminals/hikvision/${world.api.device.id}/events?token=${world.api.key}`);
    expect(otherDevice.statusCode).toBe(401);
    expect(await eventsOfSerial(options.serialNo)).toHaveLength(0);
  });

  it('accepts HTTP Digest after the challenge', async () => {
    const options = event();
    const path = `/api/terminals/hikvision/${world.terminal.device.id}/events`;
    const challenge = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: '{}' });
    const nonce = /nonce="([^"]+)"/.exec(String(challenge.headers['www-authenticate']))![1];

    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    const sign = (key: string) => {
      const ha1 = md5(`${world.terminal.device.id}:fangkong:${key}`);
      const response = md5(`${ha1}:${nonce}:00000001:abcdef:auth:${md5(`POST:${path}`)}`);
      return `Digest username="${world.terminal.device.id}", realm="fangkong", nonce="${nonce}", uri="${path}", qop=auth, nc=00000001, cnonce="abcdef", response="${response}", algorithm=MD5`;
    };
    const body = JSON.stringify(hikvisionEventJson(options));
    const wrong = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', authorization: sign('not-the-key') }, payload: body });
    expect(wrong.statusCode).toBe(401);
    const right = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', authorization: sign(world.terminal.key) }, payload: body });
    expect(right.statusCode).toBe(200);
    await drainTerminalQueues(t.ctx);
    expect(await eventsOfSerial(options.serialNo)).toHaveLength(1);

    t.setNow(t.ctx.now() + 6 * 60_000);
    const expired = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', authorization: sign(world.terminal.key) }, payload: body });
    expect(expired.statusCode).toBe(401);
  });

  it('records multipart event_log with a picture as a pass, without keeping the picture', async () => {
    const options = event({ mask: 'no' });
    const reply = await push(hikvisionMultipart(hikvisionEventJson(options), { picture: tinyJpeg() }));
    expect(reply.statusCode).toBe(200);
    const [row] = await eventsOfSerial(options.serialNo);
    expect(row).toMatchObject({ decision: 'pass', method: 'face', person_id: world.pupil.person.id, temperature: 36.6, occurred_at: at('07:20'), snapshot_path: null });
    expect(JSON.parse(row.flags)).toContain('no_mask');
  });

  it('reads every payload shape', async () => {
    const shapes: Array<[string, (o: HikvisionEventOptions) => { body: Buffer | string; contentType: string }]> = [
      ['AccessControllerEvent part', (o) => hikvisionMultipart(hikvisionEventJson(o), { partName: 'AccessControllerEvent' })],
      ['messy multipart', (o) => hikvisionMultipart(hikvisionEventJson(o), { messy: true, picture: tinyJpeg() })],
      ['cut off inside the picture', (o) => hikvisionMultipart(hikvisionEventJson(o), { picture: tinyJpeg(), truncateBy: 100 })],
      ['bare JSON', (o) => ({ body: JSON.stringify(hikvisionEventJson(o)), contentType: 'application/json' })],
      ['bare XML', (o) => ({ body: hikvisionEventXml(o), contentType: 'application/xml' })],
      ["XML in a multipart part", (o) => xmlMultipart(hikvisionEventXml(o))],
      ['no content type', (o) => ({ body: JSON.stringify(hikvisionEventJson(o)), contentType: '' })],
      ['empty content type', (o) => ({ body: JSON.stringify(hikvisionEventJson(o)), contentType: ' ' })],
    ];
    for (const [name, build] of shapes) {
      const options = event();
      const reply = await push(build(options));
      expect(reply.statusCode, name).toBe(200);
      expect(await eventsOfSerial(options.serialNo), name).toHaveLength(1);
    }
  });

  it('converts Fahrenheit before deciding', async () => {
    const options = event({ currTemperature: 99.9, thermometryUnit: 'fahrenheit', isAbnomalTemperature: true });
    await push({ body: JSON.stringify(hikvisionEventJson(options)), contentType: 'application/json' });
    const [row] = await eventsOfSerial(options.serialNo);
    expect(row).toMatchObject({ temperature: 37.7, decision: 'deny', reason: 'fever' });
    const alert = await t.ctx.db.selectFrom('alerts').selectAll().where('gate_event_id', '=', row.id).executeTakeFirstOrThrow();
    expect(alert.kind).toBe('fever');
    const guard = await signIn(t.ctx, world.school.code, 'guard');
    const closing = await app.inject({ method: 'POST', url: `/api/schools/${world.school.code}/alerts/${alert.id}/close`, headers: guard.headers, payload: { note: 'x' } });
    expect(closing.statusCode).toBe(403);
  });

  it('reads the real alert stream capture: only the face verification is an entry', async () => {
    const reporter = await addPerson(t.ctx, { schoolId: world.school.id, kind: 'staff', name: '测试员工', staffNumber: 'REDACTED_EMP', staffRole: 'teacher' });
    await setCode(t.ctx, world.school.id, reporter.id, 'green');
    t.setNow(Date.parse('2025-06-22T14:40:00Z'));
    const reply = await push({ body: readFileSync(join(fixtures, 'hikvision_alertStream_excerpt.txt')), contentType: 'multipart/mixed; boundary=MIME_boundary' });
    expect(reply.statusCode).toBe(200);
    const rows = await t.ctx.db.selectFrom('gate_events').selectAll().where('person_id', '=', reporter.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event_id: `sn18@${Date.parse('2025-06-22T14:37:34Z')}`, decision: 'pass', method: 'face', temperature: null });
    expect(JSON.parse(rows[0].flags)).toContain('no_temperature');
  });

  it('records a replayed day once each, with their own times and no alerts', async () => {
    const reporter = await t.ctx.db.selectFrom('persons').select('id').where('staff_number', '=', 'REDACTED_EMP').executeTakeFirstOrThrow();
    // The terminal rebooted and resends the previous day's log the next morning.
    t.setNow(Date.parse('2026-09-02T12:00:00Z'));
    const replay = readFileSync(join(fixtures, 'hikvision_acs_event_search.json'));
    const alertsBefore = await t.ctx.db.selectFrom('alerts').select('id').execute();
    for (let round = 0; round < 2; round++) {
      const reply = await push({ body: replay, contentType: 'application/json' });
      expect(reply.statusCode).toBe(200);
    }
    const rows = await t.ctx.db.selectFrom('gate_events').selectAll().where('person_id', '=', reporter.id).where('day', '>=', '2026-09-01').orderBy('occurred_at').execute();
    expect(rows.map((r) => r.event_id.split('@')[0])).toEqual(['sn19354', 'sn19361', 'sn19364', 'sn19368']);
    expect(rows[0].occurred_at).toBe(Date.parse('2026-09-01T21:27:53Z'));
    expect(rows.every((r) => JSON.parse(r.flags).includes('old_event'))).toBe(true);
    expect(await t.ctx.db.selectFrom('alerts').select('id').execute()).toHaveLength(alertsBefore.length);
  });

  it('raises no alert for an old fever but does for a fresh one', async () => {
    const old = event({ dateTime: iso(t.ctx.now() - 11 * 60_000), currTemperature: 38.4 });
    await push({ body: JSON.stringify(hikvisionEventJson(old)), contentType: 'application/json' });
    const [oldRow] = await eventsOfSerial(old.serialNo);
    expect(oldRow).toMatchObject({ decision: 'deny', reason: 'fever' });
    expect(await t.ctx.db.selectFrom('alerts').select('id').where('gate_event_id', '=', oldRow.id).execute()).toHaveLength(0);

    const fresh = event({ dateTime: iso(t.ctx.now() - 9 * 60_000), currTemperature: 38.4 });
    await push({ body: JSON.stringify(hikvisionEventJson(fresh)), contentType: 'application/json' });
    const [freshRow] = await eventsOfSerial(fresh.serialNo);
    expect(await t.ctx.db.selectFrom('alerts').select('id').where('gate_event_id', '=', freshRow.id).execute()).toHaveLength(1);
  });

  it('ignores door and alarm events', async () => {
    const before = (await t.ctx.db.selectFrom('gate_events').select('id').execute()).length;
    for (const [major, minor] of [[5, 21], [5, 22], [3, 1029], [2, 1024]]) {
      await push({ body: JSON.stringify(hikvisionEventJson(event({ major, minor }))), contentType: 'application/json' });
    }
    expect((await t.ctx.db.selectFrom('gate_events').select('id').execute()).length).toBe(before);
  });

  it('keeps failed-face snapshot until retention', async () => {
    const options = event({ minor: 76, employeeNoString: undefined });
    await push(hikvisionMultipart(hikvisionEventJson(options), { picture: tinyJpeg() }));
    const [row] = await eventsOfSerial(options.serialNo);
    expect(row).toMatchObject({ decision: 'deny', reason: 'unknown_person', person_id: null });
    expect(row.snapshot_path).not.toBeNull();
    const file = snapshotFile(t.ctx, row.snapshot_path!);
    expect(readFileSync(file).equals(tinyJpeg())).toBe(true);

    const alert = await t.ctx.db.selectFrom('alerts').selectAll().where('gate_event_id', '=', row.id).executeTakeFirstOrThrow();
    expect(alert.kind).toBe('unknown_face');
    const notices = await t.ctx.db.selectFrom('outbox').select('id').where('idempotency_key', 'like', `gate:${world.terminal.device.id}:${row.event_id}:%`).execute();
    expect(notices).toHaveLength(0);

    const guard = await signIn(t.ctx, world.school.code, 'guard');
    const snapshotUrl = `/api/schools/${world.school.code}/gate/events/${row.id}/snapshot`;
    const picture = await app.inject({ method: 'GET', url: snapshotUrl, headers: { cookie: guard.cookie } });
    expect(picture.statusCode).toBe(200);
    expect(picture.headers['content-type']).toBe('image/jpeg');
    expect(picture.rawPayload.equals(tinyJpeg())).toBe(true);
    expect((await app.inject({ method: 'GET', url: snapshotUrl })).statusCode).toBe(401);

    const alertUrl = `/api/schools/${world.school.code}/alerts/${alert.id}`;
    const noNote = await app.inject({ method: 'POST', url: `${alertUrl}/close`, headers: guard.headers, payload: {} });
    expect(noNote.statusCode).toBe(400);
    const acknowledged = await app.inject({ method: 'POST', url: `${alertUrl}/acknowledge`, headers: guard.headers, payload: { note: '门卫正在核实身份' } });
    expect(acknowledged.json()).toMatchObject({ status: 'acknowledged', acknowledgedNote: '门卫正在核实身份' });
    expect(acknowledged.json().acknowledgedBy).toBeTruthy();
    const closed = await app.inject({ method: 'POST', url: `${alertUrl}/close`, headers: guard.headers, payload: { note: '已人工核验，为来访家长' } });
    expect(closed.json()).toMatchObject({ status: 'closed', closedNote: '已人工核验，为来访家长' });

    t.setNow(t.ctx.now() + 6 * 24 * 3600_000);
    expect(await purgeExpiredSnapshots(t.ctx)).toBe(0);
    expect(existsSync(file)).toBe(true);
    t.setNow(t.ctx.now() + 2 * 24 * 3600_000);
    expect(await purgeExpiredSnapshots(t.ctx)).toBeGreaterThanOrEqual(1);
    expect(existsSync(file)).toBe(false);
    const after = await t.ctx.db.selectFrom('gate_events').select('snapshot_path').where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(after.snapshot_path).toBeNull();
    const laterGuard = await signIn(t.ctx, world.school.code, 'guard');
    expect((await app.inject({ method: 'GET', url: snapshotUrl, headers: { cookie: laterGuard.cookie } })).statusCode).toBe(404);
  });

  it('records a card swipe the terminal refused as a denial', async () => {
    const options = event({ minor: 9, employeeNoString: undefined, cardNo: '123456789' });
    await push({ body: JSON.stringify(hikvisionEventJson(options)), contentType: 'application/json' });
    const [row] = await eventsOfSerial(options.serialNo);
    expect(row).toMatchObject({ decision: 'deny', reason: 'unknown_person', method: 'card' });
  });

  it('flags a door the terminal opened against policy', async () => {
    await setCode(t.ctx, world.school.id, world.pupil.person.id, 'red');
    const options = event();
    await push({ body: JSON.stringify(hikvisionEventJson(options)), contentType: 'application/json' });
    await setCode(t.ctx, world.school.id, world.pupil.person.id, 'green');
    const [row] = await eventsOfSerial(options.serialNo);
    expect(row).toMatchObject({ decision: 'deny', reason: 'code_red' });
    expect(JSON.parse(row.flags)).toContain('terminal_opened');
  });

  it('tracks serial numbers and moves last_serial_no forward only', async () => {
    const first = event();
    await push({ body: JSON.stringify(hikvisionEventJson(first)), contentType: 'application/json' });
    serial += 5;
    const afterGap = event();
    await push({ body: JSON.stringify(hikvisionEventJson(afterGap)), contentType: 'application/json' });
    await push({ body: JSON.stringify(hikvisionEventJson({ ...first })), contentType: 'application/json' });
    const device = await t.ctx.db.selectFrom('devices').select('last_serial_no').where('id', '=', world.terminal.device.id).executeTakeFirstOrThrow();
    expect(device.last_serial_no).toBe(Math.max(afterGap.serialNo, 19372));
    expect(await eventsOfSerial(first.serialNo)).toHaveLength(1);
  });

  it('logs a gap in serial numbers', async () => {
    const lines: string[] = [];
    const log = createLogger('warn', { write: (line: string) => lines.push(line) });
    // A context of its own, so the serial tracking starts from the stored last_serial_no.
    const ctx = { ...t.ctx, log };
    // Above the replayed search answer's serial numbers (up to 19372) stored for this device.
    serial = 30_000;
    const first = event();
    await processTerminalPush(ctx, world.terminal.device, readTerminalPush(Buffer.from(JSON.stringify(hikvisionEventJson(first))), 'application/json'));
    serial += 4;
    const afterGap = event();
    await processTerminalPush(ctx, world.terminal.device, readTerminalPush(Buffer.from(JSON.stringify(hikvisionEventJson(afterGap))), 'application/json'));
    const gaps = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'terminal serial number gap');
    // The jump from the stored maximum to 30,001 is a gap too; the second one is the case here.
    expect(gaps.at(-1)).toMatchObject({ deviceId: world.terminal.device.id, missingFrom: first.serialNo + 1, missingTo: afterGap.serialNo - 1, missing: 4 });
    expect(gaps.filter((gap) => gap.missingFrom === first.serialNo + 1)).toHaveLength(1);
  });

  it('rejects a body over the size limit', async () => {
    const reply = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: Buffer.alloc(9 * 1024 * 1024, 0x41) });
    expect(reply.statusCode).toBe(413);
  });
});

function xmlMultipart(xml: string): { body: Buffer; contentType: string } {
  const body = Buffer.from(`--b\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/xml\r\n\r\n${xml}\r\n--b--\r\n`);
  return { body, contentType: 'multipart/form-data; boundary=b' };
}
