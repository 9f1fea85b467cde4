import type { AppContext } from '../context.js';
import { createUser } from '../modules/auth/service.js';
import { getSchoolByCodeOrThrow, listClasses, listManagement } from '../modules/people/service.js';
import { DEMO_SCHOOL } from './seed.js';

/** The shared password of the demo accounts; demo data only, printed at start-up. */
export const DEMO_PASSWORD = 'fangkong-demo';

export interface DemoAccount {
  username: string;
  /** Chinese label of the role, for the start-up output. */
  label: string;
}

/**
 * `person` links an account to a staff member of the demo school: 'head-teacher' to the
 * head teacher of its class, 'management' to the first member of management. The link
 * makes the class page show that class as the teacher's own and gives the DingTalk test
 * message a recipient.
 */
const ACCOUNTS: Array<{ username: string; displayName: string; role: string; label: string; className?: string; school: boolean; person?: 'head-teacher' | 'management' }> = [
  { username: 'district', displayName: '区教育局 王科长', role: 'district_admin', label: '区级管理员', school: false },
  { username: 'principal', displayName: '示范区实验小学 校长', role: 'school_admin', label: '校长（学校管理员）', school: true, person: 'management' },
  { username: 'teacher23', displayName: '二(3)班 班主任', role: 'head_teacher', label: '二(3)班班主任', className: '二(3)班', school: true, person: 'head-teacher' },
  { username: 'doctor', displayName: '校医', role: 'school_doctor', label: '校医', school: true },
  { username: 'guard', displayName: '东门门卫', role: 'guard', label: '门卫', school: true },
  { username: 'teacher', displayName: '任课教师', role: 'teacher', label: '任课教师', school: true },
  { username: 'tracer', displayName: '区疫情防控专班 流调员', role: 'task_force', label: '疫情防控专班（场所码流调）', school: false },
];

/**
 * Create one account per role on the demo school when none exists yet, so a newcomer can
 * sign in as a principal, a head teacher or a guard right after `npm start`.
 */
export async function seedDemoAccounts(ctx: AppContext): Promise<DemoAccount[]> {
  const existing = await ctx.db.selectFrom('users').select(['id', 'username', 'person_id']).execute();
  const byUsername = new Map(existing.map((row) => [row.username, row]));
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);

  for (const account of ACCOUNTS) {
    const personId = account.person ? await demoPersonOf(ctx, school.id, account.person, account.className) : undefined;
    const current = byUsername.get(account.username);
    if (current) {
      // Accounts seeded before the link existed get it on the next start.
      if (personId && !current.person_id) await ctx.db.updateTable('users').set({ person_id: personId }).where('id', '=', current.id).execute();
      continue;
    }
    await createUser(
      ctx,
      {
        username: account.username,
        displayName: account.displayName,
        role: account.role,
        schoolCode: account.school ? DEMO_SCHOOL.code : undefined,
        className: account.className,
        personId,
        password: DEMO_PASSWORD,
      },
      null,
    );
  }
  return ACCOUNTS.map(({ username, label }) => ({ username, label }));
}

/** Find the staff member of the demo school that an account represents, or undefined when the data has none. */
async function demoPersonOf(ctx: AppContext, schoolId: string, person: 'head-teacher' | 'management', className?: string): Promise<string | undefined> {
  if (person === 'management') {
    const management = await listManagement(ctx, schoolId);
    return [...management].sort((a, b) => (a.staff_number ?? '').localeCompare(b.staff_number ?? ''))[0]?.id;
  }
  const klass = (await listClasses(ctx, schoolId)).find((c) => c.name === className);
  return klass?.head_teacher_id ?? undefined;
}
