import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../../context.js';
import type { VenueCardKind, VenueDeviceKind, VenueKind, VenueStatus } from '../../db/schema.js';
import { maskIdNumber, maskPhone } from '../../shared/crypto.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { schoolDay } from '../../shared/time.js';
import { audit, type AuthUser } from '../auth/index.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { normalizeIdNumber, validateIdNumber } from '../people/id-number.js';
import { addressKey, busLineLabel, checkBusPlate, normalizeBusLine } from './bus-fields.js';
import { FRAME_COLORS, KIND_LABELS, frameColorIndex, type FrameColor } from './checkin-display.js';
import { CODE_PATH_PREFIX, deriveVenueCodeKey, extractToken, parseVenueCode, signVenueCode, venueCodeUrl, type CodeProblem, type VenueCodeToken } from './venue-code.js';
import * as store from './store.js';

/**
 * Venues, their codes, card readers and staff phones, and registered cards. Check-ins
 * are in checkin.ts, tracing in tracing.ts, retention in retention.ts.
 */

export const VENUE_KINDS: readonly VenueKind[] = ['bus', 'shop', 'school_gate', 'hall', 'other'];
export const CARD_KINDS: readonly VenueCardKind[] = ['senior', 'student', 'citizen'];
/** Kinds a school admin may register for their own school. */
const SCHOOL_VENUE_KINDS: readonly VenueKind[] = ['school_gate', 'hall', 'other'];
/** Most venues one batch registration takes (a bus company's whole fleet). */
export const MAX_VENUE_BATCH = 2000;
/** A venue row read for a check-in is reused this long; a re-issue or retirement elsewhere shows within it. */
const VENUE_CACHE_MS = 10_000;
const DEVICE_CACHE_MS = 30_000;
const DEVICE_SEEN_WRITE_MS = 60_000;

// --- keys ---

const signingKeys = new WeakMap<object, Buffer>();

/** The venue code signing key of this context's master key. */
export function venueCodeKey(ctx: AppContext): Buffer {
  let key = signingKeys.get(ctx.cipher);
  if (!key) {
    key = deriveVenueCodeKey((text) => ctx.cipher.hash(text));
    signingKeys.set(ctx.cipher, key);
  }
  return key;
}

const frameCaches = new WeakMap<object, Map<string, number>>();

/** Today's frame colour (Asia/Shanghai day) for the live result page and the staff page. */
export function frameColorOf(ctx: AppContext, day = schoolDay(ctx.now())): FrameColor {
  let cache = frameCaches.get(ctx.cipher);
  if (!cache) {
    cache = new Map();
    frameCaches.set(ctx.cipher, cache);
  }
  const dayHash = (d: string) => Number.parseInt(ctx.cipher.hash(`venue frame colour|${d}`).slice(0, 8), 16);
  return FRAME_COLORS[frameColorIndex(day, dayHash, cache)];
}

// --- venues ---

export interface NewVenue {
  kind: string;
  name: string;
  operator: string;
  address?: string | null;
  line?: string | null;
  plate?: string | null;
  schoolCode?: string | null;
  latitude?: number | null;
  longitude?: number | null;
}

export interface VenueView {
  id: string;
  kind: VenueKind;
  name: string;
  address: string | null;
  operator: string;
  line: string | null;
  plate: string | null;
  schoolId: string | null;
  latitude: number | null;
  longitude: number | null;
  status: VenueStatus;
  codeVersion: number;
  codeIssuedAt: number;
  /** The URL in the venue's QR code. */
  codeUrl: string;
  createdAt: number;
  retiredAt: number | null;
}

export function toVenueView(ctx: AppContext, row: store.VenueRow): VenueView {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    address: row.address,
    operator: row.operator,
    line: row.line,
    plate: row.plate,
    schoolId: row.school_id,
    latitude: row.latitude,
    longitude: row.longitude,
    status: row.status,
    codeVersion: row.code_version,
    codeIssuedAt: row.code_issued_at,
    codeUrl: codeUrlOf(ctx, row),
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

/** The URL of a venue's current code. */
export function codeUrlOf(ctx: AppContext, row: Pick<store.VenueRow, 'id' | 'code_version'>): string {
  return venueCodeUrl(ctx.config.venues.publicUrl, signVenueCode(venueCodeKey(ctx), row.id, row.code_version));
}

function cleanText(value: string | null | undefined, field: string, maxLength: number, required: boolean): string | null {
  const text = (value ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (!text) {
    if (required) throw new AppError('VALIDATION', { detail: `${field}不能为空` });
    return null;
  }
  if ([...text].length > maxLength) throw new AppError('VALIDATION', { detail: `${field}“${text.slice(0, 20)}…”超过 ${maxLength} 个字` });
  return text;
}

/** Clean and normalise a bus line (see normalizeBusLine); "路" alone counts as empty. */
function cleanBusLine(value: string | null | undefined, required: boolean): string | null {
  const text = cleanText(value, '线路', 20, required);
  if (text === null) return null;
  const line = normalizeBusLine(text);
  if (!line) throw new AppError('VALIDATION', { detail: `线路“${text}”只有“路”或“线”字，请填写线路编号，例如 K101` });
  return line;
}

function checkCoordinate(value: number | null | undefined, field: string, limit: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value) || Math.abs(value) > limit) throw new AppError('VALIDATION', { detail: `${field} ${value} 超出范围（-${limit} 到 ${limit}）` });
  return value;
}

