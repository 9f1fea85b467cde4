import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { schoolDay } from '../../shared/time.js';
import { audit, type AuditActor } from '../auth/audit.js';
import { readSchoolWeekdays } from '../calendar/calendar-rules.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { getSchoolByCodeOrThrow, updateSchoolSettings } from '../people/service.js';
import { listDevices } from './devices.js';
import { checkEntryWindows, guardView, type GuardView } from './entry-windows.js';
import { readGateSettings, type EntryWindow } from './gate-settings.js';
import { forgetSchoolGateSettings } from './service.js';

/** Staggered entry of a school: its windows, the lanes they may name, and the guard's view of now. */

export interface EntryWindowsView {
  windows: EntryWindow[];
  /** Lane names of the school's active entry devices, the names a window may use. */
  lanes: string[];
  /** Days of the week with school in the school calendar, 0 Sunday to 6 Saturday. */
  schoolWeekdays: number[];
}

async function entryLanes(ctx: AppContext, schoolCode: string): Promise<string[]> {
  const devices = await listDevices(ctx, schoolCode);
  const lanes = devices.filter((d) => d.active === 1 && d.direction !== 'out' && d.lane).map((d) => d.lane!);
  return [...new Set(lanes)].sort((a, b) => a.localeCompare(b, 'zh-CN'));
}

export async function getEntryWindows(ctx: AppContext, schoolCode: string): Promise<EntryWindowsView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const settings = readGateSettings(school.settings);
  return { windows: settings.entryWindows, lanes: await entryLanes(ctx, school.code), schoolWeekdays: readSchoolWeekdays(school.settings) };
}

/**
 * Replace a school's entry windows after checking them (overlaps for one grade, times,
 * weekdays, lanes that exist). The settings and the audit entry commit together; the
 * gate reads the new windows at once.
 */
export async function setEntryWindows(ctx: AppContext, schoolCode: string, input: unknown, actor: { user: AuditActor; ip: string | null }): Promise<EntryWindowsView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const lanes = await entryLanes(ctx, school.code);
  const checked = checkEntryWindows(input, lanes);
  if (!checked.ok) throw new AppError('VALIDATION', { detail: checked.problems.join('；') }, { problems: checked.problems });

  const storedGate = (school.settings as { gate?: Record<string, unknown> }).gate ?? {};
  const settings = { ...school.settings, gate: { ...storedGate, entryWindows: checked.windows } };
  await ctx.db.transaction().execute(async (trx) => {
    await updateSchoolSettings({ ...ctx, db: trx }, school.id, settings);
    await audit(ctx, actor.user, 'gate.entry_windows.update', school.code, { windows: checked.windows.length }, { db: trx, ip: actor.ip, schoolId: school.id });
  });
  forgetSchoolGateSettings(ctx, school.id);
  ctx.log.info({ schoolId: school.id, windows: checked.windows.length }, 'entry windows changed');
  return { windows: checked.windows, lanes, schoolWeekdays: readSchoolWeekdays(school.settings) };
}

/** Today's windows and which grades should be at which lane now, for the guard; none on a day without school. */
export async function getGuardView(ctx: AppContext, schoolCode: string): Promise<GuardView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const settings = readGateSettings(school.settings);
  const now = ctx.now();
  const today = await getSchoolDayStatus(ctx, school, schoolDay(now));
  return guardView(settings.entryWindows, now, await entryLanes(ctx, school.code), today);
}
