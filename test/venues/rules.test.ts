import { describe, expect, it } from 'vitest';
import { FRAME_COLORS, frameColorIndex, maskName, verdictOf, verdictOfCheckin } from '../../src/modules/venues/checkin-display.js';
import { RecentCheckins } from '../../src/modules/venues/recent-checkins.js';
import type { CheckinRow } from '../../src/modules/venues/store.js';
import { checkTravel, distanceMeters } from '../../src/modules/venues/travel-check.js';
import { extractToken, parseVenueCode, signVenueCode, venueCodeUrl } from '../../src/modules/venues/venue-code.js';

const KEY = Buffer.alloc(32, 3);
const OTHER_KEY = Buffer.alloc(32, 4);
const VENUE_ID = '01KCB5X8Q9R7N2M4P6T8V0W2YZ';
const PUBLIC_URL = 'https://fk.example.cn';

describe('venue code tokens', () => {
  const token = signVenueCode(KEY, VENUE_ID, 3);

  it('round-trips a signed token', () => {
    const parsed = parseVenueCode(KEY, token);
    expect(parsed).toEqual({ ok: true, token: { venueId: VENUE_ID, version: 3, signature: token.split('.')[2] } });
  });

  it('keeps the printed URL short', () => {
    expect(venueCodeUrl(PUBLIC_URL, token).length).toBeLessThanOrEqual(PUBLIC_URL.length + 3 + 26 + 1 + 1 + 1 + 22);
  });

  const [id, version, signature] = token.split('.');
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

  it.each([
    ['signature of another key (forged)', signVenueCode(OTHER_KEY, VENUE_ID, 3), 'bad_signature'],
    ['one signature character changed', `${id}.${version}.${flip(signature, 5)}`, 'bad_signature'],
    ['version raised', `${id}.4.${signature}`, 'bad_signature'],
    ['version zero', `${id}.0.${signature}`, 'bad_signature'],
    ['venue id edited', `${flip(id, 25)}.${version}.${signature}`, 'bad_signature'],
    ['signature made longer', `${token}A`, 'bad_signature'],
    ['signature cut short', token.slice(0, -5), 'truncated'],
    ['signature missing', `${id}.${version}.`, 'truncated'],
    ['version and signature missing', id, 'truncated'],
    ['venue id cut', id.slice(0, 20), 'truncated'],
    ['token doubled', token + token, 'doubled'],
    ['token doubled with a path', `${token}/v/${token}`, 'doubled'],
    ['whole token lower-cased', token.toLowerCase(), 'bad_signature'],
    ['random text', 'hello world', 'not_ours'],
    ['another system’s code', 'wxp://f2f0abcdefg', 'not_ours'],
  ])('%s is %s', (_case, text, problem) => {
    expect(parseVenueCode(KEY, text)).toEqual({ ok: false, problem });
  });

  it('accepts a lower-cased venue id', () => {
    const parsed = parseVenueCode(KEY, `${id.toLowerCase()}.${version}.${signature}`);
    expect(parsed).toEqual({ ok: true, token: { venueId: VENUE_ID, version: 3, signature } });
  });

  it('rejects other spellings of the last signature character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const decoded = Buffer.from(signature, 'base64url');
    const twins = [...alphabet].filter((c) => c !== signature.at(-1) && Buffer.from(signature.slice(0, -1) + c, 'base64url').equals(decoded));
    // Without the check these would pass the HMAC comparison.
    expect(twins).toHaveLength(15);
    for (const twin of twins) {
      expect(parseVenueCode(KEY, `${id}.${version}.${signature.slice(0, -1)}${twin}`)).toEqual({ ok: false, problem: 'bad_signature' });
    }
  });

  it.each([
    ['our URL', `${PUBLIC_URL}/v/${token}`, { ok: true, token }],
    ['our path', `/v/${token}`, { ok: true, token }],
    ['a bare token', token, { ok: true, token }],
    ['another host', `https://evil.example.com/v/${token}`, { ok: false, problem: 'not_ours' }],
    ['another path of our host', `${PUBLIC_URL}/pay/${token}`, { ok: false, problem: 'not_ours' }],
    ['our URL twice', `${PUBLIC_URL}/v/${token}${PUBLIC_URL}/v/${token}`, { ok: true, token: `${token}https://fk.example.cn/v/${token}` }],
    ['a payment QR', 'https://qr.alipay.com/fkx12345', { ok: false, problem: 'not_ours' }],
    ['empty', '  ', { ok: false, problem: 'truncated' }],
  ])('extracts from %s', (_case, text, expected) => {
    expect(extractToken(text, PUBLIC_URL)).toEqual(expected);
  });

  it('calls a URL pasted twice doubled', () => {
    const extracted = extractToken(`${PUBLIC_URL}/v/${token}${PUBLIC_URL}/v/${token}`, PUBLIC_URL);
    expect(extracted.ok).toBe(true);
    if (extracted.ok) expect(parseVenueCode(KEY, extracted.token)).toEqual({ ok: false, problem: 'doubled' });
  });

  it('rejects a bad id or version when signing', () => {
    expect(() => signVenueCode(KEY, 'not-a-ulid', 1)).toThrow(/ULID/);
    expect(() => signVenueCode(KEY, VENUE_ID, 0)).toThrow(/positive/);
  });
});

