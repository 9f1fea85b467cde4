import type { AppContext } from '../../src/context.js';
import type { UserRole } from '../../src/db/schema.js';
import { createUser, login } from '../../src/modules/auth/service.js';
import { csrfTokenFor } from '../../src/modules/auth/plugin.js';
import { assignCard } from '../../src/modules/gate/cards.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';
import { setCode } from '../gate/helpers.js';

let users = 0;
const PASSWORD = 'checks-test-password';

/** Sign in an existing account; returns headers with the session cookie and CSRF token. */
export async function sessionHeaders(ctx: AppContext, username: string): Promise<Record<string, string>> {
  const { token } = await login(ctx, { username, password: PASSWORD });
  const csrf = csrfTokenFor(ctx, token);
  return { cookie: `fk_session=${token}; fk_csrf=${csrf}`, 'x-csrf-token': csrf };
}

/** Create an account and return its username; sign in with sessionHeaders. */
export async function createAccount(ctx: AppContext, role: UserRole, options: { schoolCode?: string; className?: string } = {}): Promise<string> {
  users += 1;
  const username = `chk${role.replace('_', '')}${users}${Date.now() % 10000}`;
  await createUser(ctx, { username, displayName: `测试${role}${users}`, role, schoolCode: options.schoolCode, className: options.className, password: PASSWORD }, null);
  return username;
}

/**
 * Build a school with class 二(3)班 (six pupils with green codes and cards, a head teacher with
 * DingTalk), class 二(4)班 (one pupil), a school doctor and a manager, and an API gate
 * device.
 */
export async function buildChecksWorld(ctx: AppContext) {
  const school = await buildSchool(ctx);
  const pupils = [];
  for (let i = 0; i < 6; i += 1) pupils.push(await buildStudent(ctx, school.id, { grade: 2, classNumber: 3 }));
  const other = await buildStudent(ctx, school.id, { grade: 2, classNumber: 4 });
  const klass = pupils[0]!.klass;
  const headTeacher = await buildStaff(ctx, school.id, 'head_teacher', { classId: klass.id });
  const doctor = await buildStaff(ctx, school.id, 'school_doctor');
  const manager = await buildStaff(ctx, school.id, 'management');
  const device = await createDevice(ctx, { schoolCode: school.code, kind: 'api', name: '东门 1 号通道', lane: '东门' });
  const cards = new Map<string, string>();
  for (const [i, pupil] of [...pupils, other].entries()) {
    await setCode(ctx, school.id, pupil.person.id, 'green');
    const card = `77${String(i).padStart(4, '0')}`;
    await assignCard(ctx, { schoolCode: school.code, cardNumber: card, personId: pupil.person.id });
    cards.set(pupil.person.id, card);
  }
  return { school, klass, pupils, other, headTeacher, doctor, manager, device, cards };
}
