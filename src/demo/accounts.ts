import type { AppContext } from '../context.js';
import { createUser } from '../modules/auth/service.js';
import { DEMO_SCHOOL } from './seed.js';

/** The shared password of the demo accounts; demo data only, printed at start-up. */
export const DEMO_PASSWORD = 'fangkong-demo';

export interface DemoAccount {
  username: string;
  /** Chinese label of the role, for the start-up output. */
  label: string;
}

const ACCOUNTS: Array<{ username: string; displayName: string; role: string; label: string; className?: string; school: boolean }> = [
  { username: 'district', displayName: '区教育局 王科长', role: 'district_admin', label: '区级管理员', school: false },
  { username: 'principal', displayName: '示范区实验小学 校长', role: 'school_admin', label: '校长（学校管理员）', school: true },
  { username: 'teacher23', displayName: '二(3)班 班主任', role: 'head_teacher', label: '二(3)班班主任', className: '二(3)班', school: true },
  { username: 'doctor', displayName: '校医', role: 'school_doctor', label: '校医', school: true },
  { username: 'guard', displayName: '东门门卫', role: 'guard', label: '门卫', school: true },
  { username: 'teacher', displayName: '任课教师', role: 'teacher', label: '任课教师', school: true },
];

/**
 * Create one account per role on the demo school when none exists yet, so a newcomer can
 * sign in as a principal, a head teacher or a guard right after `npm start`.
 */
export async function seedDemoAccounts(ctx: AppContext): Promise<DemoAccount[]> {
  const existing = await ctx.db.selectFrom('users').select('username').execute();
  const taken = new Set(existing.map((row) => row.username));

  for (const account of ACCOUNTS) {
    if (taken.has(account.username)) continue;
    await createUser(
      ctx,
      {
        username: account.username,
        displayName: account.displayName,
        role: account.role,
        schoolCode: account.school ? DEMO_SCHOOL.code : undefined,
        className: account.className,
        password: DEMO_PASSWORD,
      },
      null,
    );
  }
  return ACCOUNTS.map(({ username, label }) => ({ username, label }));
}