/** Check one new venue and build its row; a school admin may only add its own school's gates, halls and others. */
async function buildVenueRow(ctx: AppContext, actor: AuthUser, input: NewVenue, schoolIds: Map<string, string>): Promise<store.VenueRow> {
  const kind = input.kind as VenueKind;
  if (!VENUE_KINDS.includes(kind)) throw new AppError('VALIDATION', { detail: `场所类型“${input.kind}”无效，可选：${VENUE_KINDS.map((k) => `${k}（${KIND_LABELS[k]}）`).join('、')}` });

  const name = cleanText(input.name, '场所名称', 60, true)!;
  const operator = cleanText(input.operator, '运营单位', 60, true)!;
  const line = cleanBusLine(input.line, kind === 'bus');
  const plate = cleanText(input.plate, '车牌号', 12, kind === 'bus');
  if (kind !== 'bus' && (line || plate)) throw new AppError('VALIDATION', { detail: `只有公交车需要线路和车牌号，场所“${name}”请去掉` });

  let schoolId: string | null = null;
  if (input.schoolCode) {
    let id = schoolIds.get(input.schoolCode);
    if (!id) {
      id = (await getSchoolByCodeOrThrow(ctx, input.schoolCode)).id;
      schoolIds.set(input.schoolCode, id);
    }
    schoolId = id;
  }
  if (actor.role !== 'district_admin') {
    if (!SCHOOL_VENUE_KINDS.includes(kind)) throw new AppError('FORBIDDEN', { detail: '学校管理员只能登记本校的校门、场馆等场所' });
    schoolId = actor.schoolId;
  }
  // Checked after the role, so a school admin hears that buses are not theirs, not that the plate is wrong.
  const checkedPlate = plate === null ? null : checkBusPlate(plate);

  const latitude = checkCoordinate(input.latitude, '纬度', 90);
  const longitude = checkCoordinate(input.longitude, '经度', 180);
  if ((latitude === null) !== (longitude === null)) throw new AppError('VALIDATION', { detail: `场所“${name}”的经度和纬度需要同时填写` });

  const now = ctx.now();
  return {
    id: newId(now),
    kind,
    name,
    address: cleanText(input.address, '地址', 120, false),
    operator,
    line,
    plate: checkedPlate,
    school_id: schoolId,
    latitude,
    longitude,
    status: 'active',
    code_version: 1,
    code_issued_at: now,
    created_at: now,
    updated_at: now,
    retired_at: null,
  };
}

/** Register venues (one, or a bus company's fleet at once); all are checked before any is stored. */
export async function createVenues(ctx: AppContext, actor: AuthUser, inputs: NewVenue[], ip?: string): Promise<VenueView[]> {
  if (inputs.length === 0) throw new AppError('VALIDATION', { detail: '没有要登记的场所' });
  if (inputs.length > MAX_VENUE_BATCH) throw new AppError('VALIDATION', { detail: `一次最多登记 ${MAX_VENUE_BATCH} 个场所，本次 ${inputs.length} 个，请分批登记` });

  const schoolIds = new Map<string, string>();
  const rows: store.VenueRow[] = [];
  for (const [index, input] of inputs.entries()) {
    try {
      rows.push(await buildVenueRow(ctx, actor, input, schoolIds));
    } catch (error) {
      if (error instanceof AppError && inputs.length > 1) throw new AppError(error.code, { ...error.params, detail: `第 ${index + 1} 个场所：${error.params.detail ?? error.userMessage}` });
      throw error;
    }
  }

  // A batch that spans schools, or holds a district venue, belongs to no one school.
  const schools = new Set(rows.map((row) => row.school_id));
  const schoolId = schools.size === 1 ? rows[0].school_id : null;
  await ctx.db.transaction().execute(async (trx) => {
    await assertNoDuplicateVenues(trx, rows);
    await store.insertVenues(trx, rows);
    await audit(ctx, actor, 'venue.create', rows.length === 1 ? rows[0].id : `${rows.length} 个场所`, { count: rows.length, operators: [...new Set(rows.map((r) => r.operator))] }, { db: trx, ip, schoolId });
  });
  ctx.log.info({ count: rows.length, by: actor.id }, 'venues registered');
  return rows.map((row) => toVenueView(ctx, row));
}

type VenueIdentity = Pick<store.VenueRow, 'id' | 'kind' | 'name' | 'address' | 'operator' | 'line' | 'plate'>;

/**
 * Two venues are one when kind, name, address and operator are equal. Addresses compare
 * by addressKey, so spaces and full-width digits do not make a second venue.
 */
function sameVenueKey(venue: VenueIdentity): string {
  return JSON.stringify([venue.kind, venue.name, addressKey(venue.address ?? ''), venue.operator]);
}

