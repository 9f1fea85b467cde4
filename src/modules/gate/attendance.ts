import type { AppContext } from '../../context.js';
import { formatLocalTime, instantOf, minuteOfDay, parseClock, schoolDay } from '../../shared/time.js';
import { notSchoolDayText } from '../calendar/calendar-rules.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { enqueueNotice } from '../notify/outbox.js';
import { getContacts, getSchoolByCodeOrThrow, listSchools, type SchoolSummary } from '../people/service.js';
import { readGateSettings } from './gate-settings.js';
import { collectPresence } from './presence.js';
import * as store from './store.js';

/** Arrivals of a school day: who passed the gate (or was admitted after a re-check), per class. */

export interface ClassArrivals {
  classId: string | null;
  className: string;
  headTeacherId: string | null;
  /**
   * Pupils who passed the gate, were admitted after a re-check, or were marked present in
   * the day's class check without either ('check'). For a 'check' arrival, firstPassAt is
   * when the check was saved, because the gate has no pass of the pupil.
   */
  arrived: Array<{ personId: string; name: string; firstPassAt: number; late: boolean; source: 'gate' | 'recheck' | 'check' }>;
  notArrived: Array<{ personId: string; name: string }>;
}

export interface AttendanceDay {
  day: string;
  /** Whether the day is a school day in the school calendar; on other days nobody is expected. */
  isSchoolDay: boolean;
  /** Why the day has no school, naming it ("2026-12-05 是周六，不是上学日"); null on a school day. */
  notSchoolDayText: string | null;
  arrivedCount: number;
  notArrivedCount: number;
  lateCount: number;
  classes: ClassArrivals[];
}

/**
 * Arrived and not-arrived pupils of a school day, per class in grade order. A pupil has
 * arrived with an attendance row (a gate pass or a normal re-check) or when a class check
 * marked them present, as the daily report's 实到 counts.
 */
export async function getAttendanceDay(ctx: AppContext, schoolId: string, day: string, classId?: string): Promise<AttendanceDay> {
  const pupils = await store.listActivePupils(ctx.db, schoolId);
  const attendance = new Map((await store.listAttendance(ctx.db, schoolId, day)).map((row) => [row.person_id, row]));
  const checkedPresent = await collectPresence(ctx, schoolId, day);
  const byClass = new Map<string, ClassArrivals>();

  for (const pupil of pupils) {
    if (classId && pupil.class_id !== classId) continue;
    const key = pupil.class_id ?? '';
    let group = byClass.get(key);
    if (!group) {
      group = { classId: pupil.class_id, className: pupil.class_name ?? '未分班', headTeacherId: pupil.head_teacher_id, arrived: [], notArrived: [] };
      byClass.set(key, group);
    }
    const row = attendance.get(pupil.id);
    const checkedAt = checkedPresent.get(pupil.id);
    if (row) group.arrived.push({ personId: pupil.id, name: pupil.name, firstPassAt: row.first_pass_at, late: row.late === 1, source: row.source });
    else if (checkedAt !== undefined) group.arrived.push({ personId: pupil.id, name: pupil.name, firstPassAt: checkedAt, late: false, source: 'check' });
    else group.notArrived.push({ personId: pupil.id, name: pupil.name });
  }

  const classes = [...byClass.values()];
  for (const group of classes) group.arrived.sort((a, b) => a.firstPassAt - b.firstPassAt);
  const status = await getSchoolDayStatus(ctx, schoolId, day);
  return {
    day,
    isSchoolDay: status.isSchoolDay,
    notSchoolDayText: status.isSchoolDay ? null : notSchoolDayText(status),
    arrivedCount: classes.reduce((sum, c) => sum + c.arrived.length, 0),
    notArrivedCount: classes.reduce((sum, c) => sum + c.notArrived.length, 0),
    lateCount: classes.reduce((sum, c) => sum + c.arrived.filter((a) => a.late).length, 0),
    classes,
  };
}

