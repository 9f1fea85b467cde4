import type { AppContext } from '../../context.js';
import { minuteOfDay, parseClock, schoolDay } from '../../shared/time.js';
import { enqueueNotice } from '../notify/outbox.js';
import { getClassesByIds } from '../people/class-roster.js';
import { getContacts, listSchools, type SchoolSummary } from '../people/service.js';
import { getSchoolDayStatus } from '../calendar/service.js';
import { readCheckSettings } from './check-settings.js';
import * as store from './store.js';

/** Reminders are sent up to this long after their time, for a server started late. */
const REMINDER_WINDOW_MINUTES = 180;

/**
 * Remind each head teacher of the pupils their morning check marked absent for an
 * unknown reason, on school days from the school's unknownAbsenceReminderAt. The
 * idempotency key (school, day, class) makes it one notice per class and day however
 * often the job runs, in however many processes, and after a crash mid-run. A class
 * without a head teacher goes to the school admin's inbox. Returns the notices queued.
 */
export async function sendUnknownAbsenceReminders(ctx: AppContext, school: SchoolSummary): Promise<number> {
  const now = ctx.now();
  const day = schoolDay(now);
  const settings = readCheckSettings(school.settings);
  const sendAt = parseClock(settings.unknownAbsenceReminderAt)!;
  const minute = minuteOfDay(now);
  if (minute < sendAt || minute > sendAt + REMINDER_WINDOW_MINUTES) return 0;
  if (!(await getSchoolDayStatus(ctx, school, day)).isSchoolDay) return 0;

  const absences = await store.listUnknownAbsences(ctx.db, school.id, day, 'morning');
  if (absences.length === 0) return 0;
  const byClass = new Map<string, string[]>();
  for (const row of absences) byClass.set(row.class_id, [...(byClass.get(row.class_id) ?? []), row.person_id]);

  const classes = await getClassesByIds(ctx, [...byClass.keys()]);
  const teacherIds = [...classes.values()].map((c) => c.head_teacher_id).filter((id): id is string => id !== null);
  const contacts = await getContacts(ctx, [...new Set([...teacherIds, ...absences.map((a) => a.person_id)])]);
  let queued = 0;

  for (const [classId, personIds] of byClass) {
    const klass = classes.get(classId);
    const className = klass?.name ?? '';
    const teacher = klass?.head_teacher_id ? contacts.get(klass.head_teacher_id)?.person : undefined;
    const names = personIds.map((id) => contacts.get(id)?.person.name ?? '').sort((a, b) => a.localeCompare(b, 'zh-CN'));
    const title = `${className} 缺勤原因待核实`;
    const body = [
      `**${className}** 今日晨检有 ${names.length} 名学生缺勤原因不明：`,
      '',
      ...names.map((name, i) => `${i + 1}. ${name}`),
      '',
      '请上午联系家长核实原因，并在晨午检页面更正为因病或事假。',
    ].join('\n');
    const key = `checks:unknown-absence:${school.id}:${day}:${classId}`;
    const isNew = teacher
      ? await enqueueNotice(
          ctx.db,
          { schoolId: school.id, channel: teacher.dingtalk_user_id ? 'dingtalk_work' : 'inbox', kind: 'unknown_absence', recipientPersonId: teacher.id, recipientDingtalkId: teacher.dingtalk_user_id, title, body, idempotencyKey: key },
          now,
        )
      : await enqueueNotice(ctx.db, { schoolId: school.id, channel: 'inbox', kind: 'unknown_absence', recipientRole: 'school_admin', title, body, idempotencyKey: key }, now);
    if (isNew) queued += 1;
  }
  if (queued > 0) ctx.log.info({ schoolId: school.id, day, notices: queued }, 'unknown-absence reminders queued');
  return queued;
}

/** Run sendUnknownAbsenceReminders for every school; a failing school is logged and skipped. */
export async function sendUnknownAbsenceRemindersForAllSchools(ctx: AppContext): Promise<number> {
  let total = 0;
  for (const school of await listSchools(ctx)) {
    try {
      total += await sendUnknownAbsenceReminders(ctx, school);
    } catch (error) {
      ctx.log.error({ err: error, schoolId: school.id }, 'unknown-absence reminders failed');
    }
  }
  return total;
}