/** Name a venue in a message: its name, then kind, line and plate or address, and operator. */
function describeVenue(venue: VenueIdentity): string {
  const place = venue.kind === 'bus' ? `${venue.line ? `${busLineLabel(venue.line)} ` : ''}${venue.plate ?? ''}`.trim() : (venue.address ?? '');
  return `“${venue.name}”（${[KIND_LABELS[venue.kind], place, venue.operator].filter(Boolean).join('，')}）`;
}

function duplicatePlateError(plate: string, existing: VenueIdentity): AppError {
  return new AppError('CONFLICT', {
    detail: `车牌“${plate}”已属于在用车辆${describeVenue(existing)}，一个车牌只对应一辆车。如果原车辆已不再运营，请先停用它的场所码；否则请核对车牌。`,
  });
}

function duplicateVenueError(existing: VenueIdentity): AppError {
  return new AppError('CONFLICT', {
    detail: `已有同名在用场所${describeVenue(existing)}，类型、名称、地址和运营单位都相同。如果原场所已不再使用，请先停用它；如果是另一个场所，请改用能区分的名称。`,
  });
}

/**
 * Throw CONFLICT when a venue to be stored repeats an active one: the same plate (compared by
 * store.plateKey), or the same kind, name, address and operator. Retired venues do not count,
 * nor does a venue's own row when it is being changed. In a batch the message names the row.
 *
 * NOTE: this is a check before the write, not a unique index. On PostgreSQL two requests
 * that register the same venue at the same moment can both pass it.
 */
async function assertNoDuplicateVenues(db: Parameters<typeof store.findVenue>[0], venues: VenueIdentity[]): Promise<void> {
  const inBatch = (index: number, error: AppError) =>
    venues.length > 1 ? new AppError('CONFLICT', { detail: `第 ${index + 1} 个场所：${error.params.detail}` }) : error;

  const plates = new Map<string, { index: number; venue: VenueIdentity }>();
  const keys = new Map<string, { index: number; venue: VenueIdentity }>();
  for (const [index, venue] of venues.entries()) {
    if (venue.plate) {
      const earlier = plates.get(store.plateKey(venue.plate));
      if (earlier) throw inBatch(index, new AppError('CONFLICT', { detail: `车牌“${venue.plate}”与第 ${earlier.index + 1} 个场所${describeVenue(earlier.venue)}相同，一个车牌只对应一辆车，请核对车牌。` }));
      plates.set(store.plateKey(venue.plate), { index, venue });
    }
    const earlier = keys.get(sameVenueKey(venue));
    if (earlier) throw inBatch(index, new AppError('CONFLICT', { detail: `与第 ${earlier.index + 1} 个场所的类型、名称、地址和运营单位都相同，请改用能区分的名称。` }));
    keys.set(sameVenueKey(venue), { index, venue });
  }

  const ids = new Set(venues.map((venue) => venue.id));
  const platesInUse = await store.findActiveVenuesByPlateKeys(db, [...plates.keys()]);
  for (const existing of platesInUse) {
    if (ids.has(existing.id)) continue;
    const { index, venue } = plates.get(existing.plate_key)!;
    throw inBatch(index, duplicatePlateError(venue.plate!, existing));
  }
  const namesInUse = await store.findActiveVenuesByNames(db, [...new Set(venues.map((venue) => venue.name))]);
  for (const existing of namesInUse) {
    if (ids.has(existing.id)) continue;
    const match = keys.get(sameVenueKey(existing));
    if (match) throw inBatch(match.index, duplicateVenueError(existing));
  }
}

/** Throw FORBIDDEN unless the user may manage the venue: the district every venue, a school admin its school's. */
export function assertVenueScope(actor: AuthUser, venue: store.VenueRow): void {
  if (actor.role === 'district_admin') return;
  if (actor.role === 'school_admin' && venue.school_id !== null && venue.school_id === actor.schoolId) return;
  throw new AppError('FORBIDDEN', { detail: '只能管理本单位的场所' });
}

