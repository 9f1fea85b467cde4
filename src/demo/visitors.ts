import type { AppContext } from '../context.js';
import type { AuthUser } from '../modules/auth/index.js';
import { recordArrival, recordExit, recordWalkIn, registerVisitor, listVisitorsForDay } from '../modules/visitors/service.js';
import { getSchoolByCodeOrThrow } from '../modules/people/service.js';
import { makeIdNumber, makePhone } from '../shared/synthetic.js';
import { instantOf, schoolDay } from '../shared/time.js';
import { DEMO_SCHOOL } from './seed.js';

/**
 * Seed today's visitors of the demo school once: visits registered in advance for the
 * morning and afternoon, and, for the times already past, their checks at the gate (one
 * fever refused), an exit and a walk-in the guard recorded. Every person is synthetic,
 * and the codes come from the bureau simulator. Returns how many visitors were added.
 */
export async function seedDemoVisitors(ctx: AppContext): Promise<number> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const day = schoolDay(ctx.now());
  if ((await listVisitorsForDay(ctx, school.id, day)).visitors.length > 0) return 0;

  const users = await ctx.db.selectFrom('users').select(['id', 'username', 'display_name']).where('username', 'in', ['principal', 'guard']).execute();
  const actorOf = (username: string, fallback: string): AuthUser => {
    const row = users.find((u) => u.username === username);
    return { id: row?.id ?? `demo-${username}`, username, displayName: row?.display_name ?? fallback, role: username === 'guard' ? 'guard' : 'school_admin', schoolId: school.id, classId: null, personId: null, sessionId: 'demo' };
  };
  const principal = actorOf('principal', '校长');
  const guard = actorOf('guard', '门卫');
  const at = (time: string) => instantOf(day, time);
  const atCtx = (time: string): AppContext => ({ ...ctx, now: () => at(time) });
  const isPast = (time: string) => at(time) <= ctx.now();
  const registrationCtx = atCtx('00:01');

  const visits = [
    { name: '王建国', idNumber: makeIdNumber(880001, '1978-04-12'), purpose: '维修三楼教室空调', from: '09:00', to: '11:00', hostName: '总务处 陈老师' },
    { name: '李秀英', phone: makePhone(880002), purpose: '食堂食材配送及索证检查', from: '07:00', to: '07:40', hostName: '食堂 周主任' },
    { name: '刘海燕', idNumber: makeIdNumber(880003, '1985-09-03'), phone: makePhone(880003), purpose: '区教研室听课交流', from: '13:30', to: '15:00', hostName: '教导处 吴老师' },
    { name: '赵明', idNumber: makeIdNumber(880004, '1982-01-20'), purpose: '家长委员会会议', from: '15:30', to: '16:30', hostName: '校长办公室' },
  ];
  const registered = [];
  for (const visit of visits) registered.push(await registerVisitor(registrationCtx, principal, school.code, { ...visit, day }));
  let added = registered.length;

  // The food delivery came at 07:05 with a fever and was refused; the engineer came at 09:05 and left at 10:40.
  if (isPast('07:05')) await recordArrival(atCtx('07:05'), guard, school.code, registered[1].id, { temperature: 37.6, shownCode: 'green' });
  if (isPast('09:05')) await recordArrival(atCtx('09:05'), guard, school.code, registered[0].id, { temperature: 36.4 });
  if (isPast('10:40')) await recordExit(atCtx('10:40'), guard, school.code, registered[0].id, {});
  if (isPast('10:15')) {
    await recordWalkIn(atCtx('10:15'), guard, school.code, {
      name: '孙师傅',
      phone: makePhone(880005),
      purpose: '送教学用品（复印纸）',
      reason: '供应商临时补货，未提前预约',
      hostName: '总务处 陈老师',
      temperature: 36.6,
      shownCode: 'green',
    });
    added += 1;
  }
  ctx.log.info({ schoolId: school.id, day, visitors: added }, 'demo visitors seeded');
  return added;
}
