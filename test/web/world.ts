import { randomUUID } from 'node:crypto';
import type { AppContext } from '../../src/context.js';
import type { CodeColor } from '../../src/db/schema.js';
import { createUser } from '../../src/modules/auth/service.js';
import { getSchoolDayStatus, markSchoolDays } from '../../src/modules/calendar/service.js';
import { createDevice, type CreatedDevice } from '../../src/modules/gate/devices.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { schoolDay } from '../../src/shared/time.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';

export const WORLD_PASSWORD = 'Console-World-1';

/** Write a person's health code as a finished sync would leave it; `fetchedAt` in the past makes it stale. */
export async function setCode(ctx: AppContext, schoolId: string, personId: string, color: CodeColor, fetchedAt = ctx.now()): Promise<void> {
  await ctx.db
    .insertInto('health_codes')
    .values({ person_id: personId, school_id: schoolId, color, bureau_updated_at: fetchedAt, fetched_at: fetchedAt, last_attempt_at: fetchedAt, last_failure: null, reason: null })
    .onConflict((oc) => oc.column('person_id').doUpdateSet({ color, fetched_at: fetchedAt, bureau_updated_at: fetchedAt }))
    .execute();
}

/**
 * Make today a school day of the school when its calendar has no school today (a
 * weekend), so a test that works on the real date expects the same pages on any day.
 */
export async function openSchoolToday(ctx: AppContext, schoolCode: string): Promise<void> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const today = schoolDay(Date.now());
  if ((await getSchoolDayStatus(ctx, school, today)).isSchoolDay) return;
  await markSchoolDays(ctx, { user: null, name: '测试', ip: null }, school, { from: today, isSchoolDay: true, reason: '浏览器测试' });
}

export interface ConsoleWorld {
  school: { id: string; code: string; name: string };
  /** Pupils of 二(3)班, the head teacher's class: green, yellow, green. */
  classPupils: Array<{ id: string; name: string }>;
  /** The one pupil of 二(4)班. */
  otherPupil: { id: string; name: string };
  classId: string;
  otherClassId: string;
  device: CreatedDevice;
  /** Usernames by role; every account has WORLD_PASSWORD. */
  users: { district: string; principal: string; headTeacher: string; teacher: string; doctor: string; guard: string };
}

/**
 * A school with two classes of grade 2, codes for every pupil, one account per role and a
 * kiosk device at the east gate. `prefix` keeps usernames and codes unique per test file.
 */
export async function buildConsoleWorld(ctx: AppContext, prefix: string, schoolName = '浏览器测试小学'): Promise<ConsoleWorld> {
  const school = await buildSchool(ctx, { code: `${prefix}-school`, name: schoolName });
  const pupils = [];
  for (const name of ['张小明', '李小红', '王小刚']) pupils.push(await buildStudent(ctx, school.id, { grade: 2, classNumber: 3, name }));
  const other = await buildStudent(ctx, school.id, { grade: 2, classNumber: 4, name: '别班学生' });
  const headTeacherPerson = await buildStaff(ctx, school.id, 'head_teacher', { classId: pupils[0].klass.id });

  await setCode(ctx, school.id, pupils[0].person.id, 'green');
  await setCode(ctx, school.id, pupils[1].person.id, 'yellow');
  await setCode(ctx, school.id, pupils[2].person.id, 'green');
  await setCode(ctx, school.id, other.person.id, 'green');

  const users = {
    district: `${prefix}-district`,
    principal: `${prefix}-principal`,
    headTeacher: `${prefix}-head`,
    teacher: `${prefix}-teacher`,
    doctor: `${prefix}-doctor`,
    guard: `${prefix}-guard`,
  };
  const password = WORLD_PASSWORD;
  await createUser(ctx, { username: users.district, displayName: '区教育局管理员', role: 'district_admin', password }, null);
  await createUser(ctx, { username: users.principal, displayName: '李校长', role: 'school_admin', schoolCode: school.code, password }, null);
  await createUser(
    ctx,
    { username: users.headTeacher, displayName: '王老师', role: 'head_teacher', schoolCode: school.code, className: '二(3)班', personId: headTeacherPerson.id, password },
    null,
  );
  await createUser(ctx, { username: users.teacher, displayName: '赵老师', role: 'teacher', schoolCode: school.code, password }, null);
  await createUser(ctx, { username: users.doctor, displayName: '孙校医', role: 'school_doctor', schoolCode: school.code, password }, null);
  await createUser(ctx, { username: users.guard, displayName: '东门门卫', role: 'guard', schoolCode: school.code, password }, null);

  const device = await createDevice(ctx, { schoolCode: school.code, kind: 'kiosk', name: '东门 1 号通道', lane: '东门' });
  return {
    school,
    classPupils: pupils.map((p) => ({ id: p.person.id, name: p.person.name })),
    otherPupil: { id: other.person.id, name: other.person.name },
    classId: pupils[0].klass.id,
    otherClassId: other.klass.id,
    device,
    users,
  };
}

export interface PostedDecision {
  eventId: string;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  personName: string | null;
}

/** Send one entry attempt through the real device API, as a lane would: the guard named the person. */
export async function postGateEvent(baseUrl: string, device: CreatedDevice, personId: string, temperature: number): Promise<PostedDecision> {
  const response = await fetch(`${baseUrl}/api/devices/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${device.device.id}.${device.key}` },
    body: JSON.stringify({ eventId: randomUUID(), occurredAt: Date.now(), temperature, personId }),
  });
  if (!response.ok) throw new Error(`POST /api/devices/events answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as PostedDecision;
}
