import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import * as service from '../../src/modules/venues/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { buildVenue, makeUser, nextIdNumber, signInAs, startVenueWorld, type VenueWorld } from './helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_ACCEPT = { 'content-type': 'application/json', accept: 'application/json' };

function pathOf(url: string): string {
  return new URL(url).pathname;
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

describe.each(DIALECTS)('venue pages and API on %s', (dialect) => {
  let world: VenueWorld;
  let app: HttpApp;
  let admin: AuthUser;
  let adminHeaders: Record<string, string>;
  let venue: service.VenueView;

  beforeAll(async () => {
    world = await startVenueWorld(dialect, { checkinsPerPhonePerMinute: 3, checkinsPerIpPerMinute: 1000 });
    world.t.setNow(instantOf('2026-12-07', '07:30'));
    app = await buildApp(world.ctx);
    admin = await makeUser(world.ctx, 'district_admin');
    adminHeaders = await signInAs(world.ctx, admin);
    venue = await buildVenue(world.ctx, admin, { name: '1001 号车', line: 'K101', plate: '浙A·12345' });
  });
  afterAll(async () => {
    await app?.close();
    await world?.close();
  });

  describe('check-in page', () => {
    it('shows the form with the bus and sets the phone cookie', async () => {
      const response = await app.inject({ method: 'GET', url: pathOf(venue.codeUrl) });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.body).toContain('K101路 浙A·12345');
      expect(response.body).toContain('在本机记住我的信息');
      expect(response.headers['content-security-policy']).toMatch(/script-src 'nonce-[\w-]+'/);
      expect(String(response.headers['set-cookie'])).toMatch(/fk_vdev=[\w-]{20,}/);
      expect(response.body.length).toBeLessThan(12_000);
    });

    const refusals: Array<[string, (token: string) => string, string]> = [
      ['a forged signature', (t) => t.slice(0, -4) + (t.endsWith('AAAA') ? 'BBBB' : 'AAAA'), '场所码无效：校验未通过'],
      ['an edited version', (t) => t.replace(/\.(\d+)\./, '.9.'), '场所码无效：校验未通过'],
      ['a truncated code', (t) => t.slice(0, 40), '场所码不完整'],
      ['a lower-case venue id cut short', (t) => t.slice(0, 20).toLowerCase(), '场所码不完整'],
      ['a lower-case venue id cut before the version', (t) => `${t.slice(0, 24).toLowerCase()}.1.`, '场所码不完整'],
      ['a doubled URL', (t) => `${t}https://fk.example.cn/v/${t}`, '场所码内容重复'],
      ['another system’s code', () => 'weixin-pay-12345', '这不是本平台的场所码'],
    ];

    it.each(refusals)('refuses %s with a Chinese page', async (_case, edit, title) => {
      const token = pathOf(venue.codeUrl).slice(3);
      const response = await app.inject({ method: 'GET', url: `/v/${edit(token)}` });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain(title);
      expect(response.body).not.toContain('<form');
    });

    it('accepts a venue id in lower case', async () => {
      const token = pathOf(venue.codeUrl).slice(3);
      const lowered = token.slice(0, 26).toLowerCase() + token.slice(26);
      const response = await app.inject({ method: 'GET', url: `/v/${lowered}` });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('<form');
    });

    it('reads a code path written /V/ as ours', async () => {
      const url = new URL(venue.codeUrl);
      const upperPath = `${url.origin}/V/${url.pathname.slice(3)}`;
      expect(await service.resolveVenueCode(world.ctx, upperPath)).toMatchObject({ ok: true });

      const wholeUpper = venue.codeUrl.toUpperCase();
      expect(await service.resolveVenueCode(world.ctx, wholeUpper)).toEqual({ ok: false, refusal: 'bad_signature' });
    });

    it('refuses the old code after a re-issue and accepts the new one', async () => {
      const bus = await buildVenue(world.ctx, admin, { name: '1002 号车' });
      const response = await app.inject({ method: 'POST', url: `/api/venues/${bus.id}/reissue`, headers: adminHeaders, payload: { reason: '海报被涂改' } });
      expect(response.statusCode).toBe(200);
      const reissued = response.json() as service.VenueView;
      expect(reissued.codeVersion).toBe(2);

      const old = await app.inject({ method: 'GET', url: pathOf(bus.codeUrl) });
      expect(old.statusCode).toBe(400);
      expect(old.body).toContain('场所码已作废');
      const post = await app.inject({ method: 'POST', url: pathOf(bus.codeUrl), headers: FORM, payload: form({ name: '张三', idNumber: nextIdNumber() }) });
      expect(post.statusCode).toBe(400);
      expect(post.body).toContain('场所码已作废');
      expect((await app.inject({ method: 'GET', url: pathOf(reissued.codeUrl) })).statusCode).toBe(200);
    });

    it('refuses a retired venue', async () => {
      const bus = await buildVenue(world.ctx, admin, { name: '1003 号车' });
      expect((await app.inject({ method: 'POST', url: `/api/venues/${bus.id}/retire`, headers: adminHeaders })).statusCode).toBe(200);
      const response = await app.inject({ method: 'GET', url: pathOf(bus.codeUrl) });
      expect(response.body).toContain('场所已停用');
    });

    it('checks in from the form and shows the live result page', async () => {
      const idNumber = nextIdNumber();
      const post = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: FORM, payload: form({ name: '王小明', idNumber, remember: '1' }) });
      expect(post.statusCode).toBe(303);
      const location = String(post.headers.location);
      expect(location).toMatch(/^\/v\/r\/[0-9A-Z]{26}\.[\w-]{16}$/);

      const result = await app.inject({ method: 'GET', url: location });
      expect(result.statusCode).toBe(200);
      expect(result.headers['cache-control']).toBe('no-store');
      expect(result.body).toContain('data-verdict="pass"');
      expect(result.body).toContain('绿码 可通行');
      expect(result.body).toContain('王*明');
      expect(result.body).not.toContain(idNumber);
      expect(result.body).toContain(`${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`);
      expect(result.body).toContain('K101路 浙A·12345');
      expect(result.body).toContain(`--day:${service.frameColorOf(world.ctx).css}`);
      expect(result.body).toContain('id="clock"');
    });

    it('keeps what was typed and names the problem', async () => {
      const response = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: FORM, payload: form({ name: '=1+1', idNumber: '110101199003074515' }) });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('身份证号');
      expect(response.body).toContain('value="=1+1"');
      expect(response.body).toContain('<form');
    });

    it('escapes a name with markup', async () => {
      const post = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: FORM, payload: form({ name: '<script>x</script>', phone: '10012340000' }) });
      const result = await app.inject({ method: 'GET', url: String(post.headers.location) });
      expect(result.body).not.toContain('<script>x');
      expect(result.body).toContain('&lt;*');
    });

    it('answers JSON clients and folds a repeat scan', async () => {
      const idNumber = nextIdNumber();
      const first = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: JSON_ACCEPT, payload: { name: '李四', idNumber } });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ duplicate: false, codeColor: 'green', verdict: 'pass', maskedName: '李*', method: 'scan' });

      world.t.setNow(instantOf('2026-12-07', '07:33'));
      const second = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: JSON_ACCEPT, payload: { name: '李四', idNumber } });
      expect(second.json()).toMatchObject({ duplicate: true, checkinId: first.json().checkinId });
      const page = await app.inject({ method: 'GET', url: second.json().resultUrl });
      expect(page.body).toContain('几分钟内重复扫码按一次登记');
    });

    it('marks the result page expired after 30 minutes', async () => {
      world.t.setNow(instantOf('2026-12-07', '08:00'));
      const post = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: FORM, payload: form({ name: '钱五', idNumber: nextIdNumber() }) });
      const location = String(post.headers.location);
      world.t.setNow(instantOf('2026-12-07', '08:31'));
      const page = await app.inject({ method: 'GET', url: location });
      expect(page.body).toContain('此结果页已过期');
      expect(page.body).not.toContain('data-verdict');
    });

    it('refuses an edited result link', async () => {
      const post = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: FORM, payload: form({ name: '孙六', phone: '10099998888' }) });
      const location = String(post.headers.location);
      const edited = location.slice(0, -1) + (location.endsWith('A') ? 'B' : 'A');
      const page = await app.inject({ method: 'GET', url: edited });
      expect(page.statusCode).toBe(404);
      expect(page.body).toContain('登记结果不存在');
    });

    it('limits check-ins per phone', async () => {
      const cookie = 'fk_vdev=phone-limit-test-cookie-1';
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const response = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: { ...FORM, cookie }, payload: form({ name: `限流${i}`, phone: `1001000000${i}` }) });
        statuses.push(response.statusCode);
        if (i === 3) {
          expect(response.body).toContain('操作太频繁');
          expect(response.headers['retry-after']).toBeDefined();
        }
      }
      expect(statuses).toEqual([303, 303, 303, 429]);
      const otherPhone = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: { ...FORM, cookie: 'fk_vdev=another-phone-cookie-22' }, payload: form({ name: '别的手机', phone: '10010000009' }) });
      expect(otherPhone.statusCode).toBe(303);
    });

    it('serves the staff page', async () => {
      const response = await app.inject({ method: 'GET', url: '/v/staff' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('已查看本人健康码');
    });
  });

  describe('device API', () => {
    let reader: { key: string };
    let staff: { key: string; setupUrl: string };

    beforeAll(async () => {
      world.t.setNow(instantOf('2026-12-07', '09:00'));
      adminHeaders = await signInAs(world.ctx, admin);
      reader = (await app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload: { kind: 'card_reader', name: '前门读卡器', venueId: venue.id } })).json();
      staff = (await app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload: { kind: 'staff_phone', name: '司机手机', operator: '杭州公交集团' } })).json();
      const card = await app.inject({ method: 'POST', url: '/api/venue-cards', headers: adminHeaders, payload: { kind: 'senior', cardNumber: '66001122', holderName: '老王', idNumber: nextIdNumber() } });
      expect(card.statusCode).toBe(200);
      await app.inject({ method: 'POST', url: '/api/venue-cards', headers: adminHeaders, payload: { kind: 'student', cardNumber: '77001122', holderName: '小赵', idNumber: nextIdNumber() } });
    });

    it('gives a staff phone a set-up link with its key in the fragment', () => {
      expect(staff.setupUrl).toBe(`https://fk.example.cn/v/staff#key=${staff.key}`);
    });

    it('checks in a swiped card', async () => {
      world.t.setNow(instantOf('2026-12-07', '09:00'));
      const response = await app.inject({ method: 'POST', url: '/api/venue-devices/card-checkins', headers: { authorization: `Bearer ${reader.key}` }, payload: { cardNumber: 66001122 } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ method: 'card_reader', maskedName: '老*', verdict: 'pass', venue: 'K101路 浙A·12345' });
    });

    it('rejects a wrong key', async () => {
      const [id] = reader.key.split('.');
      const response = await app.inject({ method: 'POST', url: '/api/venue-devices/card-checkins', headers: { authorization: `Bearer ${id}.${'x'.repeat(43)}` }, payload: { cardNumber: '66001122' } });
      expect(response.statusCode).toBe(401);
      expect(response.json().message).toContain('设备认证失败');
    });

    it('lists the staff phone’s venues and today’s colour', async () => {
      const response = await app.inject({ method: 'GET', url: '/api/venue-devices/me', headers: { authorization: `Bearer ${staff.key}` } });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.venues.map((v: { id: string }) => v.id)).toContain(venue.id);
      expect(body.today).toEqual(service.frameColorOf(world.ctx));
    });

    async function registerByHand(payload: Record<string, unknown>) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/venue-devices/manual-checkins',
        headers: { authorization: `Bearer ${staff.key}` },
        payload: { venueId: venue.id, ...payload },
      });
      expect(response.statusCode, response.body).toBe(200);
      const row = await world.ctx.db.selectFrom('venue_checkins').selectAll().where('id', '=', response.json().checkinId).executeTakeFirstOrThrow();
      return { body: response.json(), row };
    }

    it('shows the staff colour on manual registration', async () => {
      const { body, row } = await registerByHand({ name: '游客', phone: '10055556666', codeSeen: true, seenColor: 'green' });
      expect(body).toMatchObject({ method: 'manual', verdict: 'pass', label: '绿码 可通行（人工核验）', verifiedBy: 'staff', seenColor: 'green' });
      expect(body.advice).not.toContain('无法核验');
      // The record keeps what the lookup returned: nothing, for a phone number.
      expect(body.codeColor).toBe('unknown');
      expect(row).toMatchObject({ code_seen: 1, seen_color: 'green', code_color: 'unknown', code_source: 'no_id_number', method: 'manual' });
    });

    it('asks for the code when unseen', async () => {
      const { body, row } = await registerByHand({ name: '游客乙', phone: '10055557777', codeSeen: false, seenColor: 'green' });
      expect(body).toMatchObject({ verdict: 'unverified', advice: '无法核验，请向工作人员出示健康码', verifiedBy: 'bureau', seenColor: null });
      expect(row).toMatchObject({ code_seen: 0, seen_color: null });
    });

    it('lets the stricter colour decide', async () => {
      const yellowSeen = nextIdNumber();
      const seen = await registerByHand({ name: '游客丁', idNumber: yellowSeen, codeSeen: true, seenColor: 'yellow' });
      expect(seen.body).toMatchObject({ verdict: 'restricted', label: '黄码 限制通行（人工核验）', verifiedBy: 'staff', codeColor: 'green' });
      expect(seen.row).toMatchObject({ code_color: 'green', seen_color: 'yellow' });

      const redLookedUp = nextIdNumber();
      world.bureau.setCode(redLookedUp, 'red');
      const looked = await registerByHand({ name: '游客戊', idNumber: redLookedUp, codeSeen: true, seenColor: 'green' });
      expect(looked.body).toMatchObject({ verdict: 'stop', label: '红码 禁止通行', verifiedBy: 'bureau', codeColor: 'red' });
      expect(looked.body.advice).toContain('工作人员查看为绿码');
      expect(looked.row).toMatchObject({ code_color: 'red', seen_color: 'green' });
    });

    it('types a card number on a staff phone, but not on a reader', async () => {
      const typed = await app.inject({ method: 'POST', url: '/api/venue-devices/card-checkins', headers: { authorization: `Bearer ${staff.key}` }, payload: { venueId: venue.id, cardNumber: '7700 1122', typed: true } });
      expect(typed.statusCode).toBe(200);
      expect(typed.json().method).toBe('card_typed');
      const fromReader = await app.inject({ method: 'POST', url: '/api/venue-devices/card-checkins', headers: { authorization: `Bearer ${reader.key}` }, payload: { cardNumber: '77001122', typed: true } });
      expect(fromReader.statusCode).toBe(403);
    });

    it('rejects a card reported lost', async () => {
      const lost = await app.inject({ method: 'POST', url: '/api/venue-cards/lost', headers: adminHeaders, payload: { cardNumber: '66001122' } });
      expect(lost.json().status).toBe('lost');
      const response = await app.inject({ method: 'POST', url: '/api/venue-devices/card-checkins', headers: { authorization: `Bearer ${reader.key}` }, payload: { cardNumber: '66001122' } });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ error: 'VENUE_CARD_LOST' });
      expect(response.json().message).toContain('已挂失');
    });

    it('stops a retired device', async () => {
      const spare = (await app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload: { kind: 'card_reader', name: '备用读卡器', venueId: venue.id } })).json();
      await app.inject({ method: 'POST', url: `/api/venue-devices/${spare.id}/retire`, headers: adminHeaders });
      const response = await app.inject({ method: 'POST', url: '/api/venue-devices/card-checkins', headers: { authorization: `Bearer ${spare.key}` }, payload: { cardNumber: '77001122' } });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('venue device management', () => {
    const me = (credential: string) => app.inject({ method: 'GET', url: '/api/venue-devices/me', headers: { authorization: `Bearer ${credential}` } });

    beforeAll(async () => {
      adminHeaders = await signInAs(world.ctx, admin);
    });

    it('rotates a key: the old one stops, the new one works', async () => {
      const phone = (await app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload: { kind: 'staff_phone', name: '售票员手机', venueId: venue.id } })).json();
      expect((await me(phone.key)).statusCode).toBe(200);

      const rotated = await app.inject({ method: 'POST', url: `/api/venue-devices/${phone.id}/rotate-key`, headers: adminHeaders });
      expect(rotated.statusCode).toBe(200);
      const reply = rotated.json();
      expect(reply.key).not.toBe(phone.key);
      expect(reply.setupUrl).toBe(`https://fk.example.cn/v/staff#key=${reply.key}`);
      expect((await me(phone.key)).statusCode).toBe(401);
      expect((await me(reply.key)).statusCode).toBe(200);

      await app.inject({ method: 'POST', url: `/api/venue-devices/${phone.id}/retire`, headers: adminHeaders });
      expect((await me(reply.key)).statusCode).toBe(401);
      const again = await app.inject({ method: 'POST', url: `/api/venue-devices/${phone.id}/rotate-key`, headers: adminHeaders });
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toBe('设备“售票员手机”已停用，不能更换密钥；需要时请重新登记设备');
    });

    it('lists one venue’s devices to the admin of its school only', async () => {
      const school = await buildSchool(world.ctx);
      const principal = await makeUser(world.ctx, 'school_admin', school.code);
      const principalHeaders = await signInAs(world.ctx, principal);
      const gate = (await app.inject({ method: 'POST', url: '/api/venues', headers: principalHeaders, payload: { kind: 'school_gate', name: '北门', operator: school.name } })).json();
      const reader = (await app.inject({ method: 'POST', url: '/api/venue-devices', headers: principalHeaders, payload: { kind: 'card_reader', name: '北门读卡器', venueId: gate.id } })).json();

      const listed = await app.inject({ method: 'GET', url: `/api/venue-devices?venueId=${gate.id}`, headers: principalHeaders });
      expect(listed.statusCode).toBe(200);
      expect(listed.json().devices).toEqual([{ id: reader.id, kind: 'card_reader', name: '北门读卡器', operator: school.name, venueId: gate.id, active: true, lastSeenAt: null }]);

      // The school admin sees only its school's venues, and the district list stays the district's.
      expect((await app.inject({ method: 'GET', url: `/api/venue-devices?venueId=${venue.id}`, headers: principalHeaders })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: '/api/venue-devices', headers: principalHeaders })).statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: `/api/venue-devices/${reader.id}/rotate-key`, headers: principalHeaders })).statusCode).toBe(200);

      const guardHeaders = await signInAs(world.ctx, await makeUser(world.ctx, 'guard', school.code));
      expect((await app.inject({ method: 'GET', url: `/api/venue-devices?venueId=${gate.id}`, headers: guardHeaders })).statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: `/api/venue-devices/${reader.id}/rotate-key`, headers: guardHeaders })).statusCode).toBe(403);

      const audit = await world.ctx.db.selectFrom('audit_log').select(['action', 'school_id']).where('target', '=', reader.id).orderBy('action').execute();
      expect(audit).toEqual([
        { action: 'venue.device.create', school_id: school.id },
        { action: 'venue.device.rotate', school_id: school.id },
      ]);
    });
  });

  describe('posters and QR', () => {
    beforeAll(async () => {
      adminHeaders = await signInAs(world.ctx, admin);
    });

    it('prints an A4 poster and a bus-window poster', async () => {
      const a4 = await app.inject({ method: 'GET', url: `/api/venues/${venue.id}/poster?size=a4`, headers: adminHeaders });
      expect(a4.statusCode).toBe(200);
      expect(a4.body).toContain('size: 210mm 297mm');
      expect(a4.body).toContain('<svg');
      expect(a4.body).toContain('K101路 浙A·12345');
      const bus = await app.inject({ method: 'GET', url: `/api/venues/${venue.id}/poster`, headers: adminHeaders });
      expect(bus.body).toContain('size: 148mm 210mm');
    });

    it('prints every active vehicle of a line', async () => {
      const line = 'P7';
      for (let i = 0; i < 3; i++) await buildVenue(world.ctx, admin, { name: `70${i} 号车`, line, plate: `浙A·7000${i}` });
      const retired = await buildVenue(world.ctx, admin, { name: '709 号车', line, plate: '浙A·70009' });
      await service.retireVenue(world.ctx, admin, retired.id);
      const response = await app.inject({ method: 'GET', url: `/api/venue-posters?line=${line}`, headers: adminHeaders });
      expect(response.statusCode).toBe(200);
      expect(response.body.match(/<section class="poster">/g)).toHaveLength(3);
      expect(response.body).not.toContain('浙A·70009');
    });

    it('serves the QR as PNG and SVG', async () => {
      const png = await app.inject({ method: 'GET', url: `/api/venues/${venue.id}/qr.png?width=512`, headers: adminHeaders });
      expect(png.headers['content-type']).toBe('image/png');
      expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
      const svg = await app.inject({ method: 'GET', url: `/api/venues/${venue.id}/qr.svg`, headers: adminHeaders });
      expect(svg.body).toMatch(/^<svg/);
    });

    it('keeps posters to managers', async () => {
      const school = await buildSchool(world.ctx);
      const guardHeaders = await signInAs(world.ctx, await makeUser(world.ctx, 'guard', school.code));
      expect((await app.inject({ method: 'GET', url: `/api/venues/${venue.id}/poster`, headers: guardHeaders })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: `/api/venues/${venue.id}/poster` })).statusCode).toBe(401);
    });
  });

  describe('duplicate venues', () => {
    beforeAll(async () => {
      adminHeaders = await signInAs(world.ctx, admin);
    });

    const register = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/venues', headers: adminHeaders, payload });

    it('rejects a plate of an active vehicle', async () => {
      const first = await register({ kind: 'bus', name: '3101 号车', operator: '城北公交', line: 'D31', plate: '浙A·31001' });
      expect(first.statusCode).toBe(200);

      // The same plate written without the dot and in lower case, on another line.
      const second = await register({ kind: 'bus', name: '3102 号车', operator: '城南公交', line: 'D32', plate: '浙a 31001' });
      expect(second.statusCode).toBe(409);
      expect(second.json().message).toBe('车牌“浙A 31001”已属于在用车辆“3101 号车”（公交车，D31路 浙A·31001，城北公交），一个车牌只对应一辆车。如果原车辆已不再运营，请先停用它的场所码；否则请核对车牌。');

      const line = await app.inject({ method: 'GET', url: '/api/venue-posters?line=D31', headers: adminHeaders });
      expect(line.body.match(/<section class="poster">/g)).toHaveLength(1);
    });

    it('accepts the plate once its vehicle is retired', async () => {
      const old = (await register({ kind: 'bus', name: '3201 号车', operator: '城北公交', line: 'D31', plate: '浙A·32001' })).json();
      await app.inject({ method: 'POST', url: `/api/venues/${old.id}/retire`, headers: adminHeaders });
      const replacement = await register({ kind: 'bus', name: '3201 号车', operator: '城北公交', line: 'D31', plate: '浙A·32001' });
      expect(replacement.statusCode).toBe(200);
    });

    it('rejects a venue with the same name, address and operator', async () => {
      const shop = { kind: 'shop', name: '城北菜场', operator: '城北菜场管理处', address: '城北路 8 号' };
      expect((await register(shop)).statusCode).toBe(200);

      const again = await register(shop);
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toBe('已有同名在用场所“城北菜场”（商铺，城北路 8 号，城北菜场管理处），类型、名称、地址和运营单位都相同。如果原场所已不再使用，请先停用它；如果是另一个场所，请改用能区分的名称。');

      const elsewhere = await register({ ...shop, address: '城北路 88 号' });
      expect(elsewhere.statusCode).toBe(200);
      const otherKind = await register({ ...shop, kind: 'hall' });
      expect(otherKind.statusCode).toBe(200);
    });

    it('names the repeated row of a batch', async () => {
      const venues = [
        { kind: 'bus', name: '3301 号车', operator: '城北公交', line: 'D33', plate: '浙A·33001' },
        { kind: 'bus', name: '3302 号车', operator: '城北公交', line: 'D33', plate: '浙A-33001' },
      ];
      const response = await app.inject({ method: 'POST', url: '/api/venues/batch', headers: adminHeaders, payload: { venues } });
      expect(response.statusCode).toBe(409);
      expect(response.json().message).toBe('第 2 个场所：车牌“浙A-33001”与第 1 个场所“3301 号车”（公交车，D33路 浙A·33001，城北公交）相同，一个车牌只对应一辆车，请核对车牌。');
      const stored = await app.inject({ method: 'GET', url: '/api/venues?line=D33', headers: adminHeaders });
      expect(stored.json().total).toBe(0);

      const existing = await app.inject({ method: 'POST', url: '/api/venues/batch', headers: adminHeaders, payload: { venues: [venues[0], { ...venues[1], plate: '浙A·31001' }] } });
      expect(existing.statusCode).toBe(409);
      expect(existing.json().message).toMatch(/^第 2 个场所：车牌“浙A·31001”已属于在用车辆“3101 号车”/);
    });

    it('rejects a change that repeats another venue', async () => {
      const bus = (await register({ kind: 'bus', name: '3401 号车', operator: '城北公交', line: 'D34', plate: '浙A·34001' })).json();
      const taken = await app.inject({ method: 'PATCH', url: `/api/venues/${bus.id}`, headers: adminHeaders, payload: { plate: '浙A31001' } });
      expect(taken.statusCode).toBe(409);
      expect(taken.json().message).toContain('已属于在用车辆“3101 号车”');

      // Saving a venue's own plate again is no duplicate.
      const same = await app.inject({ method: 'PATCH', url: `/api/venues/${bus.id}`, headers: adminHeaders, payload: { plate: '浙A·34001', name: '3401 号车（新）' } });
      expect(same.statusCode).toBe(200);
    });
  });

  describe('typed bus fields and addresses', () => {
    beforeAll(async () => {
      world.t.setNow(instantOf('2026-12-07', '11:00'));
      adminHeaders = await signInAs(world.ctx, admin);
    });

    const register = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/venues', headers: adminHeaders, payload });

    it('stores a bus line without 路 and shows it once', async () => {
      const response = await register({ kind: 'bus', name: '5051 号车', operator: '城南公交', line: ' Ｋ505路 ', plate: '浙A·50501' });
      expect(response.statusCode, response.body).toBe(200);
      const bus = response.json();
      expect(bus.line).toBe('K505');

      const listed = await app.inject({ method: 'GET', url: `/api/venues?line=${encodeURIComponent('k505路')}`, headers: adminHeaders });
      expect(listed.json().venues.map((v: { id: string }) => v.id)).toEqual([bus.id]);

      const page = await app.inject({ method: 'GET', url: pathOf(bus.codeUrl) });
      expect(page.body).toContain('<h1>K505路 浙A·50501</h1>');
      expect(page.body).not.toContain('路路');

      const posters = await app.inject({ method: 'GET', url: `/api/venue-posters?line=${encodeURIComponent('K505路')}`, headers: adminHeaders });
      expect(posters.statusCode).toBe(200);
      expect(posters.body).toContain('场所码 K505路 共 1 辆');

      const changed = await app.inject({ method: 'PATCH', url: `/api/venues/${bus.id}`, headers: adminHeaders, payload: { line: 'k506线' } });
      expect(changed.json().line).toBe('K506');
      await app.inject({ method: 'PATCH', url: `/api/venues/${bus.id}`, headers: adminHeaders, payload: { line: 'K505' } });
    });

    it('rejects a line that is only 路', async () => {
      const response = await register({ kind: 'bus', name: '5052 号车', operator: '城南公交', line: '路', plate: '浙A·50502' });
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toBe('输入不正确：线路“路”只有“路”或“线”字，请填写线路编号，例如 K101');
    });

    it('traces a line however it is typed', async () => {
      const bus = (await app.inject({ method: 'GET', url: '/api/venues?line=K505', headers: adminHeaders })).json().venues[0];
      const checkin = await app.inject({ method: 'POST', url: pathOf(bus.codeUrl), headers: JSON_ACCEPT, payload: { name: '线路乘客', phone: '10012340505' } });
      expect(checkin.statusCode, checkin.body).toBe(200);

      const headers = await signInAs(world.ctx, await makeUser(world.ctx, 'task_force'));
      for (const line of ['K505', 'k505', 'K505路', 'Ｋ５０５路']) {
        const response = await app.inject({ method: 'POST', url: '/api/venue-tracing/venue', headers, payload: { line, from: '2026-12-07 10:00', to: '2026-12-07 12:00', purpose: '密接排查：线路写法' } });
        expect(response.statusCode, line).toBe(200);
        expect(response.json().entries.map((e: { name: string }) => e.name), line).toEqual(['线路乘客']);
      }
    });

    it('rejects a plate that is not a licence plate', async () => {
      const response = await register({ kind: 'bus', name: '5053 号车', operator: '城南公交', line: 'K505', plate: 'ABC' });
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toBe('输入不正确：车牌号“ABC”格式不对，应为省份简称、一个字母，再加 5 位字母或数字（新能源车 6 位），例如 浙A·10101');

      const bus = (await app.inject({ method: 'GET', url: '/api/venues?line=K505', headers: adminHeaders })).json().venues[0];
      const changed = await app.inject({ method: 'PATCH', url: `/api/venues/${bus.id}`, headers: adminHeaders, payload: { plate: '浙A·5' } });
      expect(changed.statusCode).toBe(400);
      expect(changed.json().message).toContain('车牌号“浙A·5”格式不对');
    });

    it('accepts a new-energy plate and stores letters upper case', async () => {
      const response = await register({ kind: 'bus', name: '5054 号车', operator: '城南公交', line: 'K505', plate: '浙ad-12345' });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().plate).toBe('浙AD-12345');
    });

    it('rejects an address that differs only in spaces or full-width digits', async () => {
      const shop = { kind: 'shop', name: '城东菜场', operator: '城东菜场管理处', address: '城东路18号' };
      expect((await register(shop)).statusCode).toBe(200);

      for (const address of ['城东路 18 号', '城东路１８号']) {
        const again = await register({ ...shop, address });
        expect(again.statusCode, address).toBe(409);
        expect(again.json().message, address).toContain('已有同名在用场所“城东菜场”（商铺，城东路18号，城东菜场管理处）');
      }

      // A district written before the street is not matched: it is stored as another address.
      const prefixed = await register({ ...shop, address: '示范区城东路18号' });
      expect(prefixed.statusCode).toBe(200);
      expect(prefixed.json().address).toBe('示范区城东路18号');
    });

    it('stores the address as typed', async () => {
      const response = await register({ kind: 'hall', name: '城东礼堂', operator: '城东街道', address: '城东路 20 号' });
      expect(response.json().address).toBe('城东路 20 号');
    });

    it('rejects a second active device of one name at a venue', async () => {
      const shop = (await register({ kind: 'shop', name: '城东超市', operator: '城东超市公司', address: '城东路 30 号' })).json();
      const other = (await register({ kind: 'shop', name: '城西超市', operator: '城东超市公司', address: '城西路 30 号' })).json();
      const device = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload });

      const first = await device({ kind: 'card_reader', name: '收银台读卡器', venueId: shop.id });
      expect(first.statusCode).toBe(200);
      const again = await device({ kind: 'staff_phone', name: '收银台读卡器', venueId: shop.id });
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toBe('场所“城东超市”已有在用设备“收银台读卡器”（读卡器），同名设备无法区分。请换一个名称，例如“收银台读卡器 2”；如果原设备已不再使用，请先停用它。');
      const listed = await app.inject({ method: 'GET', url: `/api/venue-devices?venueId=${shop.id}`, headers: adminHeaders });
      expect(listed.json().devices).toHaveLength(1);

      // The same name at another venue, or after the first device is retired, is accepted.
      expect((await device({ kind: 'card_reader', name: '收银台读卡器', venueId: other.id })).statusCode).toBe(200);
      await app.inject({ method: 'POST', url: `/api/venue-devices/${first.json().id}/retire`, headers: adminHeaders });
      expect((await device({ kind: 'card_reader', name: '收银台读卡器', venueId: shop.id })).statusCode).toBe(200);
    });

    it('rejects a second operator-wide staff phone of one name', async () => {
      const payload = { kind: 'staff_phone', name: '巡查手机', operator: '城东超市公司' };
      expect((await app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload })).statusCode).toBe(200);
      const again = await app.inject({ method: 'POST', url: '/api/venue-devices', headers: adminHeaders, payload });
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toContain('运营单位“城东超市公司”的跨场所设备中已有在用设备“巡查手机”（工作人员手机）');
    });
  });

  describe('tracing API', () => {
    beforeAll(async () => {
      adminHeaders = await signInAs(world.ctx, admin);
    });

    it('exports a bus line as Excel for the task force', async () => {
      const headers = await signInAs(world.ctx, await makeUser(world.ctx, 'task_force'));
      const response = await app.inject({
        method: 'POST',
        url: '/api/venue-tracing/venue',
        headers,
        payload: { line: 'K101', from: '2026-12-07 07:00', to: '2026-12-07 10:00', purpose: '密接排查：接口测试', format: 'xlsx' },
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('spreadsheetml');
      expect(response.rawPayload.subarray(0, 2).toString()).toBe('PK');

      const json = await app.inject({ method: 'POST', url: '/api/venue-tracing/venue', headers, payload: { line: 'K101', from: '2026-12-07 07:00', to: '2026-12-07 10:00', purpose: '密接排查：接口测试' } });
      expect(json.json().entries.length).toBeGreaterThanOrEqual(5);
    });

    const badTimes: Array<[string, string, string]> = [
      ['an hour past 23', '2026-12-05 25:00', '开始时间（from）“2026-12-05 25:00”中的时间 25:00 不存在'],
      ['a minute past 59', '2026-12-05 10:61', '开始时间（from）“2026-12-05 10:61”中的时间 10:61 不存在'],
      ['a thirteenth month', '2026-13-05 10:00', '开始时间（from）“2026-13-05 10:00”中的日期 2026-13-05 不存在'],
      ['the thirtieth of February', '2026-02-30 00:00', '开始时间（from）“2026-02-30 00:00”中的日期 2026-02-30 不存在'],
      ['a slashed day', '2026/12/05 10:00', '开始时间（from）“2026/12/05 10:00”格式不正确'],
    ];

    it.each(badTimes)('rejects a start time with %s', async (_case, from, start) => {
      const headers = await signInAs(world.ctx, await makeUser(world.ctx, 'task_force'));
      const payload = { from, to: '2026-12-07 10:00', purpose: '密接排查：接口测试' };
      for (const [url, target] of [['/api/venue-tracing/venue', { line: 'K101' }], ['/api/venue-tracing/person', { idNumber: nextIdNumber() }]] as const) {
        const response = await app.inject({ method: 'POST', url, headers, payload: { ...target, ...payload } });
        expect(response.statusCode, url).toBe(400);
        const message = response.json().message as string;
        expect(message, url).toContain(start);
        expect(message, url).toContain('应为 YYYY-MM-DD HH:mm（北京时间），例如 2026-12-07 07:30');
        expect(message, url).not.toContain('31 天');
      }
    });

    it('rejects an impossible end time', async () => {
      const headers = await signInAs(world.ctx, await makeUser(world.ctx, 'task_force'));
      const payload = { line: 'K101', from: '2026-12-07 07:00', to: '2026-12-07 24:00', purpose: '密接排查：接口测试' };
      const response = await app.inject({ method: 'POST', url: '/api/venue-tracing/venue', headers, payload });
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toContain('结束时间（to）“2026-12-07 24:00”中的时间 24:00 不存在');
    });

    it('lists venues for the task force to pick', async () => {
      const headers = await signInAs(world.ctx, await makeUser(world.ctx, 'task_force'));
      const response = await app.inject({ method: 'GET', url: '/api/venues?line=K101', headers });
      expect(response.statusCode).toBe(200);
      expect(response.json().total).toBeGreaterThan(0);

      const change = await app.inject({ method: 'POST', url: '/api/venues', headers, payload: { kind: 'shop', name: '越权商铺', operator: '专班' } });
      expect(change.statusCode).toBe(403);
    });

    it('rejects a school role', async () => {
      const school = await buildSchool(world.ctx);
      const headers = await signInAs(world.ctx, await makeUser(world.ctx, 'school_admin', school.code));
      const response = await app.inject({ method: 'POST', url: '/api/venue-tracing/person', headers, payload: { idNumber: nextIdNumber(), from: 0, to: 1000, purpose: '越权测试' } });
      expect(response.statusCode).toBe(403);
    });

    it('names venue kinds in Chinese beside their keys', async () => {
      const created = await app.inject({ method: 'POST', url: '/api/venues', headers: adminHeaders, payload: { kind: 'boat', name: '游船', operator: '西湖游船' } });
      expect(created.statusCode).toBe(400);
      expect(created.json().message).toBe('输入不正确：场所类型“boat”无效，可选：bus（公交车）、shop（商铺）、school_gate（校门）、hall（场馆）、other（其他场所）');

      const listed = await app.inject({ method: 'GET', url: '/api/venues?kind=boat', headers: adminHeaders });
      expect(listed.statusCode).toBe(400);
      expect(listed.json().message).toBe(
        '输入不正确：查询参数有误：场所类型（kind）应为 "bus"（公交车）、"shop"（商铺）、"school_gate"（校门）、"hall"（场馆）、"other"（其他场所） 之一',
      );
    });

    it('gives a task force account no school', async () => {
      const response = await app.inject({ method: 'POST', url: '/api/auth/users', headers: adminHeaders, payload: { username: `tf${Date.now() % 100000}`, displayName: '专班值班', role: 'task_force', password: 'task-force-password-1' } });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({ role: 'task_force', roleLabel: '疫情防控专班', schoolId: null });
    });
  });
});

