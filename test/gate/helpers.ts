import type { AppContext } from '../../src/context.js';
import type { CodeColor } from '../../src/db/schema.js';
import { createUser, login } from '../../src/modules/auth/service.js';
import { csrfTokenFor } from '../../src/modules/auth/plugin.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';

/** Write a person's health code row directly, as a finished sync would leave it. */
export async function setCode(ctx: AppContext, schoolId: string, personId: string, color: CodeColor, fetchedAt = ctx.now()): Promise<void> {
  await ctx.db
    .insertInto('health_codes')
    .values({ person_id: personId, school_id: schoolId, color, bureau_updated_at: fetchedAt, fetched_at: fetchedAt, last_attempt_at: fetchedAt, last_failure: null, reason: null })
    .onConflict((oc) => oc.column('person_id').doUpdateSet({ color, fetched_at: fetchedAt, bureau_updated_at: fetchedAt }))
    .execute();
}

let users = 0;

/** Create and sign in an account of the school; returns the cookie and CSRF headers for app.inject or fetch. */
export async function signIn(ctx: AppContext, schoolCode: string, role: 'school_admin' | 'school_doctor' | 'guard' = 'school_admin') {
  users += 1;
  const username = `gate${role}${users}${Date.now() % 10000}`;
  await createUser(ctx, { username, displayName: `测试${role}`, role, schoolCode, password: 'gate-test-password' }, null);
  const { token } = await login(ctx, { username, password: 'gate-test-password' });
  const csrf = csrfTokenFor(ctx, token);
  return {
    cookie: `fk_session=${token}; fk_csrf=${csrf}`,
    headers: { cookie: `fk_session=${token}; fk_csrf=${csrf}`, 'x-csrf-token': csrf },
  };
}

/**
 * Build a school with one class (grade 2, class 3), its head teacher, a school doctor, one
 * manager, two pupils with green codes, and an API device and a Hikvision terminal at
 * the east gate.
 */
export async function buildGateWorld(ctx: AppContext) {
  const school = await buildSchool(ctx);
  const pupil = await buildStudent(ctx, school.id, { grade: 2, classNumber: 3 });
  const classmate = await buildStudent(ctx, school.id, { grade: 2, classNumber: 3 });
  const headTeacher = await buildStaff(ctx, school.id, 'head_teacher', { classId: pupil.klass.id });
  const doctor = await buildStaff(ctx, school.id, 'school_doctor');
  const manager = await buildStaff(ctx, school.id, 'management');
  await setCode(ctx, school.id, pupil.person.id, 'green');
  await setCode(ctx, school.id, classmate.person.id, 'green');
  const api = await createDevice(ctx, { schoolCode: school.code, kind: 'api', name: '东门 1 号通道', lane: '东门' });
  const terminal = await createDevice(ctx, { schoolCode: school.code, kind: 'hikvision', name: '东门测温终端', lane: '东门' });
  return { school, pupil, classmate, headTeacher, doctor, manager, api, terminal };
}

export function bearer(device: { device: { id: string }; key: string }): Record<string, string> {
  return { authorization: `Bearer ${device.device.id}.${device.key}` };
}