describe('result page display', () => {
  it.each([
    ['张三', '张*'],
    ['张三丰', '张*丰'],
    ['欧阳娜娜', '欧**娜'],
    ['A', '*'],
    ['  李四  ', '李*'],
    ['=1+2', '=**2'],
  ])('masks %s as %s', (name, masked) => {
    expect(maskName(name)).toBe(masked);
  });

  it.each([
    ['green', 'pass', '✓'],
    ['yellow', 'restricted', '!'],
    ['red', 'stop', '✕'],
    ['unknown', 'unverified', '?'],
  ] as const)('shows %s as %s with %s', (color, verdict, symbol) => {
    expect(verdictOf(color).verdict).toBe(verdict);
    expect(verdictOf(color).symbol).toBe(symbol);
  });

  it('tells staff to look at the code when unverified', () => {
    expect(verdictOf('unknown').advice).toBe('无法核验，请向工作人员出示健康码');
  });

  it.each([
    ['scan, no code found', 'unknown', null, null, 'unverified', '无法核验', 'bureau'],
    ['scan, green', 'green', null, null, 'pass', '绿码 可通行', 'bureau'],
    ['staff saw green, lookup found nothing', 'unknown', 1, 'green', 'pass', '绿码 可通行（人工核验）', 'staff'],
    ['staff saw red, lookup found nothing', 'unknown', 1, 'red', 'stop', '红码 禁止通行（人工核验）', 'staff'],
    ['staff saw yellow, lookup green', 'green', 1, 'yellow', 'restricted', '黄码 限制通行（人工核验）', 'staff'],
    ['staff saw green, lookup green', 'green', 1, 'green', 'pass', '绿码 可通行', 'bureau'],
    ['staff saw green, lookup red', 'red', 1, 'green', 'stop', '红码 禁止通行', 'bureau'],
    ['staff saw the code without a colour', 'unknown', 1, null, 'unverified', '无法核验', 'bureau'],
    ['staff did not see the code', 'unknown', 0, null, 'unverified', '无法核验', 'bureau'],
  ] as const)('shows a check-in where %s', (_case, looked, codeSeen, seenColor, verdict, label, source) => {
    const view = verdictOfCheckin({ code_color: looked, code_seen: codeSeen, seen_color: seenColor });
    expect(view.verdict).toBe(verdict);
    expect(view.label).toBe(label);
    expect(view.source).toBe(source);
  });

  it('tells what staff saw when the lookup decides', () => {
    const view = verdictOfCheckin({ code_color: 'red', code_seen: 1, seen_color: 'green' });
    expect(view.advice).toBe('请勿进入，原地等候工作人员处置，并联系社区。（工作人员查看为绿码，以健康码查询结果红码为准）');
  });

  it('asks for the code only when staff have not seen it', () => {
    expect(verdictOfCheckin({ code_color: 'unknown', code_seen: 0, seen_color: null }).advice).toBe('无法核验，请向工作人员出示健康码');
    expect(verdictOfCheckin({ code_color: 'unknown', code_seen: 1, seen_color: null }).advice).toBe('工作人员已查看健康码，但未记录颜色。');
    expect(verdictOfCheckin({ code_color: 'unknown', code_seen: 1, seen_color: 'green' }).advice).toBe('工作人员查看健康码为绿码。健康码已核验，请通行。');
  });

  it('never gives two days in a row the same frame colour', () => {
    const hash = (day: string) => [...day].reduce((sum, c) => (sum * 31 + c.charCodeAt(0)) >>> 0, 7);
    const cache = new Map<string, number>();
    let previous = -1;
    for (let i = 0; i < 400; i++) {
      const day = new Date(Date.UTC(2026, 0, 2) + i * 86_400_000).toISOString().slice(0, 10);
      const index = frameColorIndex(day, hash, cache);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(FRAME_COLORS.length);
      expect(index).not.toBe(previous);
      previous = index;
    }
  });

  it('gives the same colour with or without the cache', () => {
    const hash = (day: string) => Number(day.replaceAll('-', '')) * 2654435761;
    expect(frameColorIndex('2026-12-07', (d) => hash(d) >>> 0)).toBe(frameColorIndex('2026-12-07', (d) => hash(d) >>> 0, new Map()));
  });

  it('depends on the key', () => {
    const days = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2026, 11, 1) + i * 86_400_000).toISOString().slice(0, 10));
    const a = days.map((d) => frameColorIndex(d, (x) => [...x].reduce((s, c) => (s * 33 + c.charCodeAt(0)) >>> 0, 5)));
    const b = days.map((d) => frameColorIndex(d, (x) => [...x].reduce((s, c) => (s * 37 + c.charCodeAt(0)) >>> 0, 11)));
    expect(a).not.toEqual(b);
  });
});