export async function getVenueOrThrow(ctx: AppContext, id: string): Promise<store.VenueRow> {
  const row = await store.findVenue(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', { what: '场所', value: id });
  return row;
}

export interface VenueSearch {
  operator?: string;
  line?: string;
  kind?: VenueKind;
  status?: VenueStatus;
  search?: string;
  limit?: number;
  offset?: number;
}

export async function listVenues(ctx: AppContext, actor: AuthUser, search: VenueSearch): Promise<{ venues: VenueView[]; total: number }> {
  const { rows, total } = await store.listVenues(ctx.db, {
    ...search,
    // "K101路" finds line K101; text that normalises to nothing is matched as given, so it finds no bus.
    line: search.line ? normalizeBusLine(search.line) || search.line : undefined,
    // District roles see every venue; a school admin only its school's.
    schoolId: actor.role === 'district_admin' || actor.role === 'task_force' ? undefined : (actor.schoolId ?? '-'),
    limit: Math.min(Math.max(search.limit ?? 100, 1), 1000),
    offset: Math.max(search.offset ?? 0, 0),
  });
  return { venues: rows.map((row) => toVenueView(ctx, row)), total };
}

export interface VenueChanges {
  name?: string;
  address?: string | null;
  operator?: string;
  line?: string | null;
  plate?: string | null;
  latitude?: number | null;
  longitude?: number | null;
}

/** Change a venue's details; the code stays valid, because it carries only the id. */
export async function updateVenue(ctx: AppContext, actor: AuthUser, id: string, changes: VenueChanges, ip?: string): Promise<VenueView> {
  const venue = await getVenueOrThrow(ctx, id);
  assertVenueScope(actor, venue);

  const next: Partial<store.VenueRow> = { updated_at: ctx.now() };
  if (changes.name !== undefined) next.name = cleanText(changes.name, '场所名称', 60, true)!;
  if (changes.operator !== undefined) next.operator = cleanText(changes.operator, '运营单位', 60, true)!;
  if (changes.address !== undefined) next.address = cleanText(changes.address, '地址', 120, false);
  if (changes.line !== undefined) next.line = cleanBusLine(changes.line, venue.kind === 'bus');
  if (changes.plate !== undefined) {
    const plate = cleanText(changes.plate, '车牌号', 12, venue.kind === 'bus');
    next.plate = plate === null ? null : checkBusPlate(plate);
  }
  if (changes.latitude !== undefined || changes.longitude !== undefined) {
    next.latitude = checkCoordinate(changes.latitude, '纬度', 90);
    next.longitude = checkCoordinate(changes.longitude, '经度', 180);
    if ((next.latitude === null) !== (next.longitude === null)) throw new AppError('VALIDATION', { detail: '经度和纬度需要同时填写或同时清空' });
  }

  await ctx.db.transaction().execute(async (trx) => {
    if (venue.status === 'active' && ['name', 'operator', 'address', 'plate'].some((field) => field in next)) await assertNoDuplicateVenues(trx, [{ ...venue, ...next }]);
    await store.updateVenue(trx, id, next);
    await audit(ctx, actor, 'venue.update', id, { fields: Object.keys(changes) }, { db: trx, ip, schoolId: venue.school_id });
  });
  forgetVenue(ctx, id);
  return toVenueView(ctx, { ...venue, ...next });
}

/** Issue a new code version; every poster of the old version stops working at once. */
export async function reissueVenueCode(ctx: AppContext, actor: AuthUser, id: string, reason: string, ip?: string): Promise<VenueView> {
  const venue = await getVenueOrThrow(ctx, id);
  assertVenueScope(actor, venue);
  if (venue.status === 'retired') throw new AppError('CONFLICT', { detail: `场所“${venue.name}”已停用，不能重新生成场所码` });

  const now = ctx.now();
  const changes = { code_version: venue.code_version + 1, code_issued_at: now, updated_at: now };
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateVenue(trx, id, changes);
    await audit(ctx, actor, 'venue.code.reissue', id, { fromVersion: venue.code_version, toVersion: changes.code_version, reason: reason.slice(0, 200) }, { db: trx, ip, schoolId: venue.school_id });
  });
  forgetVenue(ctx, id);
  ctx.log.info({ venueId: id, version: changes.code_version }, 'venue code re-issued');
  return toVenueView(ctx, { ...venue, ...changes });
}

/** Retire a venue: its code is refused from now on; its check-ins stay until retention deletes them. */
export async function retireVenue(ctx: AppContext, actor: AuthUser, id: string, ip?: string): Promise<VenueView> {
  const venue = await getVenueOrThrow(ctx, id);
  assertVenueScope(actor, venue);
  if (venue.status === 'retired') return toVenueView(ctx, venue);

  const now = ctx.now();
  const changes = { status: 'retired' as const, retired_at: now, updated_at: now };
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateVenue(trx, id, changes);
    await audit(ctx, actor, 'venue.retire', id, {}, { db: trx, ip, schoolId: venue.school_id });
  });
  forgetVenue(ctx, id);
  return toVenueView(ctx, { ...venue, ...changes });
}

// --- resolving a scanned code ---

/** Why a code is refused: a problem of the text itself, or of the venue it names. */
export type CodeRefusal = CodeProblem | 'unknown_venue' | 'old_version' | 'venue_retired';

export type ResolvedCode = { ok: true; venue: store.VenueRow } | { ok: false; refusal: CodeRefusal; venue?: store.VenueRow };

const venueCaches = new WeakMap<object, Map<string, { row: store.VenueRow | undefined; loadedAt: number }>>();

function venueCacheOf(ctx: AppContext) {
  let cache = venueCaches.get(ctx.config);
  if (!cache) {
    cache = new Map();
    venueCaches.set(ctx.config, cache);
  }
  return cache;
}

/** Drop a venue from this process's cache after a change. */
export function forgetVenue(ctx: AppContext, id: string): void {
  venueCacheOf(ctx).delete(id);
}

