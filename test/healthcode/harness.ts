import type { AppContext } from '../../src/context.js';
import { BureauClient, type BureauClientOptions } from '../../src/modules/healthcode/bureau-client.js';
import { startBureauSimulator, type BureauSimulator, type BureauSimulatorOptions } from '../../tools/simulators/bureau.js';
import { addPerson, ensureClass } from '../../src/modules/people/service.js';
import { insertConsent, insertGuardian } from '../../src/modules/people/store.js';
import { newId } from '../../src/shared/ids.js';
import { makeIdNumber, makeName, makePhone } from '../../src/shared/synthetic.js';
import { buildSchool, buildStaff } from '../helpers/factories.js';

export const APP_KEY = 'fangkong-test';
export const APP_SECRET = 'test-secret-for-the-bureau';

/** A simulator and a fast-retrying client pointed at it. */
export async function startBureau(
  sim: Partial<BureauSimulatorOptions> = {},
  cli: Partial<BureauClientOptions> = {},
): Promise<{ simulator: BureauSimulator; client: BureauClient; close(): Promise<void> }> {
  const simulator = await startBureauSimulator({ appKey: APP_KEY, appSecret: APP_SECRET, ...sim });
  const client = new BureauClient({
    url: simulator.url,
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    concurrency: 2,
    requestsPerSecond: 500,
    timeoutMs: 300,
    maxAttempts: 3,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...cli,
  });
  return {
    simulator,
    client,
    close: async () => {
      await client.close();
      await simulator.close();
    },
  };
}

let pupilSeed = Math.floor(Math.random() * 1_000_000);

/**
 * A pupil with a guardian and health-code consent, like the shared buildStudent, but
 * with an ID number that never repeats within a test run (the birth date varies with
 * the seed), so schools of hundreds of pupils can be built.
 */
export async function addPupil(ctx: AppContext, schoolId: string, options: { classNumber: number; guardianDingtalkId?: string | null }) {
  pupilSeed += 1;
  const klass = await ensureClass(ctx, schoolId, 2, options.classNumber);
  const day = new Date(Date.UTC(2016, 0, 1) + Math.floor(pupilSeed / 1000) * 86_400_000).toISOString().slice(0, 10);
  const idNumber = makeIdNumber(pupilSeed, day);
  const person = await addPerson(ctx, { schoolId, kind: 'student', name: makeName(pupilSeed), idNumber, birthDate: day, studentNumber: `XS${pupilSeed}`, classId: klass.id });
  const guardianId = newId();
  await insertGuardian(ctx.db, {
    id: guardianId,
    person_id: person.id,
    name: `${person.name.slice(0, 1)}家长`,
    relation: '母亲',
    phone_enc: ctx.cipher.encrypt(makePhone(pupilSeed)),
    phone_hash: null,
    phone_masked: '100****' + String(pupilSeed % 10000).padStart(4, '0'),
    dingtalk_user_id: options.guardianDingtalkId === undefined ? `dt-guardian-${pupilSeed}` : options.guardianDingtalkId,
    created_at: ctx.now(),
    updated_at: ctx.now(),
  });
  await insertConsent(ctx.db, { id: newId(), person_id: person.id, purpose: 'health_code', given_by: 'guardian', guardian_id: guardianId, given_at: ctx.now(), revoked_at: null, note: null });
  return { person, klass, idNumber, guardianId };
}

export type Pupil = Awaited<ReturnType<typeof addPupil>>;

/**
 * A school with management (a principal with DingTalk, an officer without), and classes
 * of pupils each with a head teacher.
 */
export async function buildSyncSchool(
  ctx: AppContext,
  options: { classes?: number; pupilsPerClass?: number; guardianWithoutDingtalk?: number } = {},
) {
  const school = await buildSchool(ctx);
  const principal = await buildStaff(ctx, school.id, 'management');
  const officer = await buildStaff(ctx, school.id, 'management', { dingtalkUserId: null });
  const classes: Array<{ teacher: Awaited<ReturnType<typeof buildStaff>>; pupils: Pupil[] }> = [];
  let index = 0;
  for (let c = 1; c <= (options.classes ?? 1); c++) {
    const pupils: Pupil[] = [];
    for (let p = 0; p < (options.pupilsPerClass ?? 3); p++) {
      const withoutDingtalk = options.guardianWithoutDingtalk === index;
      pupils.push(await addPupil(ctx, school.id, { classNumber: c, guardianDingtalkId: withoutDingtalk ? null : undefined }));
      index += 1;
    }
    const teacher = await buildStaff(ctx, school.id, 'head_teacher', { classId: pupils[0].klass.id });
    classes.push({ teacher, pupils });
  }
  return { school, principal, officer, classes, pupils: classes.flatMap((c) => c.pupils) };
}

export async function outboxOf(ctx: AppContext, schoolId: string) {
  return ctx.db.selectFrom('outbox').selectAll().where('school_id', '=', schoolId).orderBy('id').execute();
}

export async function inboxOf(ctx: AppContext, schoolId: string) {
  return ctx.db.selectFrom('inbox_messages').selectAll().where('school_id', '=', schoolId).orderBy('id').execute();
}

export async function codeOf(ctx: AppContext, personId: string) {
  return ctx.db.selectFrom('health_codes').selectAll().where('person_id', '=', personId).executeTakeFirst();
}
