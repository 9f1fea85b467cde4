import ExcelJS from 'exceljs';
import type { AppContext } from '../../context.js';
import type { CodeColor, VenueCheckinMethod, VenueKind } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { assertRole, audit, type AuthUser, type UserRole } from '../auth/index.js';
import { normalizeBusLine } from './bus-fields.js';
import { COLOR_LABELS, KIND_LABELS, METHOD_LABELS } from './checkin-display.js';
import { checkIdNumber, getVenueOrThrow, normalizePhone } from './service.js';
import * as store from './store.js';
import { MIN_TRACE_PURPOSE_CHARACTERS, tracePurposeLength } from './trace-purpose.js';

/**
 * Tracing for the task force: who was at a venue (or on any vehicle of a bus line)
 * between two times, and where one person checked in during a period, each with the
 * code they had. Results carry full ID numbers and phone numbers, because the task
 * force phones these people; so each query needs a purpose and is audit-logged with it.
 */

export const TRACING_ROLES: readonly UserRole[] = ['task_force', 'district_admin'];
/** Rows one query returns at most; a longer answer is cut and says so. */
export const MAX_TRACE_ROWS = 20_000;
/** The longest period one query covers. */
const MAX_TRACE_DAYS = 31;

export interface TraceEntry {
  checkinId: string;
  checkedInAt: number;
  venueId: string;
  venueName: string;
  venueKind: VenueKind;
  line: string | null;
  plate: string | null;
  operator: string;
  name: string;
  idNumber: string | null;
  phone: string | null;
  codeColor: CodeColor;
  method: VenueCheckinMethod;
  /** Manual registrations: whether the staff saw the code. */
  codeSeen: boolean | null;
  flagged: boolean;
}

export interface TraceResult {
  entries: TraceEntry[];
  /** True when more than MAX_TRACE_ROWS matched; narrow the period. */
  truncated: boolean;
  /** Venues searched (one, or every vehicle of the line). */
  venueCount: number;
}

export interface TracePeriod {
  /** Epoch ms, included. */
  from: number;
  /** Epoch ms, excluded. */
  to: number;
  /** Why the task force asks, for the audit log. */
  purpose: string;
}

function checkPeriod(query: TracePeriod): string {
  const purpose = (query.purpose ?? '').trim();
  if (tracePurposeLength(purpose) < MIN_TRACE_PURPOSE_CHARACTERS) throw new AppError('TRACE_PURPOSE_REQUIRED');
  if (!Number.isFinite(query.from) || !Number.isFinite(query.to) || query.from >= query.to) {
    throw new AppError('VALIDATION', { detail: '查询时段无效：开始时间必须早于结束时间' });
  }
  if (query.to - query.from > MAX_TRACE_DAYS * 86_400_000) throw new AppError('VALIDATION', { detail: `一次最多查询 ${MAX_TRACE_DAYS} 天，请缩短时段` });
  return purpose.slice(0, 500);
}

function toEntry(ctx: AppContext, row: store.TraceRow): TraceEntry {
  return {
    checkinId: row.id,
    checkedInAt: row.checked_in_at,
    venueId: row.venue_id,
    venueName: row.venue_name,
    venueKind: row.venue_kind,
    line: row.venue_line,
    plate: row.venue_plate,
    operator: row.venue_operator,
    name: row.name,
    idNumber: row.id_number_enc ? ctx.cipher.decrypt(row.id_number_enc) : null,
    phone: row.phone_enc ? ctx.cipher.decrypt(row.phone_enc) : null,
    codeColor: row.code_color,
    method: row.method,
    codeSeen: row.code_seen === null ? null : row.code_seen === 1,
    flagged: row.flagged === 1,
  };
}

export interface VenueTraceQuery extends TracePeriod {
  venueId?: string;
  /** A bus line: every vehicle of it. */
  line?: string;
  /** Narrows a line to one operator when two companies use the same line name. */
  operator?: string;
}

/** Everyone at a venue, or on any vehicle of a bus line, in the period. */
export async function traceVenue(ctx: AppContext, actor: AuthUser, query: VenueTraceQuery, options: { ip?: string; export?: boolean } = {}): Promise<TraceResult> {
  assertRole(actor, TRACING_ROLES);
  const purpose = checkPeriod(query);

  let venueIds: string[];
  let target: string;
  // A trace of a school's own venue (its gate or hall) is recorded under that school.
  let schoolId: string | null = null;
  if (query.venueId) {
    const venue = await getVenueOrThrow(ctx, query.venueId);
    venueIds = [venue.id];
    target = query.venueId;
    schoolId = venue.school_id;
  } else if (query.line?.trim()) {
    // "K101路", "k101" and "K101" name one line, as stored lines are normalised the same way.
    const line = normalizeBusLine(query.line) || query.line.trim();
    venueIds = (await store.listLineVenues(ctx.db, query.operator?.trim() || undefined, line)).map((v) => v.id);
    if (venueIds.length === 0) throw new AppError('NOT_FOUND', { what: '公交线路', value: line });
    target = `line:${line}`;
  } else {
    throw new AppError('VALIDATION', { detail: '请指定场所（venueId）或公交线路（line）' });
  }

  const rows = await store.listCheckinsAtVenues(ctx.db, venueIds, query.from, query.to, MAX_TRACE_ROWS + 1);
  const truncated = rows.length > MAX_TRACE_ROWS;
  const entries = rows.slice(0, MAX_TRACE_ROWS).map((row) => toEntry(ctx, row));
  await audit(ctx, actor, options.export ? 'venue.trace.venue.export' : 'venue.trace.venue', target, { purpose, from: query.from, to: query.to, venues: venueIds.length, rows: entries.length }, { ip: options.ip, schoolId });
  return { entries, truncated, venueCount: venueIds.length };
}