async function findVenueCached(ctx: AppContext, id: string): Promise<store.VenueRow | undefined> {
  const cache = venueCacheOf(ctx);
  const hit = cache.get(id);
  if (hit && performance.now() - hit.loadedAt < VENUE_CACHE_MS) return hit.row;
  const row = await store.findVenue(ctx.db, id);
  if (cache.size > 50_000) cache.clear();
  cache.set(id, { row, loadedAt: performance.now() });
  return row;
}

/** Up to 26 Crockford base32 characters in either case, then a dot or the end: a venue id or its start. */
const VENUE_ID_PREFIX = /^[0-9a-hjkmnp-tv-z]{1,26}(?=\.|$)/i;

/**
 * Upper-case the venue id, whole or cut short, at the start of a token. Crockford base32
 * letters name the same value in either case, so a cut-off id in lower case is still one
 * of our codes: 'truncated', not another system's.
 */
function withUpperCaseIdPrefix(token: string): string {
  return token.replace(VENUE_ID_PREFIX, (id) => id.toUpperCase());
}

/** Rewrite the code path /V/ (as in a URL typed or scanned in upper case) as /v/. */
function withLowerCaseCodePath(scanned: string): string {
  return scanned.trim().replace(/^(https?:\/\/[^/?#]+)?\/V\//i, (prefix) => prefix.slice(0, -3) + CODE_PATH_PREFIX);
}

/**
 * Check a scanned code (a URL, a path or a bare token): format, signature, then the
 * venue's status and current version. Forged codes never reach the database.
 */
export async function resolveVenueCode(ctx: AppContext, scanned: string): Promise<ResolvedCode> {
  let extracted = extractToken(scanned, ctx.config.venues.publicUrl);
  if (!extracted.ok && extracted.problem === 'not_ours') extracted = extractToken(withLowerCaseCodePath(scanned), ctx.config.venues.publicUrl);
  if (!extracted.ok) return { ok: false, refusal: extracted.problem };
  const verified = verifiedTokensOf(ctx);
  let token = verified.get(extracted.token);
  if (!token) {
    let parsed = parseVenueCode(venueCodeKey(ctx), extracted.token);
    // The signature still decides, so reading the id in upper case accepts no forged code.
    if (!parsed.ok && parsed.problem === 'not_ours') parsed = parseVenueCode(venueCodeKey(ctx), withUpperCaseIdPrefix(extracted.token));
    if (!parsed.ok) return { ok: false, refusal: parsed.problem };
    token = parsed.token;
    if (verified.size >= MAX_VERIFIED_TOKENS) verified.clear();
    verified.set(extracted.token, token);
  }

  const venue = await findVenueCached(ctx, token.venueId);
  if (!venue) return { ok: false, refusal: 'unknown_venue' };
  if (venue.status === 'retired') return { ok: false, refusal: 'venue_retired', venue };
  if (token.version !== venue.code_version) return { ok: false, refusal: 'old_version', venue };
  return { ok: true, venue };
}

/** Tokens whose signature checked out, so the next scan of a poster skips the HMAC. */
const verifiedTokenCaches = new WeakMap<object, Map<string, VenueCodeToken>>();
/** More than a city's venues times their code versions in use; the map is emptied when full. */
const MAX_VERIFIED_TOKENS = 50_000;

function verifiedTokensOf(ctx: AppContext): Map<string, VenueCodeToken> {
  let cache = verifiedTokenCaches.get(ctx.cipher);
  if (!cache) {
    cache = new Map();
    verifiedTokenCaches.set(ctx.cipher, cache);
  }
  return cache;
}

/** The Chinese title and advice for each refusal, shown on the phone and sent to devices. */
export const REFUSAL_TEXT: Record<CodeRefusal, { title: string; advice: string }> = {
  not_ours: { title: '这不是本平台的场所码', advice: '请扫描场所张贴的“场所码”。扫不了码的，请向工作人员出示健康码并登记。' },
  truncated: { title: '场所码不完整', advice: '二维码可能破损或扫描时被截断，请对准完整的场所码重新扫描；仍然不行请向工作人员登记。' },
  doubled: { title: '场所码内容重复', advice: '扫描到的内容重复了两次，请关闭本页后重新扫描场所码。' },
  bad_signature: { title: '场所码无效：校验未通过', advice: '此码可能是伪造或被改动过的，请勿使用，并告知工作人员。' },
  unknown_venue: { title: '场所码无效：场所不存在', advice: '请告知工作人员更换场所码，并向工作人员出示健康码登记。' },
  old_version: { title: '场所码已作废', advice: '此场所已重新生成场所码，旧码不能再用。请扫描现场张贴的新码，或请工作人员登记。' },
  venue_retired: { title: '场所已停用', advice: '此场所码已停止使用，请向工作人员出示健康码。' },
};

// --- devices: card readers and staff phones ---

export interface NewVenueDevice {
  kind: string;
  name: string;
  /** A card reader must name its venue; a staff phone names one venue or its operator's. */
  venueId?: string | null;
  operator?: string | null;
}

const DEVICE_KIND_LABELS: Record<VenueDeviceKind, string> = { card_reader: '读卡器', staff_phone: '工作人员手机' };

/** Register a card reader or staff phone; CONFLICT when an active device of the same place has its name. */
export async function createVenueDevice(ctx: AppContext, actor: AuthUser, input: NewVenueDevice, ip?: string): Promise<{ device: store.VenueDeviceRow; key: string }> {
  const kind = input.kind as VenueDeviceKind;
  if (kind !== 'card_reader' && kind !== 'staff_phone') throw new AppError('VALIDATION', { detail: `设备类型“${input.kind}”无效，可选：card_reader（读卡器）、staff_phone（工作人员手机）` });
  const name = cleanText(input.name, '设备名称', 40, true)!;

  let operator: string;
  let venueId: string | null = null;
  let schoolId: string | null = null;
  let place: string;
  if (input.venueId) {
    const venue = await getVenueOrThrow(ctx, input.venueId);
    assertVenueScope(actor, venue);
    operator = venue.operator;
    venueId = venue.id;
    schoolId = venue.school_id;
    place = `场所“${venue.name}”`;
  } else {
    if (kind === 'card_reader') throw new AppError('VALIDATION', { detail: '读卡器需要指定所在场所（venueId）' });
    if (actor.role !== 'district_admin') throw new AppError('FORBIDDEN', { detail: '只有区级管理员可以登记跨场所的工作人员手机' });
    operator = cleanText(input.operator, '运营单位', 60, true)!;
    place = `运营单位“${operator}”的跨场所设备中`;
  }

  const key = newVenueDeviceKey();
  const now = ctx.now();
  const device: store.VenueDeviceRow = {
    id: newId(now),
    kind,
    name,
    operator,
    venue_id: venueId,
    key_hash: venueDeviceKeyHash(ctx, key),
    active: 1,
    created_at: now,
    last_seen_at: null,
  };
  await ctx.db.transaction().execute(async (trx) => {
    // NOTE: a check before the write, not a unique index, so two requests at the same moment can both pass it.
    const namesake = await store.findActiveDeviceByName(trx, venueId ? { venueId } : { operator }, name);
    if (namesake) {
      throw new AppError('CONFLICT', {
        detail: `${place}已有在用设备“${name}”（${DEVICE_KIND_LABELS[namesake.kind]}），同名设备无法区分。请换一个名称，例如“${name} 2”；如果原设备已不再使用，请先停用它。`,
      });
    }
    await store.insertDevice(trx, device);
    await audit(ctx, actor, 'venue.device.create', device.id, { kind, venueId, operator }, { db: trx, ip, schoolId });
  });
  return { device, key };
}

function newVenueDeviceKey(): string {
  return randomBytes(32).toString('base64url');
}

function venueDeviceKeyHash(ctx: AppContext, key: string): string {
  return ctx.cipher.hash(`venue-device-key:${key}`);
}

export async function listVenueDevices(ctx: AppContext, operator?: string): Promise<store.VenueDeviceRow[]> {
  return store.listDevices(ctx.db, { operator });
}

/** List the card readers and staff phones of one venue the actor may manage. */
export async function listDevicesOfVenue(ctx: AppContext, actor: AuthUser, venueId: string): Promise<store.VenueDeviceRow[]> {
  assertVenueScope(actor, await getVenueOrThrow(ctx, venueId));
  return store.listDevices(ctx.db, { venueId });
}

/**
 * Find a device the actor may manage, with the school its audit entries go under. A device
 * of one venue is managed by whoever manages the venue; an operator-wide staff phone only
 * by the district; `forbidden` is the message for anyone else.
 */
async function managedVenueDevice(ctx: AppContext, actor: AuthUser, id: string, forbidden: string): Promise<{ device: store.VenueDeviceRow; schoolId: string | null }> {
  const device = await store.findDevice(ctx.db, id);
  if (!device) throw new AppError('NOT_FOUND', { what: '设备', value: id });
  if (device.venue_id) {
    const venue = await getVenueOrThrow(ctx, device.venue_id);
    assertVenueScope(actor, venue);
    return { device, schoolId: venue.school_id };
  }
  if (actor.role !== 'district_admin') throw new AppError('FORBIDDEN', { detail: forbidden });
  return { device, schoolId: null };
}

export async function retireVenueDevice(ctx: AppContext, actor: AuthUser, id: string, ip?: string): Promise<void> {
  const { schoolId } = await managedVenueDevice(ctx, actor, id, '只有区级管理员可以停用跨场所的工作人员手机');
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateDevice(trx, id, { active: 0 });
    await audit(ctx, actor, 'venue.device.retire', id, {}, { db: trx, ip, schoolId });
  });
  deviceCacheOf(ctx).rows.delete(id);
}

/** Give an active device a new key; the old key stops working at once in this process. */
export async function rotateVenueDeviceKey(ctx: AppContext, actor: AuthUser, id: string, ip?: string): Promise<{ device: store.VenueDeviceRow; key: string }> {
  const { device, schoolId } = await managedVenueDevice(ctx, actor, id, '只有区级管理员可以为跨场所的工作人员手机更换密钥');
  if (device.active !== 1) throw new AppError('CONFLICT', { detail: `设备“${device.name}”已停用，不能更换密钥；需要时请重新登记设备` });
  const key = newVenueDeviceKey();
  const keyHash = venueDeviceKeyHash(ctx, key);
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateDevice(trx, id, { key_hash: keyHash });
    await audit(ctx, actor, 'venue.device.rotate', id, {}, { db: trx, ip, schoolId });
  });
  deviceCacheOf(ctx).rows.delete(id);
  return { device: { ...device, key_hash: keyHash }, key };
}

