import type { AppContext } from '../context.js';
import { addContact, listOpenFollowUps, updateFollowUp } from '../modules/checks/follow-ups.js';
import { saveClassCheck, type Actor } from '../modules/checks/service.js';
import { listClassArrivals } from '../modules/gate/arrivals.js';
import { getClassRoster } from '../modules/people/class-roster.js';
import { getSchoolByCodeOrThrow } from '../modules/people/service.js';
import { instantOf, schoolDay } from '../shared/time.js';
import { DEMO_SCHOOL } from './seed.js';

/** Classes whose morning check the demo fills in; 二(3)班 is the demo head teacher's. */
const DEMO_CHECK_CLASSES = ['二(1)班', '二(2)班', '二(3)班'];

/** The class whose morning check lists the demo's absentees. */
export const DEMO_ABSENCE_CLASS = '二(3)班';

/**
 * List the three pupils of 二(3)班 whom the demo keeps at home: the first three of the
 * class roster. The morning check lists them absent and the gate replay lets none of
 * them in, so the check and the gate agree whichever runs first. Returns fewer when the
 * class is smaller.
 */
export async function listDemoAbsentees(ctx: AppContext, schoolId: string): Promise<string[]> {
  const klass = await ctx.db.selectFrom('classes').select('id').where('school_id', '=', schoolId).where('name', '=', DEMO_ABSENCE_CLASS).executeTakeFirst();
  if (!klass) return [];
  const { pupils } = await getClassRoster(ctx, schoolId, klass.id);
  return pupils.slice(0, 3).map((pupil) => pupil.id);
}

/**
 * Seed today's morning checks of three classes of the demo school once. In 二(3)班 two
 * of the pupils the demo keeps at home (listDemoAbsentees) are absent with fever and cough, and each opens a follow-up (one gets a guardian
 * call and a diagnosis). A third pupil is in class with a fever, which raises a cluster
 * alert, and the third absence has no known reason, as has that of a pupil the replayed gate
 * morning refused. Everyone else is present. Returns the
 * checks saved.
 */
export async function seedDemoChecks(ctx: AppContext): Promise<number> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const day = schoolDay(ctx.now());
  const existing = await ctx.db.selectFrom('daily_checks').select('id').where('school_id', '=', school.id).where('day', '=', day).executeTakeFirst();
  if (existing) return 0;

  const classes = await ctx.db.selectFrom('classes').select(['id', 'name']).where('school_id', '=', school.id).where('name', 'in', DEMO_CHECK_CLASSES).execute();
  const teacher = await ctx.db.selectFrom('users').select(['id', 'display_name']).where('username', '=', 'teacher23').executeTakeFirst();
  const actor: Actor = { userId: teacher?.id ?? 'demo-teacher23', name: teacher?.display_name ?? '二(3)班 班主任' };
  // Checks are entered at 08:20, or now when the server starts earlier in the day.
  const enteredAt = Math.min(ctx.now(), instantOf(day, '08:20'));
  const checkCtx: AppContext = { ...ctx, now: () => enteredAt };
  const absentees = await listDemoAbsentees(ctx, school.id);
  let saved = 0;

  for (const klass of classes) {
    const { pupils } = await getClassRoster(ctx, school.id, klass.id);
    const isDemoClass = klass.name === DEMO_ABSENCE_CLASS;
    // After a replayed gate morning, a pupil of 二(3)班 the gate refused (a yellow code, say) is not in class either.
    const arrivals = isDemoClass ? await listClassArrivals(ctx, school.id, klass.id, day) : new Map();
    const notLetIn = (personId: string) => arrivals.size > 0 && !arrivals.has(personId);
    const entries = pupils.map((pupil, index) => {
      if (isDemoClass && (pupil.id === absentees[0] || pupil.id === absentees[1])) return { personId: pupil.id, status: 'absent' as const, absenceReason: 'illness' as const, symptoms: ['fever', 'cough'] };
      if (isDemoClass && (pupil.id === absentees[2] || notLetIn(pupil.id))) return { personId: pupil.id, status: 'absent' as const, absenceReason: 'unknown' as const };
      if (isDemoClass && index === 17) return { personId: pupil.id, status: 'present' as const, temperature: 37.8, symptoms: ['fever'] };
      return { personId: pupil.id, status: 'present' as const, temperature: 36.3 + (index % 5) / 10 };
    });
    const result = await saveClassCheck(checkCtx, actor, school.id, klass.id, { day, session: 'morning', entries });
    saved += result.created;
  }

  const demoClass = classes.find((c) => c.name === DEMO_ABSENCE_CLASS);
  const [first] = demoClass ? await listOpenFollowUps(ctx, school.id, demoClass.id) : [];
  if (first) {
    await addContact(checkCtx, actor, school.id, first.id, { contactedAt: enteredAt, result: 'reached', note: '家长称昨晚起发热 38.6℃、咳嗽，上午去社区卫生服务中心就诊' });
    await updateFollowUp(checkCtx, actor, school.id, first.id, { sawDoctor: true, diagnosis: 'influenza', expectedReturnOn: schoolDay(enteredAt + 3 * 86_400_000) });
  }
  ctx.log.info({ schoolId: school.id, day, checks: saved }, 'demo checks seeded');
  return saved;
}
