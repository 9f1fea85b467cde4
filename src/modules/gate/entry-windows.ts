import { chineseNumeral } from '../people/class-name.js';
import { minuteOfDay, parseClock, weekday as weekdayOf } from '../../shared/time.js';
import { notSchoolDayText, type SchoolDayStatus } from '../calendar/calendar-rules.js';
import type { EntryWindow } from './gate-settings.js';

/**
 * Staggered entry (错峰入校): each grade's entry window and lanes, optionally only on some
 * weekdays. Checking an edited list, picking the window of a grade on a day, and what the
 * guard sees now. Pure: no IO, and the instant is a parameter.
 */

export const WEEKDAY_NAMES = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
const MAX_GRADE = 12;
const MAX_WINDOWS = 50;

/** True when the window applies on the weekday (0 Sunday to 6 Saturday); no weekdays means every day. */
export function windowApplies(window: EntryWindow, weekday: number): boolean {
  return !window.weekdays || window.weekdays.length === 0 || window.weekdays.includes(weekday);
}

/** Find the window of a grade on a weekday; undefined when the grade has none that day. */
export function windowOfGrade(windows: EntryWindow[], grade: number, weekday: number): EntryWindow | undefined {
  return windows.find((w) => w.grades.includes(grade) && windowApplies(w, weekday));
}

export function gradeLabel(grade: number): string {
  return `${chineseNumeral(grade)}年级`;
}

export type WindowsCheck = { ok: true; windows: EntryWindow[] } | { ok: false; problems: string[] };

/**
 * Check an edited list of windows: grades 1 to 12, 'HH:MM' times with the end after the
 * start, weekdays 0 to 6, lanes that exist at the school, and no grade in two windows
 * that overlap on a common weekday. Problems are Chinese and name the window by number.
 */
export function checkEntryWindows(input: unknown, knownLanes: string[]): WindowsCheck {
  if (!Array.isArray(input)) return { ok: false, problems: ['入校时段：应为时段列表'] };
  if (input.length > MAX_WINDOWS) return { ok: false, problems: [`入校时段：最多 ${MAX_WINDOWS} 个，当前 ${input.length} 个`] };
  const problems: string[] = [];
  const windows: EntryWindow[] = [];
  const lanes = new Set(knownLanes);

  input.forEach((raw, index) => {
    const label = `第 ${index + 1} 个时段`;
    const value = (raw ?? {}) as Record<string, unknown>;
    const before = problems.length;

    const grades = Array.isArray(value.grades) ? value.grades : [];
    if (grades.length === 0) problems.push(`${label}：请至少选择一个年级`);
    const badGrade = grades.find((g) => !Number.isInteger(g) || (g as number) < 1 || (g as number) > MAX_GRADE);
    if (badGrade !== undefined) problems.push(`${label}：年级“${String(badGrade)}”无效，应为 1–${MAX_GRADE} 的整数`);
    const dupGrade = grades.find((g, i) => grades.indexOf(g) !== i);
    if (dupGrade !== undefined) problems.push(`${label}：年级“${String(dupGrade)}”重复`);

    const from = typeof value.from === 'string' ? value.from.trim() : '';
    const to = typeof value.to === 'string' ? value.to.trim() : '';
    const fromMinute = parseClock(from);
    const toMinute = parseClock(to);
    if (fromMinute === undefined) problems.push(`${label}：开始时间“${from}”无效，请使用 HH:MM 格式，例如 07:10`);
    if (toMinute === undefined) problems.push(`${label}：结束时间“${to}”无效，请使用 HH:MM 格式，例如 07:25`);
    if (fromMinute !== undefined && toMinute !== undefined && toMinute <= fromMinute) {
      problems.push(`${label}：开始时间 ${from} 不早于结束时间 ${to}，请把结束时间改到开始时间之后`);
    }

    const weekdays = value.weekdays === undefined || value.weekdays === null ? [] : value.weekdays;
    if (!Array.isArray(weekdays) || weekdays.some((d) => !Number.isInteger(d) || (d as number) < 0 || (d as number) > 6)) {
      problems.push(`${label}：星期应为 0（周日）到 6（周六）的整数`);
    }

    const laneList = value.lanes === undefined || value.lanes === null ? [] : value.lanes;
    if (!Array.isArray(laneList) || laneList.some((l) => typeof l !== 'string')) {
      problems.push(`${label}：通道应为通道名称列表`);
    } else {
      const unknown = (laneList as string[]).filter((l) => !lanes.has(l.trim()));
      if (unknown.length > 0) {
        const known = knownLanes.length > 0 ? `现有通道：${knownLanes.join('、')}` : '本校尚未登记任何通道设备';
        problems.push(`${label}：通道“${unknown.join('、')}”不存在，${known}`);
      }
    }

    if (problems.length === before) {
      const window: EntryWindow = { grades: [...(grades as number[])].sort((a, b) => a - b), from: pad(from), to: pad(to) };
      const cleanLanes = [...new Set((laneList as string[]).map((l) => l.trim()))];
      if (cleanLanes.length > 0) window.lanes = cleanLanes;
      const days = [...new Set(weekdays as number[])].sort((a, b) => a - b);
      if (days.length > 0 && days.length < 7) window.weekdays = days;
      windows.push(window);
    } else {
      windows.push(undefined as unknown as EntryWindow);
    }
  });

  // Overlaps are checked between windows that are valid by themselves.
  for (let i = 0; i < windows.length; i++) {
    for (let j = i + 1; j < windows.length; j++) {
      const a = windows[i];
      const b = windows[j];
      if (!a || !b) continue;
      const days = sharedWeekdays(a, b);
      if (days.length === 0) continue;
      if (!(parseClock(a.from)! < parseClock(b.to)! && parseClock(b.from)! < parseClock(a.to)!)) continue;
      for (const grade of a.grades.filter((g) => b.grades.includes(g))) {
        const when = days.length === 7 ? '' : `（${days.map((d) => WEEKDAY_NAMES[d]).join('、')}）`;
        problems.push(`${gradeLabel(grade)}的第 ${i + 1} 个时段（${a.from}–${a.to}）与第 ${j + 1} 个时段（${b.from}–${b.to}）时间重叠${when}，同一年级同一天只能有一个入校时段`);
      }
    }
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, windows };
}