const deviceCaches = new WeakMap<object, { rows: Map<string, { row: store.VenueDeviceRow; loadedAt: number }>; seen: Map<string, number> }>();

function deviceCacheOf(ctx: AppContext) {
  let cache = deviceCaches.get(ctx.config);
  if (!cache) {
    cache = { rows: new Map(), seen: new Map() };
    deviceCaches.set(ctx.config, cache);
  }
  return cache;
}

/** The credential of a card reader or staff phone, `<deviceId>.<key>`: a ULID, a dot and the base64url key. */
export const VENUE_DEVICE_CREDENTIAL = /^([0-9A-HJKMNP-TV-Z]{26})\.([A-Za-z0-9_-]{20,100})$/;

/** Parse `Bearer <deviceId>.<key>`; undefined when the header has another shape. */
export function parseVenueDeviceBearer(header: string | undefined): { deviceId: string; key: string } | undefined {
  const text = header?.trim() ?? '';
  if (!text.startsWith('Bearer ')) return undefined;
  const match = VENUE_DEVICE_CREDENTIAL.exec(text.slice('Bearer '.length));
  return match ? { deviceId: match[1], key: match[2] } : undefined;
}

/** Find the active device with this id and key, or undefined. Writes last_seen_at at most once a minute. */
export async function authenticateVenueDevice(ctx: AppContext, deviceId: string, key: string): Promise<store.VenueDeviceRow | undefined> {
  const cache = deviceCacheOf(ctx);
  let entry = cache.rows.get(deviceId);
  if (!entry || performance.now() - entry.loadedAt > DEVICE_CACHE_MS) {
    const row = await store.findDevice(ctx.db, deviceId);
    if (!row || row.active !== 1) {
      cache.rows.delete(deviceId);
      return undefined;
    }
    entry = { row, loadedAt: performance.now() };
    cache.rows.set(deviceId, entry);
  }

  const expected = Buffer.from(entry.row.key_hash, 'hex');
  const given = Buffer.from(venueDeviceKeyHash(ctx, key), 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;

  const now = ctx.now();
  if (now - (cache.seen.get(deviceId) ?? 0) > DEVICE_SEEN_WRITE_MS) {
    cache.seen.set(deviceId, now);
    await store.updateDevice(ctx.db, deviceId, { last_seen_at: now });
  }
  return entry.row;
}

/** List the venues a device may register at: its own venue, or every active venue of its operator. */
export async function venuesOfDevice(ctx: AppContext, device: store.VenueDeviceRow): Promise<store.VenueRow[]> {
  if (device.venue_id) {
    const venue = await store.findVenue(ctx.db, device.venue_id);
    return venue && venue.status === 'active' ? [venue] : [];
  }
  return store.listOperatorVenues(ctx.db, device.operator);
}

/** Pick the venue a device registers at: `venueId` when given and allowed, else its own. */
export async function venueForDevice(ctx: AppContext, device: store.VenueDeviceRow, venueId: string | undefined): Promise<store.VenueRow> {
  const wanted = venueId ?? device.venue_id;
  if (!wanted) throw new AppError('VALIDATION', { detail: '此工作人员手机可用于多个场所，请先选择场所' });
  if (device.venue_id && device.venue_id !== wanted) throw new AppError('FORBIDDEN', { detail: '此设备只能在登记它的场所使用' });
  const venue = await findVenueCached(ctx, wanted);
  if (!venue) throw new AppError('NOT_FOUND', { what: '场所', value: wanted });
  if (venue.operator !== device.operator) throw new AppError('FORBIDDEN', { detail: '此设备不能在其他单位的场所登记' });
  if (venue.status === 'retired') throw new AppError('CONFLICT', { detail: `场所“${venue.name}”已停用` });
  return venue;
}

// --- cards ---

export interface NewCard {
  kind: string;
  cardNumber: string;
  holderName: string;
  idNumber: string;
  phone?: string | null;
}

/** Normalise a card number as readers and staff type it: no spaces or dashes, upper case. */
export function normalizeCardNumber(text: string): string {
  return text.replace(/[\s-]+/g, '').toUpperCase();
}

export function cardHashOf(ctx: AppContext, cardNumber: string): string {
  return ctx.cipher.hash(`venue-card:${normalizeCardNumber(cardNumber)}`);
}

export function normalizePhone(text: string): string | undefined {
  const phone = text.replace(/[\s-]+/g, '').replace(/^\+?86/, '');
  return /^1\d{10}$/.test(phone) ? phone : undefined;
}

/** Check an ID number typed by a person; throws VALIDATION with the reason. */
export function checkIdNumber(ctx: AppContext, text: string): string {
  const result = validateIdNumber(normalizeIdNumber(text), { today: schoolDay(ctx.now()) });
  if (!result.ok) throw new AppError('INVALID_ID_NUMBER', { masked: maskIdNumber(normalizeIdNumber(text)), reason: result.reason });
  return result.idNumber;
}

export interface CardView {
  id: string;
  kind: VenueCardKind;
  cardMasked: string;
  holderName: string;
  idNumberMasked: string;
  status: 'active' | 'lost';
  lostAt: number | null;
}

function toCardView(row: store.VenueCardRow): CardView {
  return { id: row.id, kind: row.kind, cardMasked: row.card_masked, holderName: row.holder_name, idNumberMasked: row.id_number_masked, status: row.status, lostAt: row.lost_at };
}

/** Register a senior, student or citizen card with its holder. */
export async function registerCard(ctx: AppContext, actor: AuthUser, input: NewCard, ip?: string): Promise<CardView> {
  const kind = input.kind as VenueCardKind;
  if (!CARD_KINDS.includes(kind)) throw new AppError('VALIDATION', { detail: `卡类型“${input.kind}”无效，可选：senior（老年卡）、student（学生卡）、citizen（市民卡）` });
  const cardNumber = normalizeCardNumber(input.cardNumber);
  if (!/^[0-9A-Z]{6,32}$/.test(cardNumber)) throw new AppError('VALIDATION', { detail: '卡号应为 6 到 32 位数字或字母' });
  const holderName = cleanText(input.holderName, '持卡人姓名', 30, true)!;
  const idNumber = checkIdNumber(ctx, input.idNumber);
  const phone = input.phone ? normalizePhone(input.phone) : undefined;
  if (input.phone && !phone) throw new AppError('VALIDATION', { detail: `手机号 ${maskPhone(input.phone.trim())} 无效，应为 11 位数字` });

  const cardHash = cardHashOf(ctx, cardNumber);
  if (await store.findCardByHash(ctx.db, cardHash)) throw new AppError('CONFLICT', { detail: `卡号尾号 ${cardNumber.slice(-4)} 已登记` });

  const now = ctx.now();
  const row: store.VenueCardRow = {
    id: newId(now),
    kind,
    card_hash: cardHash,
    card_masked: cardNumber.slice(-4),
    holder_name: holderName,
    id_number_enc: ctx.cipher.encrypt(idNumber),
    id_number_hash: ctx.cipher.hash(idNumber),
    id_number_masked: maskIdNumber(idNumber),
    phone_enc: phone ? ctx.cipher.encrypt(phone) : null,
    phone_hash: phone ? ctx.cipher.hash(phone) : null,
    phone_masked: phone ? maskPhone(phone) : null,
    status: 'active',
    lost_at: null,
    created_at: now,
    updated_at: now,
  };
  await ctx.db.transaction().execute(async (trx) => {
    await store.insertCard(trx, row);
    await audit(ctx, actor, 'venue.card.register', row.id, { kind }, { db: trx, ip });
  });
  return toCardView(row);
}

/** Report a card lost: every reader rejects it from now on. */
export async function reportCardLost(ctx: AppContext, actor: AuthUser, cardNumber: string, ip?: string): Promise<CardView> {
  const card = await store.findCardByHash(ctx.db, cardHashOf(ctx, cardNumber));
  if (!card) throw new AppError('VENUE_CARD_UNKNOWN', { masked: normalizeCardNumber(cardNumber).slice(-4) });
  if (card.status === 'lost') return toCardView(card);
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateCard(trx, card.id, { status: 'lost', lost_at: now, updated_at: now });
    await audit(ctx, actor, 'venue.card.lost', card.id, { kind: card.kind }, { db: trx, ip });
  });
  return toCardView({ ...card, status: 'lost', lost_at: now });
}

// --- flags and retention runs ---

export async function listFlags(ctx: AppContext, status?: 'open' | 'reviewed', limit = 200) {
  return store.listFlags(ctx.db, status, Math.min(Math.max(limit, 1), 1000));
}

export async function reviewFlag(ctx: AppContext, actor: AuthUser, id: string, note: string, ip?: string): Promise<store.FlagRow> {
  const flag = await store.findFlag(ctx.db, id);
  if (!flag) throw new AppError('NOT_FOUND', { what: '异常记录', value: id });
  const changes = { status: 'reviewed' as const, reviewed_by: actor.username, reviewed_at: ctx.now(), review_note: note.trim().slice(0, 500) || null };
  await ctx.db.transaction().execute(async (trx) => {
    await store.updateFlag(trx, id, changes);
    await audit(ctx, actor, 'venue.flag.review', id, {}, { db: trx, ip });
  });
  return { ...flag, ...changes };
}

export async function listRetentionRuns(ctx: AppContext, limit = 30) {
  return store.listRetentionRuns(ctx.db, Math.min(Math.max(limit, 1), 365));
}