export interface PersonTraceQuery extends TracePeriod {
  idNumber?: string;
  phone?: string;
}

/** Every check-in of one person (by ID number, phone or both) in the period. */
export async function tracePerson(ctx: AppContext, actor: AuthUser, query: PersonTraceQuery, options: { ip?: string; export?: boolean } = {}): Promise<TraceResult> {
  assertRole(actor, TRACING_ROLES);
  const purpose = checkPeriod(query);

  const keys: { idNumberHash?: string; phoneHash?: string } = {};
  if (query.idNumber?.trim()) keys.idNumberHash = ctx.cipher.hash(checkIdNumber(ctx, query.idNumber));
  if (query.phone?.trim()) {
    const phone = normalizePhone(query.phone);
    if (!phone) throw new AppError('VALIDATION', { detail: '手机号无效，应为 11 位手机号' });
    keys.phoneHash = ctx.cipher.hash(phone);
  }
  if (!keys.idNumberHash && !keys.phoneHash) throw new AppError('VALIDATION', { detail: '请填写要查询的身份证号或手机号' });

  const rows = await store.listCheckinsOfPerson(ctx.db, keys, query.from, query.to, MAX_TRACE_ROWS + 1);
  const truncated = rows.length > MAX_TRACE_ROWS;
  const entries = rows.slice(0, MAX_TRACE_ROWS).map((row) => toEntry(ctx, row));
  // The target names the person by a keyed hash only, so the audit log holds no ID number.
  const target = keys.idNumberHash ? `person:${keys.idNumberHash.slice(0, 16)}` : `phone:${keys.phoneHash!.slice(0, 16)}`;
  await audit(ctx, actor, options.export ? 'venue.trace.person.export' : 'venue.trace.person', target, { purpose, from: query.from, to: query.to, venues: new Set(entries.map((e) => e.venueId)).size, rows: entries.length }, { ip: options.ip });
  return { entries, truncated, venueCount: new Set(entries.map((e) => e.venueId)).size };
}

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const EXPORT_HEADERS = ['登记时间', '场所', '场所类型', '线路', '车牌号', '运营单位', '姓名', '身份证号', '手机号', '健康码', '登记方式', '工作人员已查验健康码', '异常标记'];

/**
 * Write trace entries as .xlsx. Every cell is a string in the text number format '@'.
 * An .xlsx keeps a formula in a cell's <f> element, never in a text cell, so a name like
 * "=HYPERLINK(...)" is written as is and stays text.
 */
export async function writeTraceXlsx(title: string, result: TraceResult): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('登记记录');
  sheet.columns = EXPORT_HEADERS.map((header, index) => ({ key: String(index), width: index === 7 ? 22 : Math.max(10, header.length * 2 + 2), style: { numFmt: '@' } }));

  const titleRow = sheet.addRow([title]);
  titleRow.font = { bold: true, size: 14 };
  sheet.mergeCells(1, 1, 1, EXPORT_HEADERS.length);
  sheet.addRow(EXPORT_HEADERS).font = { bold: true };

  for (const entry of result.entries) {
    const values = [
      formatLocalDateTime(entry.checkedInAt),
      entry.venueName,
      KIND_LABELS[entry.venueKind],
      entry.line ?? '',
      entry.plate ?? '',
      entry.operator,
      entry.name,
      entry.idNumber ?? '',
      entry.phone ?? '',
      COLOR_LABELS[entry.codeColor],
      METHOD_LABELS[entry.method],
      entry.codeSeen === null ? '' : entry.codeSeen ? '是' : '否',
      entry.flagged ? '异地异常待核查' : '',
    ];
    sheet.addRow(values);
  }
  if (result.truncated) sheet.addRow([`结果超过 ${MAX_TRACE_ROWS} 条，仅导出前 ${MAX_TRACE_ROWS} 条，请缩短时段后分批导出`]);

  sheet.eachRow((row) => row.eachCell((cell) => (cell.numFmt = '@')));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