describe('check-in while the bureau is down', () => {
  let world: VenueWorld;
  let app: HttpApp;

  beforeAll(async () => {
    world = await startVenueWorld('sqlite');
    world.bureau.setFaults({ outage: true });
    app = await buildApp(world.ctx);
  });
  afterAll(async () => {
    await app?.close();
    await world?.close();
  });

  it('records unknown and tells the person to show the code to staff', async () => {
    const admin = await makeUser(world.ctx, 'district_admin');
    const venue = await buildVenue(world.ctx, admin);
    const post = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: FORM, payload: form({ name: '停机', idNumber: nextIdNumber() }) });
    expect(post.statusCode).toBe(303);
    const page = await app.inject({ method: 'GET', url: String(post.headers.location) });
    expect(page.body).toContain('无法核验，请向工作人员出示健康码');
    expect(page.body).toContain('data-verdict="unverified"');
    const row = await world.ctx.db.selectFrom('venue_checkins').selectAll().executeTakeFirstOrThrow();
    expect(row.code_color).toBe('unknown');
  });
});

describe('check-in limit per IP address', () => {
  let world: VenueWorld;
  let app: HttpApp;

  beforeAll(async () => {
    world = await startVenueWorld('sqlite', { checkinsPerIpPerMinute: 3 });
    app = await buildApp(world.ctx);
  });
  afterAll(async () => {
    await app?.close();
    await world?.close();
  });

  it('rejects the fourth check-in from one address', async () => {
    const venue = await buildVenue(world.ctx, await makeUser(world.ctx, 'district_admin'));
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      // A new phone cookie each time, so only the address limit can apply.
      const response = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), headers: { ...JSON_ACCEPT, cookie: `fk_vdev=ip-limit-phone-${i}-abcdefgh` }, payload: { name: `同一出口${i}`, phone: `1002000000${i}` } });
      statuses.push(response.statusCode);
      if (i === 3) expect(response.json()).toMatchObject({ error: 'RATE_LIMITED' });
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const other = await app.inject({ method: 'POST', url: pathOf(venue.codeUrl), remoteAddress: '127.0.0.2', headers: JSON_ACCEPT, payload: { name: '另一出口', phone: '10020000009' } });
    expect(other.statusCode).toBe(200);
  });
});