describe('far-apart check-ins', () => {
  const westLake = { latitude: 30.2431, longitude: 120.1503 };
  const xiaoshanAirport = { latitude: 30.2295, longitude: 120.4344 };
  const nextStop = { latitude: 30.2451, longitude: 120.1533 };
  const minute = 60_000;

  it('measures the distance', () => {
    expect(Math.round(distanceMeters(westLake, xiaoshanAirport) / 1000)).toBe(27);
  });

  it.each([
    ['27 km in 5 minutes', xiaoshanAirport, 5, true],
    ['27 km in 60 minutes', xiaoshanAirport, 60, false],
    ['27 km at the same instant', xiaoshanAirport, 0, true],
    ['the next stop at the same instant', nextStop, 0, false],
  ])('%s flagged: %s', (_case, place, minutes, flagged) => {
    expect(checkTravel(westLake, 0, place, minutes * minute).flagged).toBe(flagged);
  });
});

describe('recent check-ins held in memory', () => {
  const minute = 60_000;
  const row = (id: string, subject: string, venueId: string, at: number): CheckinRow => ({
    id,
    venue_id: venueId,
    checked_in_at: at,
    method: 'scan',
    subject_hash: subject,
    name: '测试',
    id_number_enc: null,
    id_number_hash: subject,
    id_number_masked: null,
    phone_enc: null,
    phone_hash: null,
    phone_masked: null,
    code_color: 'green',
    code_source: 'cache',
    code_seen: null,
    seen_color: null,
    card_id: null,
    device_id: null,
    flagged: 0,
  });
  const busA = { id: 'VA', latitude: 30.24, longitude: 120.15 };

  it('returns a person’s check-ins at or after `since` in time and id order, with positions', () => {
    const recent = new RecentCheckins([{ ...row('B', 'p1', 'VA', 10 * minute), latitude: 30.24, longitude: 120.15 }], 0, 40 * minute);
    recent.add(row('A', 'p1', 'VA', 10 * minute), busA);
    recent.add(row('C', 'p1', 'VA', 5 * minute), busA);
    recent.add(row('D', 'p2', 'VA', 11 * minute), busA);
    expect(recent.of(['p1'], 0)!.map((r) => r.id)).toEqual(['C', 'A', 'B']);
    expect(recent.of(['p1'], 6 * minute)!.map((r) => r.id)).toEqual(['A', 'B']);
    expect(recent.of(['p1'], 6 * minute)![0]).toMatchObject({ latitude: 30.24, longitude: 120.15 });
    expect(recent.of(['p3'], 0)).toEqual([]);
    expect(recent.size).toBe(4);
  });

  it('gives the newest position of a venue that moved', () => {
    const recent = new RecentCheckins([], 0, 40 * minute);
    recent.add(row('A', 'p1', 'VA', minute), busA);
    recent.add(row('B', 'p2', 'VA', 2 * minute), { ...busA, latitude: 31 });
    expect(recent.of(['p1'], 0)![0].latitude).toBe(31);
  });

  it('answers nothing for a `since` before what it holds, so the caller reads the database', () => {
    const recent = new RecentCheckins([], 100 * minute, 40 * minute);
    expect(recent.of(['p1'], 99 * minute)).toBeUndefined();
    expect(recent.of(['p1'], 100 * minute)).toEqual([]);
  });

  it('drops old check-ins at most once a minute and then answers only after the cut', () => {
    const recent = new RecentCheckins([], 0, 40 * minute);
    recent.add(row('A', 'p1', 'VA', 10 * minute), busA);
    recent.add(row('B', 'p1', 'VA', 60 * minute), busA);
    recent.prune(30 * minute);
    expect(recent.size).toBe(2);
    recent.prune(100 * minute);
    expect(recent.size).toBe(1);
    expect(recent.of(['p1'], 59 * minute)).toBeUndefined();
    expect(recent.of(['p1'], 60 * minute)!.map((r) => r.id)).toEqual(['B']);
    recent.prune(100 * minute + 30_000);
    expect(recent.size).toBe(1);
  });
});
