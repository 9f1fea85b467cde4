import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { checkIdentity, checkinWithCard, recordCheckin } from '../../src/modules/venues/checkin.js';
import { checkinWriter } from '../../src/modules/venues/checkin-writer.js';
import { BREAKER_OPEN_MS } from '../../src/modules/venues/code-lookup.js';
import { purgeExpiredCheckins } from '../../src/modules/venues/retention.js';
import * as service from '../../src/modules/venues/service.js';
import * as store from '../../src/modules/venues/store.js';
import { newId } from '../../src/shared/ids.js';
import { tracePerson, traceVenue, writeTraceXlsx } from '../../src/modules/venues/tracing.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS } from '../helpers/db.js';
import { readStoredCells } from '../helpers/xlsx-cells.js';
import { buildSchool } from '../helpers/factories.js';
import { buildVenue, makeUser, nextIdNumber, startVenueWorld, type VenueWorld } from './helpers.js';

describe.each(DIALECTS)('venue check-ins on %s', (dialect) => {
  let world: VenueWorld;
  let admin: AuthUser;
  let taskForce: AuthUser;
  const minute = 60_000;

  beforeAll(async () => {
    world = await startVenueWorld(dialect);
    admin = await makeUser(world.ctx, 'district_admin');
    taskForce = await makeUser(world.ctx, 'task_force');
  });
  afterAll(async () => {
    await world?.close();
  });

  const at = (time: string) => {
    world.t.setNow(instantOf('2026-12-07', time));
  };

  describe('venue codes', () => {
    it('resolves a fresh code to its venue', async () => {
      const venue = await buildVenue(world.ctx, admin);
      const resolved = await service.resolveVenueCode(world.ctx, venue.codeUrl);
      expect(resolved.ok).toBe(true);
      if (resolved.ok) expect(resolved.venue.id).toBe(venue.id);
    });

    it('retires the old version on re-issue', async () => {
      const venue = await buildVenue(world.ctx, admin);
      const reissued = await service.reissueVenueCode(world.ctx, admin, venue.id, '海报被涂改');
      expect(reissued.codeVersion).toBe(2);
      expect(await service.resolveVenueCode(world.ctx, venue.codeUrl)).toMatchObject({ ok: false, refusal: 'old_version' });
      expect(await service.resolveVenueCode(world.ctx, reissued.codeUrl)).toMatchObject({ ok: true });
    });

    it('refuses every code of a retired venue', async () => {
      const venue = await buildVenue(world.ctx, admin);
      await service.retireVenue(world.ctx, admin, venue.id);
      expect(await service.resolveVenueCode(world.ctx, venue.codeUrl)).toMatchObject({ ok: false, refusal: 'venue_retired' });
      await expect(service.reissueVenueCode(world.ctx, admin, venue.id, '')).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    it('refuses a validly signed code of a venue that does not exist', async () => {
      const venue = await buildVenue(world.ctx, admin);
      const otherId = venue.id.slice(0, 25) + (venue.id.endsWith('0') ? '1' : '0');
      const forged = venue.codeUrl.replace(venue.id, otherId);
      expect(await service.resolveVenueCode(world.ctx, forged)).toMatchObject({ ok: false, refusal: 'bad_signature' });
    });

    it('checks bus fields and coordinates', async () => {
      await expect(service.createVenues(world.ctx, admin, [{ kind: 'bus', name: '车', operator: '公交' }])).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(service.createVenues(world.ctx, admin, [{ kind: 'shop', name: '店', operator: '店主', line: 'K1' }])).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(service.createVenues(world.ctx, admin, [{ kind: 'shop', name: '店', operator: '店主', latitude: 30 }])).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(service.createVenues(world.ctx, admin, [{ kind: 'boat', name: '船', operator: '渡口' }])).rejects.toMatchObject({ code: 'VALIDATION' });
    });

    it('registers a fleet in one batch and names the bad row', async () => {
      const fleet = Array.from({ length: 30 }, (_, i) => ({ kind: 'bus', name: `${2000 + i} 号车`, operator: '西湖公交', line: 'B2', plate: `浙A·2${String(i).padStart(4, '0')}` }));
      const created = await service.createVenues(world.ctx, admin, fleet);
      expect(created).toHaveLength(30);
      // The audit log's 对象 column names the batch in Chinese.
      const targets = (await world.ctx.db.selectFrom('audit_log').select('target').where('action', '=', 'venue.create').execute()).map((row) => row.target);
      expect(targets).toContain('30 个场所');
      expect(targets.filter((target) => /venues/.test(target ?? ''))).toEqual([]);
      const bad = [...fleet.slice(0, 3), { kind: 'bus', name: '坏车', operator: '西湖公交' }];
      await expect(service.createVenues(world.ctx, admin, bad)).rejects.toThrow(/第 4 个场所/);
    });

    it('lets a school admin register only its own school’s gates', async () => {
      const school = await buildSchool(world.ctx);
      const schoolAdmin = await makeUser(world.ctx, 'school_admin', school.code);
      const [gate] = await service.createVenues(world.ctx, schoolAdmin, [{ kind: 'school_gate', name: '东门', operator: '实验小学' }]);
      expect(gate.schoolId).toBe(schoolAdmin.schoolId);
      await expect(service.createVenues(world.ctx, schoolAdmin, [{ kind: 'bus', name: '车', operator: '公交', line: 'K1', plate: '浙A·1' }])).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const bus = await buildVenue(world.ctx, admin);
      await expect(service.reissueVenueCode(world.ctx, schoolAdmin, bus.id, '')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('scan check-ins', () => {
    it('records a green code from the bureau, then serves it from the cache', async () => {
      at('07:00');
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const other = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin, { latitude: 30.2701 })).id);
      const idNumber = nextIdNumber();
      world.bureau.resetStats();

      const first = await recordCheckin(world.ctx, { venue, method: 'scan', identity: checkIdentity(world.ctx, { name: '王小明', idNumber }) });
      expect(first.duplicate).toBe(false);
      expect(first.checkin.code_color).toBe('green');
      expect(first.checkin.code_source).toBe('bureau');
      expect(first.checkin.id_number_masked).toBe(`${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`);
      const stored = await store.findCheckin(world.ctx.db, first.checkin.id);
      expect(stored?.id_number_enc).not.toContain(idNumber);
      expect(world.ctx.cipher.decrypt(stored!.id_number_enc!)).toBe(idNumber);

      at('07:03');
      const second = await recordCheckin(world.ctx, { venue: other, method: 'scan', identity: { name: '王小明', idNumber } });
      expect(second.checkin.code_source).toBe('cache');
      expect(world.bureau.stats().requests).toBe(1);

      // The cache keeps a result for codeCacheSeconds (300 s by default), then the bureau is asked again.
      at('07:10');
      const third = await recordCheckin(world.ctx, { venue, method: 'scan', identity: { name: '王小明', idNumber } });
      expect(third.checkin.code_source).toBe('bureau');
      expect(world.bureau.stats().requests).toBe(2);
    });

    it('records the colour the bureau has now', async () => {
      at('08:00');
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const idNumber = nextIdNumber();
      world.bureau.setCode(idNumber, 'yellow');
      const outcome = await recordCheckin(world.ctx, { venue, method: 'scan', identity: { name: '黄某', idNumber } });
      expect(outcome.checkin.code_color).toBe('yellow');
    });

    it('folds a second scan within the window into the first', async () => {
      at('09:00');
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const identity = { name: '李重复', idNumber: nextIdNumber() };
      const first = await recordCheckin(world.ctx, { venue, method: 'scan', identity });
      at('09:04');
      const again = await recordCheckin(world.ctx, { venue, method: 'scan', identity });
      expect(again.duplicate).toBe(true);
      expect(again.checkin.id).toBe(first.checkin.id);

      at('09:06');
      const later = await recordCheckin(world.ctx, { venue, method: 'scan', identity });
      expect(later.duplicate).toBe(false);
      const count = await world.ctx.db.selectFrom('venue_checkins').select((eb) => eb.fn.countAll<number>().as('n')).where('venue_id', '=', venue.id).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(2);
    });

    it('folds into a check-in stored before a restart', async () => {
      at('09:10');
      const bus = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const shop = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const identity = { name: '孙重启', idNumber: nextIdNumber() };
      const first = await recordCheckin(world.ctx, { venue: bus, method: 'scan', identity });
      // Stored by a run before this one: the writer has not seen it.
      const original = (await store.findCheckin(world.ctx.db, first.checkin.id))!;
      const stored = { ...original, id: newId(first.checkin.checked_in_at), venue_id: shop.id };
      await store.insertCheckins(world.ctx.db, [stored]);
      checkinWriter(world.ctx).forgetRecent();
      at('09:13');
      const again = await recordCheckin(world.ctx, { venue: shop, method: 'scan', identity });
      expect(again).toMatchObject({ duplicate: true, checkin: { id: stored.id } });
    });

    it('reads the database after the clock goes back', async () => {
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const identity = { name: '周回拨', idNumber: nextIdNumber() };
      world.t.setNow(instantOf('2026-12-10', '14:00'));
      const first = await recordCheckin(world.ctx, { venue, method: 'scan', identity });
      // A day later the writer drops what it held of the day before.
      world.t.setNow(instantOf('2026-12-11', '14:00'));
      await recordCheckin(world.ctx, { venue, method: 'scan', identity: { name: '吴次日', idNumber: nextIdNumber() } });
      world.t.setNow(instantOf('2026-12-10', '14:03'));
      const again = await recordCheckin(world.ctx, { venue, method: 'scan', identity });
      expect(again).toMatchObject({ duplicate: true, checkin: { id: first.checkin.id } });
    });

    it('records one check-in for simultaneous scans', async () => {
      at('09:30');
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      const identity = { name: '赵并发', idNumber: nextIdNumber() };
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => recordCheckin(world.ctx, { venue, method: 'scan', identity })));
      expect(new Set(outcomes.map((o) => o.checkin.id)).size).toBe(1);
      expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
    });

    it('records a phone-only check-in as unknown without asking the bureau', async () => {
      at('10:00');
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      world.bureau.resetStats();
      const outcome = await recordCheckin(world.ctx, { venue, method: 'scan', identity: checkIdentity(world.ctx, { name: '钱手机', phone: '100 1234 5678' }) });
      expect(outcome.checkin.code_color).toBe('unknown');
      expect(outcome.checkin.code_source).toBe('no_id_number');
      expect(outcome.checkin.phone_masked).toBe('100****5678');
      expect(world.bureau.stats().requests).toBe(0);
    });

    it.each([
      [{ name: '', idNumber: '110101199003074514' }, /姓名/],
      [{ name: '张三' }, /身份证号或手机号/],
      [{ name: '张三', idNumber: '110101199003074515' }, /无效/],
      [{ name: '张三', phone: '12345' }, /手机号/],
      [{ name: '很'.repeat(31), phone: '10012345678' }, /30/],
    ])('rejects bad identity %#', (input, message) => {
      expect(() => checkIdentity(world.ctx, input)).toThrow(message);
    });

    it('bureau outage records unknown', async () => {
      // The breaker stays open for the rest of the process's context, so this runs in a world of its own.
      const fresh = await startVenueWorld(dialect);
      try {
        const freshAdmin = await makeUser(fresh.ctx, 'district_admin');
        const venue = await service.getVenueOrThrow(fresh.ctx, (await buildVenue(fresh.ctx, freshAdmin)).id);
        fresh.bureau.setFaults({ outage: true });
        const down = await recordCheckin(fresh.ctx, { venue, method: 'scan', identity: { name: '孙停机', idNumber: nextIdNumber() } });
        expect(down.checkin.code_color).toBe('unknown');
        expect(down.checkin.code_source).toBe('unavailable');
        expect(fresh.bureau.stats().byStatus['503']).toBe(1);

        const started = performance.now();
        const skipped = await recordCheckin(fresh.ctx, { venue, method: 'scan', identity: { name: '周停机', idNumber: nextIdNumber() } });
        expect(skipped.checkin.code_color).toBe('unknown');
        expect(performance.now() - started).toBeLessThan(500);
        expect(fresh.bureau.stats().requests).toBe(1);
        expect(BREAKER_OPEN_MS).toBeGreaterThanOrEqual(10_000);
      } finally {
        await fresh.close();
      }
    });

    it('bureau timeout records unknown', async () => {
      const fresh = await startVenueWorld(dialect, { bureauDeadlineMs: 150 });
      try {
        const freshAdmin = await makeUser(fresh.ctx, 'district_admin');
        const venue = await service.getVenueOrThrow(fresh.ctx, (await buildVenue(fresh.ctx, freshAdmin)).id);
        fresh.bureau.setFaults({ sequence: ['timeout'] });
        // Time the deadline, not the start of the SQLite writer thread.
        await checkinWriter(fresh.ctx).ready();
        const started = performance.now();
        const late = await recordCheckin(fresh.ctx, { venue, method: 'scan', identity: { name: '郑超时', idNumber: nextIdNumber() } });
        expect(late.checkin.code_color).toBe('unknown');
        expect(late.checkin.code_source).toBe('unavailable');
        expect(performance.now() - started).toBeLessThan(1000);
      } finally {
        await fresh.close();
      }
    });

    it('unknown person records unknown', async () => {
      const fresh = await startVenueWorld(dialect);
      try {
        const freshAdmin = await makeUser(fresh.ctx, 'district_admin');
        const venue = await service.getVenueOrThrow(fresh.ctx, (await buildVenue(fresh.ctx, freshAdmin)).id);
        const idNumber = nextIdNumber();
        fresh.bureau.setUnknown([idNumber]);
        const outcome = await recordCheckin(fresh.ctx, { venue, method: 'scan', identity: { name: '吴无档', idNumber } });
        expect(outcome.checkin.code_color).toBe('unknown');
        expect(outcome.checkin.code_source).toBe('not_found');
      } finally {
        await fresh.close();
      }
    });
  });

  describe('far-apart check-ins', () => {
    it('flags 27 km in 5 minutes', async () => {
      at('12:00');
      const westLake = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin, { latitude: 30.2431, longitude: 120.1503 })).id);
      const airport = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin, { kind: 'hall', name: '机场大厅', operator: '机场', line: null, plate: null, latitude: 30.2295, longitude: 120.4344 })).id);
      const identity = { name: '冯异地', idNumber: nextIdNumber() };
      const first = await recordCheckin(world.ctx, { venue: westLake, method: 'scan', identity });
      at('12:05');
      const second = await recordCheckin(world.ctx, { venue: airport, method: 'scan', identity });
      expect(second.duplicate).toBe(false);
      expect(second.checkin.flagged).toBe(1);

      const flags = await service.listFlags(world.ctx, 'open');
      const flag = flags.find((f) => f.checkin_id === second.checkin.id);
      expect(flag?.previous_checkin_id).toBe(first.checkin.id);
      expect(Math.round((flag?.distance_m ?? 0) / 1000)).toBe(27);

      const reviewed = await service.reviewFlag(world.ctx, taskForce, flag!.id, '同名同号，已电话核实为两人');
      expect(reviewed.status).toBe('reviewed');
    });

    it('does not flag the next stop', async () => {
      at('12:30');
      const a = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin, { latitude: 30.2431, longitude: 120.1503 })).id);
      const b = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin, { latitude: 30.2451, longitude: 120.1533 })).id);
      const identity = { name: '陈邻站', idNumber: nextIdNumber() };
      await recordCheckin(world.ctx, { venue: a, method: 'scan', identity });
      at('12:31');
      const second = await recordCheckin(world.ctx, { venue: b, method: 'scan', identity });
      expect(second.checkin.flagged).toBe(0);
    });
  });

  describe('fallbacks', () => {
    let venue: Awaited<ReturnType<typeof service.getVenueOrThrow>>;
    let reader: { id: string };
    let cardHolderId: string;

    beforeAll(async () => {
      venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin, { line: 'K202', plate: '浙A·20202' })).id);
      reader = (await service.createVenueDevice(world.ctx, admin, { kind: 'card_reader', name: '前门读卡器', venueId: venue.id })).device;
      cardHolderId = nextIdNumber();
      await service.registerCard(world.ctx, admin, { kind: 'senior', cardNumber: '8800 1234 5678', holderName: '老张', idNumber: cardHolderId });
      await service.registerCard(world.ctx, admin, { kind: 'student', cardNumber: 'ST-0000-7777', holderName: '小李', idNumber: nextIdNumber(), phone: '10087654321' });
    });

    it('checks in a senior card swiped at a reader', async () => {
      at('13:00');
      const outcome = await checkinWithCard(world.ctx, venue, '880012345678', 'card_reader', reader.id);
      expect(outcome.checkin.method).toBe('card_reader');
      expect(outcome.checkin.name).toBe('老张');
      expect(outcome.checkin.code_color).toBe('green');
      expect(outcome.checkin.card_id).toBe(outcome.card.id);
      expect(outcome.checkin.device_id).toBe(reader.id);
      expect(outcome.checkin.id_number_hash).toBe(world.ctx.cipher.hash(cardHolderId));
    });

    it('checks in a student card typed by staff', async () => {
      at('13:10');
      const outcome = await checkinWithCard(world.ctx, venue, 'st 0000 7777', 'card_typed', 'staff-phone');
      expect(outcome.checkin.method).toBe('card_typed');
      expect(outcome.checkin.phone_masked).toBe('100****4321');
    });

    it('rejects a lost card and records nothing', async () => {
      at('13:20');
      const lost = await service.reportCardLost(world.ctx, admin, '8800-1234-5678');
      expect(lost.status).toBe('lost');
      const before = await world.ctx.db.selectFrom('venue_checkins').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      await expect(checkinWithCard(world.ctx, venue, '880012345678', 'card_reader', reader.id)).rejects.toMatchObject({ code: 'VENUE_CARD_LOST', status: 409 });
      const after = await world.ctx.db.selectFrom('venue_checkins').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
    });

    it('rejects an unregistered card', async () => {
      await expect(checkinWithCard(world.ctx, venue, '999999999', 'card_reader', reader.id)).rejects.toMatchObject({ code: 'VENUE_CARD_UNKNOWN' });
    });

    it('rejects a card number registered twice', async () => {
      await expect(service.registerCard(world.ctx, admin, { kind: 'citizen', cardNumber: 'ST00007777', holderName: '别人', idNumber: nextIdNumber() })).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    it('records a manual registration with the code seen', async () => {
      at('13:30');
      const outcome = await recordCheckin(world.ctx, { venue, method: 'manual', identity: checkIdentity(world.ctx, { name: '游客甲', phone: '10011112222' }), codeSeen: true, seenColor: 'green', deviceId: 'staff' });
      expect(outcome.checkin.method).toBe('manual');
      expect(outcome.checkin.code_seen).toBe(1);
      expect(outcome.checkin.seen_color).toBe('green');
      expect(outcome.checkin.code_color).toBe('unknown');
    });

    it('records a manual registration without the code seen', async () => {
      at('13:31');
      const outcome = await recordCheckin(world.ctx, { venue, method: 'manual', identity: { name: '游客乙', idNumber: nextIdNumber() }, codeSeen: false, seenColor: 'green' });
      expect(outcome.checkin.code_seen).toBe(0);
      expect(outcome.checkin.seen_color).toBeNull();
      expect(outcome.checkin.code_color).toBe('green');
    });
  });

  describe('tracing', () => {
    const riderId = nextIdNumber();
    let bus1: string;
    let bus2: string;
    let shop: string;

    beforeAll(async () => {
      const a = await buildVenue(world.ctx, admin, { line: 'T9', plate: '浙A·90001', name: '9001 号车' });
      const b = await buildVenue(world.ctx, admin, { line: 'T9', plate: '浙A·90002', name: '9002 号车' });
      const c = await buildVenue(world.ctx, admin, { kind: 'shop', name: '=HYPERLINK("http://127.0.0.1/x","点我")', operator: '+店主', line: null, plate: null, latitude: null, longitude: null });
      bus1 = a.id;
      bus2 = b.id;
      shop = c.id;
      const get = (id: string) => service.getVenueOrThrow(world.ctx, id);

      world.t.setNow(instantOf('2026-12-08', '07:05'));
      await recordCheckin(world.ctx, { venue: await get(bus1), method: 'scan', identity: { name: '@SUM(A1:A9)', idNumber: riderId } });
      world.t.setNow(instantOf('2026-12-08', '07:20'));
      await recordCheckin(world.ctx, { venue: await get(bus1), method: 'scan', identity: { name: '-2+3', idNumber: nextIdNumber() } });
      world.t.setNow(instantOf('2026-12-08', '07:40'));
      await recordCheckin(world.ctx, { venue: await get(bus2), method: 'manual', identity: { name: '刘手工', phone: '10033334444' }, codeSeen: true });
      world.t.setNow(instantOf('2026-12-08', '08:10'));
      await recordCheckin(world.ctx, { venue: await get(bus1), method: 'scan', identity: { name: '八点后', idNumber: nextIdNumber() } });
      world.t.setNow(instantOf('2026-12-08', '12:00'));
      await recordCheckin(world.ctx, { venue: await get(shop), method: 'scan', identity: { name: '@SUM(A1:A9)', idNumber: riderId } });
    });

    const period = { from: instantOf('2026-12-08', '07:00'), to: instantOf('2026-12-08', '08:00'), purpose: '密接排查：测试病例' };

    it('lists everyone on one bus between two times with their code', async () => {
      const result = await traceVenue(world.ctx, taskForce, { ...period, venueId: bus1 });
      expect(result.entries.map((e) => e.name)).toEqual(['@SUM(A1:A9)', '-2+3']);
      expect(result.entries[0].idNumber).toBe(riderId);
      expect(result.entries[0].codeColor).toBe('green');
      expect(result.truncated).toBe(false);
    });

    it('lists every vehicle of a line', async () => {
      const result = await traceVenue(world.ctx, taskForce, { ...period, line: 'T9' });
      expect(result.venueCount).toBe(2);
      expect(result.entries.map((e) => e.name)).toEqual(['@SUM(A1:A9)', '-2+3', '刘手工']);
      expect(result.entries[2].method).toBe('manual');
      expect(result.entries[2].codeSeen).toBe(true);
      expect(result.entries[2].phone).toBe('10033334444');
    });

    it('lists every venue a person visited', async () => {
      const result = await tracePerson(world.ctx, taskForce, { idNumber: riderId, from: instantOf('2026-12-08', '00:00'), to: instantOf('2026-12-09', '00:00'), purpose: '行程核查：测试' });
      expect(result.entries.map((e) => e.venueId)).toEqual([bus1, shop]);
    });

    it('finds a person by phone', async () => {
      const result = await tracePerson(world.ctx, taskForce, { phone: '10033334444', from: instantOf('2026-12-08', '00:00'), to: instantOf('2026-12-09', '00:00'), purpose: '行程核查：测试' });
      expect(result.entries.map((e) => e.venueId)).toEqual([bus2]);
    });

    it('writes each query to the audit log with its purpose', async () => {
      await traceVenue(world.ctx, taskForce, { ...period, venueId: bus2, purpose: '审计测试：二号车' });
      const entry = await world.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'venue.trace.venue').where('target', '=', bus2).executeTakeFirstOrThrow();
      expect(entry.user_id).toBe(taskForce.id);
      expect(JSON.parse(entry.detail)).toMatchObject({ purpose: '审计测试：二号车', rows: 1 });

      await tracePerson(world.ctx, taskForce, { idNumber: riderId, ...period, purpose: '审计测试：个人' });
      const personEntry = await world.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'venue.trace.person').orderBy('at', 'desc').executeTakeFirstOrThrow();
      expect(personEntry.detail).toContain('审计测试：个人');
      expect(personEntry.detail).not.toContain(riderId);
      expect(personEntry.target).not.toContain(riderId);
    });

    it('requires a purpose and the task force role', async () => {
      await expect(traceVenue(world.ctx, taskForce, { ...period, venueId: bus1, purpose: ' ' })).rejects.toMatchObject({ code: 'TRACE_PURPOSE_REQUIRED' });
      const guard = await makeUser(world.ctx, 'guard', (await buildSchool(world.ctx)).code);
      await expect(traceVenue(world.ctx, guard, { ...period, venueId: bus1 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(traceVenue(world.ctx, taskForce, { ...period, from: period.to, venueId: bus1 })).rejects.toMatchObject({ code: 'VALIDATION' });
    });

    it('exports names with formula characters as text', async () => {
      const result = await traceVenue(world.ctx, taskForce, { ...period, line: 'T9' });
      const shopResult = await tracePerson(world.ctx, taskForce, { idNumber: riderId, from: instantOf('2026-12-08', '00:00'), to: instantOf('2026-12-09', '00:00'), purpose: '导出测试' });
      const file = await writeTraceXlsx('=标题', { ...result, entries: [...result.entries, ...shopResult.entries] });

      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(file as unknown as ArrayBuffer);
      const sheet = workbook.worksheets[0];
      // Text cells are never run as formulas, so the values are written as typed.
      expect(sheet.getCell('A1').value).toBe('=标题');
      expect(sheet.getRow(2).getCell(1).value).toBe('登记时间');
      const names = [3, 4, 5, 6, 7].map((r) => sheet.getRow(r).getCell(7));
      expect(names.map((c) => c.value)).toEqual(['@SUM(A1:A9)', '-2+3', '刘手工', '@SUM(A1:A9)', '@SUM(A1:A9)']);
      for (const cell of names) {
        expect(cell.type).toBe(ExcelJS.ValueType.String);
        expect(cell.numFmt).toBe('@');
      }
      expect(sheet.getRow(7).getCell(2).value).toBe('=HYPERLINK("http://127.0.0.1/x","点我")');
      expect(sheet.getRow(7).getCell(6).value).toBe('+店主');
      expect(sheet.getRow(3).getCell(8).value).toBe(riderId);
      sheet.eachRow((row) => row.eachCell((cell) => expect(cell.type).not.toBe(ExcelJS.ValueType.Formula)));

      const stored = readStoredCells(file, ['A1', 'G3', 'B7', 'F7']);
      expect(stored.get('A1')).toEqual({ type: 's', hasFormula: false, text: '=标题', numberFormatId: 49 });
      expect(stored.get('G3')).toEqual({ type: 's', hasFormula: false, text: '@SUM(A1:A9)', numberFormatId: 49 });
      expect(stored.get('B7')).toEqual({ type: 's', hasFormula: false, text: '=HYPERLINK("http://127.0.0.1/x","点我")', numberFormatId: 49 });
      expect(stored.get('F7')).toEqual({ type: 's', hasFormula: false, text: '+店主', numberFormatId: 49 });
    });
  });

  describe('retention', () => {
    it('deletes check-ins older than the retention period and records the counts', async () => {
      const venue = await service.getVenueOrThrow(world.ctx, (await buildVenue(world.ctx, admin)).id);
      world.t.setNow(instantOf('2026-11-01', '08:00'));
      const old = await recordCheckin(world.ctx, { venue, method: 'scan', identity: { name: '旧记录', idNumber: nextIdNumber() } });
      world.t.setNow(instantOf('2026-12-20', '08:00'));
      const recent = await recordCheckin(world.ctx, { venue, method: 'scan', identity: { name: '新记录', idNumber: nextIdNumber() } });

      const cutoff = instantOf('2026-12-20', '08:00') - 28 * 86_400_000;
      const before = await world.ctx.db.selectFrom('venue_checkins').select((eb) => eb.fn.countAll<number>().as('n')).where('checked_in_at', '<', cutoff).executeTakeFirstOrThrow();
      const result = await purgeExpiredCheckins(world.ctx);
      expect(result.cutoff).toBe(cutoff);
      expect(result.checkinsDeleted).toBe(Number(before.n));
      expect(result.checkinsDeleted).toBeGreaterThanOrEqual(1);

      expect(await world.ctx.db.selectFrom('venue_checkins').select('id').where('id', '=', old.checkin.id).executeTakeFirst()).toBeUndefined();
      expect(await world.ctx.db.selectFrom('venue_checkins').select('id').where('id', '=', recent.checkin.id).executeTakeFirst()).toBeDefined();

      const runs = await service.listRetentionRuns(world.ctx);
      expect(runs[0]).toMatchObject({ checkins_deleted: result.checkinsDeleted, retention_days: 28 });

      const again = await purgeExpiredCheckins(world.ctx);
      expect(again.checkinsDeleted).toBe(0);
    });
  });
});
