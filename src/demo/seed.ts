import type { AppContext } from '../context.js';
import type { PersonTable, StaffRole } from '../db/schema.js';
import { newId } from '../shared/ids.js';
import { makeIdNumber, makeName, makePhone } from '../shared/synthetic.js';
import { buildPersonRow, createSchool, listSchools } from '../modules/people/service.js';
import { className } from '../modules/people/class-name.js';

export const DEMO_SCHOOL = { code: 'demo-primary', name: '示范区实验小学' };
export const DEMO_DISTRICT = { code: 'demo-district', name: '示范区' };

const GRADES = 6;
const CLASSES_PER_GRADE = 12;
const PUPILS_PER_CLASS = 40;

export interface DemoSeedResult {
  schoolId: string;
  created: boolean;
  pupils: number;
  staff: number;
  guardians: number;
}

/**
 * Seed the demo district: one primary school of 72 classes (6 grades x 12) with 40
 * synthetic pupils each, their guardians, a head teacher per class, management, school
 * doctors, guards and teachers. Every third-party identifier is synthetic. Running it
 * again on a seeded database does nothing.
 */
export async function seedDemo(ctx: AppContext): Promise<DemoSeedResult> {
  const existing = (await listSchools(ctx)).find((s) => s.code === DEMO_SCHOOL.code);
  if (existing) {
    const counts = await ctx.db
      .selectFrom('persons')
      .select((eb) => [eb.fn.countAll<number>().as('count'), 'kind'])
      .where('school_id', '=', existing.id)
      .groupBy('kind')
      .execute();
    const count = (kind: string) => Number(counts.find((c) => c.kind === kind)?.count ?? 0);
    return { schoolId: existing.id, created: false, pupils: count('student'), staff: count('staff'), guardians: 0 };
  }

  const school = await createSchool(ctx, { ...DEMO_SCHOOL, districtCode: DEMO_DISTRICT.code, districtName: DEMO_DISTRICT.name });
  const now = ctx.now();
  let seed = 1;
  let guardians = 0;
  let staffCount = 0;
  let pupils = 0;

  await ctx.db.transaction().execute(async (trx) => {
    const staffRows: PersonTable[] = [];
    const addStaff = (role: StaffRole, titleSeed: number) => {
      const row = buildPersonRow(ctx, {
        schoolId: school.id,
        kind: 'staff',
        name: makeName(100000 + titleSeed),
        staffNumber: `T${String(titleSeed).padStart(4, '0')}`,
        staffRole: role,
        phone: makePhone(900000 + titleSeed),
        idNumber: makeIdNumber(titleSeed, `19${80 + (titleSeed % 15)}-0${1 + (titleSeed % 9)}-1${titleSeed % 9}`),
        birthDate: null,
        dingtalkUserId: `demo-staff-${titleSeed}`,
      });
      staffRows.push(row);
      return row;
    };

    for (let i = 0; i < 3; i++) addStaff('management', ++staffCount);
    for (let i = 0; i < 2; i++) addStaff('school_doctor', ++staffCount);
    for (let i = 0; i < 6; i++) addStaff('guard', ++staffCount);

    for (let grade = 1; grade <= GRADES; grade++) {
      for (let number = 1; number <= CLASSES_PER_GRADE; number++) {
        const teacher = addStaff('head_teacher', ++staffCount);
        const classId = newId();
        await trx
          .insertInto('classes')
          .values({ id: classId, school_id: school.id, grade, number, name: className(grade, number), head_teacher_id: teacher.id })
          .execute();

        const birthYear = 2026 - 6 - grade;
        const pupilRows: PersonTable[] = [];
        const guardianRows = [];
        const consentRows = [];
        for (let k = 0; k < PUPILS_PER_CLASS; k++) {
          seed += 1;
          const birthDate = `${birthYear}-${String(1 + (seed % 12)).padStart(2, '0')}-${String(1 + (seed % 28)).padStart(2, '0')}`;
          const pupil = buildPersonRow(ctx, {
            schoolId: school.id,
            kind: 'student',
            name: makeName(seed),
            gender: seed % 2 === 0 ? '女' : '男',
            idNumber: makeIdNumber(seed, birthDate),
            birthDate,
            studentNumber: `${2026 - grade + 1}${String(grade)}${String(number).padStart(2, '0')}${String(k + 1).padStart(2, '0')}`,
            classId,
          });
          pupilRows.push(pupil);

          const guardianId = newId();
          const phone = makePhone(seed);
          // One guardian in 25 has no DingTalk account, so the head teacher is asked to phone.
          const dingtalk = seed % 25 === 0 ? null : `demo-guardian-${seed}`;
          guardianRows.push({
            id: guardianId,
            person_id: pupil.id,
            name: `${pupil.name.slice(0, 1)}${seed % 2 === 0 ? '妈妈' : '爸爸'}`,
            relation: seed % 2 === 0 ? '母亲' : '父亲',
            phone_enc: ctx.cipher.encrypt(phone),
            phone_hash: ctx.cipher.hash(phone),
            phone_masked: `${phone.slice(0, 3)}****${phone.slice(-4)}`,
            dingtalk_user_id: dingtalk,
            created_at: now,
            updated_at: now,
          });
          consentRows.push({
            id: newId(),
            person_id: pupil.id,
            purpose: 'health_code' as const,
            given_by: 'guardian' as const,
            guardian_id: guardianId,
            given_at: now,
            revoked_at: null,
            note: '演示数据',
          });
          consentRows.push({
            id: newId(),
            person_id: pupil.id,
            purpose: 'face' as const,
            given_by: 'guardian' as const,
            guardian_id: guardianId,
            given_at: now,
            revoked_at: null,
            note: '演示数据',
          });
        }
        await trx.insertInto('persons').values(pupilRows).execute();
        await trx.insertInto('guardians').values(guardianRows).execute();
        await trx.insertInto('consents').values(consentRows).execute();
        pupils += pupilRows.length;
        guardians += guardianRows.length;
      }
    }

    for (let i = 0; i < 40; i++) addStaff('teacher', ++staffCount);
    for (let start = 0; start < staffRows.length; start += 200) {
      await trx.insertInto('persons').values(staffRows.slice(start, start + 200)).execute();
    }
    const staffConsents = staffRows.map((row) => ({
      id: newId(),
      person_id: row.id,
      purpose: 'health_code' as const,
      given_by: 'self' as const,
      guardian_id: null,
      given_at: now,
      revoked_at: null,
      note: '演示数据',
    }));
    for (let start = 0; start < staffConsents.length; start += 200) {
      await trx.insertInto('consents').values(staffConsents.slice(start, start + 200)).execute();
    }
  });

  ctx.log.info({ schoolId: school.id, pupils, staff: staffCount, guardians }, 'demo data seeded');
  return { schoolId: school.id, created: true, pupils, staff: staffCount, guardians };
}
