import type { AppContext } from '../../src/context.js';
import type { StaffRole } from '../../src/db/schema.js';
import { newId } from '../../src/shared/ids.js';
import { addPerson, createSchool, ensureClass } from '../../src/modules/people/service.js';
import { insertConsent, insertGuardian, setHeadTeacher } from '../../src/modules/people/store.js';
import { makeIdNumber, makePhone, makeName } from '../../src/shared/synthetic.js';

let counter = 0;

/** A school with a unique code; every test makes its own. */
export async function buildSchool(ctx: AppContext, overrides: { code?: string; name?: string } = {}) {
  counter += 1;
  return createSchool(ctx, { code: overrides.code ?? `S${Date.now() % 100000}${counter}`, name: overrides.name ?? `测试第${counter}小学` });
}

/** A pupil in grade/class with a synthetic ID number, a guardian and health-code consent. */
export async function buildStudent(
  ctx: AppContext,
  schoolId: string,
  options: { grade?: number; classNumber?: number; guardianDingtalkId?: string | null; consent?: boolean; name?: string } = {},
) {
  counter += 1;
  const klass = await ensureClass(ctx, schoolId, options.grade ?? 2, options.classNumber ?? 3);
  // The sequence number and the birth day both come from the counter, so the ID numbers
  // of one test process never repeat (1,000 sequences for each of 28 days in each month).
  const birthDate = `2018-${String(1 + (Math.floor(counter / 28000) % 12)).padStart(2, '0')}-${String(1 + (Math.floor(counter / 1000) % 28)).padStart(2, '0')}`;
  const idNumber = makeIdNumber(counter % 1000, birthDate);
  const person = await addPerson(ctx, {
    schoolId,
    kind: 'student',
    name: options.name ?? makeName(counter),
    idNumber,
    birthDate,
    studentNumber: `XS${counter}`,
    classId: klass.id,
  });
  const guardianId = newId();
  await insertGuardian(ctx.db, {
    id: guardianId,
    person_id: person.id,
    name: `${person.name.slice(0, 1)}家长`,
    relation: '母亲',
    phone_enc: ctx.cipher.encrypt(makePhone(counter)),
    phone_hash: null,
    phone_masked: null,
    dingtalk_user_id: options.guardianDingtalkId === undefined ? `dt-guardian-${counter}` : options.guardianDingtalkId,
    created_at: ctx.now(),
    updated_at: ctx.now(),
  });
  if (options.consent !== false) {
    await insertConsent(ctx.db, {
      id: newId(),
      person_id: person.id,
      purpose: 'health_code',
      given_by: 'guardian',
      guardian_id: guardianId,
      given_at: ctx.now(),
      revoked_at: null,
      note: null,
    });
  }
  return { person, klass, idNumber, guardianId };
}

/** A staff member; a head teacher is attached to the class given. */
export async function buildStaff(ctx: AppContext, schoolId: string, role: StaffRole, options: { classId?: string; dingtalkUserId?: string | null } = {}) {
  counter += 1;
  const person = await addPerson(ctx, {
    schoolId,
    kind: 'staff',
    name: makeName(counter + 5000),
    staffNumber: `GH${counter}`,
    staffRole: role,
    phone: makePhone(counter + 5000),
    dingtalkUserId: options.dingtalkUserId === undefined ? `dt-staff-${counter}` : options.dingtalkUserId,
  });
  if (options.classId) await setHeadTeacher(ctx.db, options.classId, person.id);
  return person;
}