function sharedWeekdays(a: EntryWindow, b: EntryWindow): number[] {
  return [0, 1, 2, 3, 4, 5, 6].filter((d) => windowApplies(a, d) && windowApplies(b, d));
}

function pad(clock: string): string {
  return clock.length === 4 ? `0${clock}` : clock;
}

export type WindowState = 'upcoming' | 'open' | 'closed';

export interface GuardWindow extends EntryWindow {
  state: WindowState;
  /** '一年级、二年级' */
  gradeNames: string;
}

export interface GuardView {
  /** Today, 'YYYY-MM-DD' in Asia/Shanghai. */
  day: string;
  /** 0 Sunday to 6 Saturday, Asia/Shanghai. */
  weekday: number;
  /** 'HH:MM' now, Asia/Shanghai. */
  now: string;
  isSchoolDay: boolean;
  /** Why today has no school, naming the day ("2026-12-05 是周六，不是上学日"); null on a school day. */
  notSchoolDayText: string | null;
  /** Today's windows in time order, with their state now. */
  windows: GuardWindow[];
  /** Each lane with the grades that should enter there now; lanes of no open window have none. */
  lanesNow: Array<{ lane: string; grades: number[]; gradeNames: string }>;
  /** The next window to open today, if any. */
  next: GuardWindow | null;
}

/**
 * What the guard sees at an instant: today's windows, which are open, and who should be at
 * each lane now. `today` is the instant's day in the school calendar. A day without school
 * has no windows. On a school day the windows without weekdays apply, and those that name
 * the weekday (a window for Saturdays applies on a make-up Saturday).
 */
export function guardView(windows: EntryWindow[], at: number, lanes: string[], today: SchoolDayStatus): GuardView {
  const weekday = weekdayOf(at);
  const minute = minuteOfDay(at);
  const isSchoolDay = today.isSchoolDay;
  const todays = windows
    .filter((w) => isSchoolDay && windowApplies(w, weekday))
    .map((w): GuardWindow => {
      const from = parseClock(w.from)!;
      const to = parseClock(w.to)!;
      let state: WindowState = 'open';
      if (minute < from) state = 'upcoming';
      else if (minute > to) state = 'closed';
      return { ...w, state, gradeNames: w.grades.map(gradeLabel).join('、') };
    })
    .sort((a, b) => a.from.localeCompare(b.from));

  const allLanes = [...new Set([...lanes, ...todays.flatMap((w) => w.lanes ?? [])])];
  const lanesNow = allLanes.map((lane) => {
    const grades = todays
      .filter((w) => w.state === 'open' && (!w.lanes || w.lanes.length === 0 || w.lanes.includes(lane)))
      .flatMap((w) => w.grades)
      .sort((a, b) => a - b);
    return { lane, grades, gradeNames: grades.map(gradeLabel).join('、') };
  });
  const hh = String(Math.floor(minute / 60)).padStart(2, '0');
  const mm = String(minute % 60).padStart(2, '0');
  return {
    day: today.day,
    weekday,
    now: `${hh}:${mm}`,
    isSchoolDay,
    notSchoolDayText: isSchoolDay ? null : notSchoolDayText(today),
    windows: todays,
    lanesNow,
    next: todays.find((w) => w.state === 'upcoming') ?? null,
  };
}