export async function getAttendanceDayByCode(ctx: AppContext, schoolCode: string, day: string | undefined, classId?: string): Promise<AttendanceDay> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  return getAttendanceDay(ctx, school.id, day ?? schoolDay(ctx.now()), classId);
}

/** The not-arrived lists are sent up to this long after their time, for a server started late. */
const NOT_ARRIVED_WINDOW_MINUTES = 180;

/** Schools whose list went out today, per context, so the minute job stops rebuilding it. */
const sentLists = new WeakMap<AppContext, Set<string>>();

function sentListsOf(ctx: AppContext): Set<string> {
  let done = sentLists.get(ctx);
  if (!done) {
    done = new Set();
    sentLists.set(ctx, done);
  }
  return done;
}

/**
 * Send each head teacher the pupils of their class not arrived yet, once per school day
 * of the school calendar at the school's notArrivedNoticeAt. The idempotency key (school, day, class) keeps it
 * to one notice however often the job runs and however many processes run it.
 * Returns the number of notices queued.
 */
export async function sendNotArrivedLists(ctx: AppContext, school: SchoolSummary): Promise<number> {
  const now = ctx.now();
  const day = schoolDay(now);
  const settings = readGateSettings(school.settings);
  const sendAt = parseClock(settings.notArrivedNoticeAt)!;
  if (minuteOfDay(now) < sendAt) return 0;
  // Late by more than the window (the server was down), the list would only mislead.
  if (minuteOfDay(now) > sendAt + NOT_ARRIVED_WINDOW_MINUTES) return 0;
  const doneKey = `${school.id}:${day}`;
  const done = sentListsOf(ctx);
  if (done.has(doneKey)) return 0;
  // On a day without school nobody is expected, so nobody is missing. Asked each run, so
  // a day the admin marks as a school day within the window still gets its list.
  if (!(await getSchoolDayStatus(ctx, school, day)).isSchoolDay) return 0;

  const view = await getAttendanceDay(ctx, school.id, day);
  const teacherIds = view.classes.map((c) => c.headTeacherId).filter((id): id is string => id !== null);
  const teachers = await getContacts(ctx, [...new Set(teacherIds)]);
  let queued = 0;

  for (const group of view.classes) {
    if (!group.headTeacherId || group.notArrived.length === 0) continue;
    const teacher = teachers.get(group.headTeacherId)?.person;
    if (!teacher) continue;

    const title = `${group.className} 未到校名单`;
    const lines = group.notArrived.map((p, i) => `${i + 1}. ${p.name}`);
    const body = [
      `截至 ${formatLocalTime(Math.max(now, instantOf(day, settings.notArrivedNoticeAt)))}，**${group.className}** 有 ${group.notArrived.length} 名学生未到校：`,
      '',
      ...lines,
      '',
      '请尽快联系家长了解原因，并在平台登记缺勤原因。',
    ].join('\n');
    const key = `gate:not-arrived:${school.id}:${day}:${group.classId ?? 'none'}`;

    // Without a DingTalk account the notice goes to the head teacher's in-app inbox.
    const channel = teacher.dingtalk_user_id ? 'dingtalk_work' : 'inbox';
    const isNew = await enqueueNotice(
      ctx.db,
      { schoolId: school.id, channel, kind: 'not_arrived', recipientPersonId: teacher.id, recipientDingtalkId: teacher.dingtalk_user_id, title, body, idempotencyKey: key },
      now,
    );
    if (isNew) queued += 1;
  }
  if (queued > 0) ctx.log.info({ schoolId: school.id, day, notices: queued }, 'not-arrived lists queued');
  done.add(doneKey);
  return queued;
}

/** Run sendNotArrivedLists for every school; returns the notices queued. */
export async function sendNotArrivedListsForAllSchools(ctx: AppContext): Promise<number> {
  let total = 0;
  for (const school of await listSchools(ctx)) {
    try {
      total += await sendNotArrivedLists(ctx, school);
    } catch (error) {
      ctx.log.error({ err: error, schoolId: school.id }, 'not-arrived list failed');
    }
  }
  return total;
}
