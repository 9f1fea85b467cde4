import type { AppContext } from '../context.js';
import { AppError } from '../shared/errors.js';
import { instantOf, schoolDay, formatLocalDateTime } from '../shared/time.js';
import { getSchoolByCodeOrThrow, listManagement } from '../modules/people/service.js';
import { runSync, getCurrentCodes, type SyncRunResult } from '../modules/healthcode/service.js';
import type { BureauSimulator } from '../../tools/simulators/bureau.js';
import type { DingTalkSimulator, WorkDelivery } from '../../tools/simulators/dingtalk.js';
import { DEMO_SCHOOL } from './seed.js';
import { replayGateMorning, type GateReplayReport } from './gate.js';
import { makeDemoSchoolDay } from './calendar.js';
import { restoreBureauCodes } from './bureau-state.js';
import { listDemoAbsentees } from './checks.js';

export interface MorningStep {
  /** Local time of the step on the replayed day, 'YYYY-MM-DD HH:MM'. */
  at: string;
  label: string;
  run: Pick<SyncRunResult, 'runId' | 'status' | 'total' | 'changes' | 'failed' | 'counts'>;
}

export interface MorningReport {
  day: string;
  steps: MorningStep[];
  /**
   * Pupils whose code the replay changed, with the class and the colours as the replay's
   * syncs recorded them (names only). The first colour is the code before the first
   * change, 未同步 when the pupil had none, as on the first replay on new demo data.
   */
  changed: Array<{ name: string; className: string; colors: string }>;
  notices: { queued: number; sent: number; filtered: number; waiting: number; failed: number };
  /** Work notices the DingTalk simulator received during the replay. */
  dingtalkDeliveries: number;
  /**
   * The first code-change notice DingTalk delivered to the head teacher of 二(3)班 and the
   * first to a member of the school's management, as received, to show what each reads.
   * Each is null when no such notice arrived.
   */
  sampleNotices: { headTeacher: string | null; management: string | null };
  /** In-app requests to phone a guardian who has no DingTalk account. */
  phoneRequests: number;
  /** 07:00-08:15 at the gates. */
  gate: GateReplayReport;
}

interface Simulators {
  bureau: BureauSimulator;
  dingtalk: DingTalkSimulator;
}

/** Shanghai time after which today's gate morning (last late arrival 08:14) is over. */
const REPLAY_MORNING_OVER = '08:30';

/**
 * Pick the day to replay: the latest one whose gate morning has passed, so every notice,
 * the gate's included, is due and the dispatcher sends it at once.
 */
function replayDay(now: number): string {
  const today = schoolDay(now);
  if (now >= instantOf(today, REPLAY_MORNING_OVER)) return today;
  return schoolDay(instantOf(today) - 12 * 60 * 60 * 1000);
}

function previousDay(day: string): string {
  return schoolDay(instantOf(day) - 12 * 60 * 60 * 1000);
}

/**
 * Replay a school morning on the demo school, on a day made a school day of its calendar
 * when it was none (see makeDemoSchoolDay). At 21:00 the evening before, two pupils of
 * one class turn yellow. At 04:30 one more pupil turns red, and at 06:30 one of the
 * yellow pupils is green again. Then everyone passes the gates in the
 * staggered windows (see replayGateMorning). Each step is a real sync against the bureau
 * simulator with the clock set to that time; the dispatcher (running in this process or
 * in the server) sends the notices to the DingTalk simulator, and the replay waits for
 * them for at most `waitMs`.
 */
export async function replayMorning(ctx: AppContext, simulators: Simulators, options: { waitMs?: number } = {}): Promise<MorningReport> {
  const school = await getSchoolByCodeOrThrow(ctx, DEMO_SCHOOL.code);
  const day = replayDay(ctx.now());
  await makeDemoSchoolDay(ctx, day);
  // The steps run with the clock set back to 21:00, so the bureau must first return the codes the data already contains.
  await restoreBureauCodes(ctx, school.id, simulators.bureau);
  const deliveredBefore = countDeliveries(simulators.dingtalk);
  const replayStart = instantOf(previousDay(day), '21:00');
  const earlierNotices = new Set(
    (await ctx.db.selectFrom('outbox').select('id').where('school_id', '=', school.id).where('created_at', '>=', replayStart).execute()).map((r) => r.id),
  );

  const picks = await pickPupils(ctx, school.id, day);
  if (picks.length < 3) throw new Error('the demo school has fewer than two pupils to turn yellow in 二(3)班 or no green pupil in 三(5)班; reset data/demo');
  const [first, second, third] = picks;

  const steps: MorningStep[] = [];
  const runStep = async (time: string, date: string, label: string) => {
    const at = instantOf(date, time);
    const stepStart = Date.now();
    const stepCtx: AppContext = { ...ctx, now: () => at + (Date.now() - stepStart) };
    const result = await runSyncWhenFree(stepCtx, school.id);
    steps.push({ at: formatLocalDateTime(at), label, run: { runId: result.runId, status: result.status, total: result.total, changes: result.changes, failed: result.failed, counts: result.counts } });
  };

  // The bureau's updatedAt is set a few minutes before each step's sync, on the replayed day.
  const before = (date: string, time: string) => instantOf(date, time) - 5 * 60_000;
  simulators.bureau.setCode(first.idNumber, 'yellow', { reason: '时空伴随', at: before(previousDay(day), '21:00') });
  simulators.bureau.setCode(second.idNumber, 'yellow', { reason: '时空伴随', at: before(previousDay(day), '21:00') });
  await runStep('21:00', previousDay(day), '晚间同步：二(3)班两名学生转黄码');

  simulators.bureau.setCode(third.idNumber, 'red', { reason: '密切接触者', at: before(day, '04:30') });
  await runStep('04:30', day, '凌晨同步：一名学生转红码');

  simulators.bureau.setCode(first.idNumber, 'green', { at: before(day, '06:30') });
  await runStep('06:30', day, '早间同步：一名黄码学生恢复绿码');

  const gate = await replayGateMorning(ctx, day);

  const runIds = steps.map((s) => s.run.runId);
  const notices = await waitForNotices(ctx, school.id, replayStart, earlierNotices, options.waitMs ?? 30_000);
  const phoneRequests = await ctx.db
    .selectFrom('inbox_messages')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('school_id', '=', school.id)
    .where('kind', 'like', '%phone%')
    .where('created_at', '>=', instantOf(previousDay(day), '21:00'))
    .executeTakeFirst();

  const deliveries = collectDeliveries(simulators.dingtalk).slice(deliveredBefore);
  const recipients = await sampleRecipients(ctx, school.id);
  const codeChangeTo = (isRecipient: (userId: string) => boolean) =>
    deliveries.find((delivery) => isRecipient(delivery.userId) && delivery.text.startsWith('健康码变化'))?.text ?? null;
  ctx.log.info({ runIds, notices }, 'demo morning replayed');

  return {
    day,
    steps,
    changed: await describeChanges(ctx, picks, runIds),
    notices,
    dingtalkDeliveries: deliveries.length,
    sampleNotices: {
      headTeacher: codeChangeTo((userId) => userId === recipients.headTeacher),
      management: codeChangeTo((userId) => recipients.management.has(userId)),
    },
    phoneRequests: Number(phoneRequests?.count ?? 0),
    gate,
  };
}

/**
 * Run a sync, waiting up to a minute while a scheduled run of the same school (the
 * server's polling, say) finishes first.
 */
async function runSyncWhenFree(ctx: AppContext, schoolId: string): Promise<SyncRunResult> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await runSync(ctx, schoolId, 'demo');
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'SYNC_ALREADY_RUNNING') || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

interface PickedPupil {
  personId: string;
  idNumber: string;
  name: string;
  className: string;
}

/**
 * Pick two pupils of 二(3)班 to turn yellow and one of 三(5)班 to turn red, green ones,
 * different on most replays. In 二(3)班 nobody a morning check of `day` marks present is
 * picked, so the gate refuses no pupil the check has in class. Without a check the picks
 * avoid the demo's absentees (listDemoAbsentees), who stay at home, so one yellow pupil
 * is refused at the gate. With the seeded check only those absentees remain, and when
 * fewer than two of them are green an already yellow one is taken (no change for them).
 */
export async function pickPupils(ctx: AppContext, schoolId: string, day: string): Promise<PickedPupil[]> {
  const rows = await ctx.db
    .selectFrom('persons')
    .innerJoin('classes', 'classes.id', 'persons.class_id')
    .select(['persons.id', 'persons.name', 'persons.id_number_enc', 'classes.name as className'])
    .where('persons.school_id', '=', schoolId)
    .where('classes.name', 'in', ['二(3)班', '三(5)班'])
    .orderBy('persons.student_number')
    .execute();
  const codes = await getCurrentCodes(ctx, rows.map((r) => r.id));
  const isGreen = (id: string) => {
    const code = codes.get(id);
    return !code || code.color === 'green' || code.fetchedAt === null;
  };
  const withId = rows.filter((r) => r.id_number_enc !== null);
  const offset = Math.floor(Math.random() * 10);

  const present = await listMarkedPresent(ctx, schoolId, day);
  const absentees = new Set(await listDemoAbsentees(ctx, schoolId));
  const notPresent = withId.filter((r) => r.className === '二(3)班' && !present.has(r.id));
  const greenAway = notPresent.filter((r) => isGreen(r.id) && !absentees.has(r.id));
  const greenAbsent = notPresent.filter((r) => isGreen(r.id) && absentees.has(r.id));
  const others = notPresent.filter((r) => !isGreen(r.id));
  // Start at `offset` when the pool has room for it (the class without a check); the seeded check leaves three absentees.
  let pool = greenAway;
  if (pool.length < 2) pool = greenAbsent.length >= 2 ? greenAbsent : [...greenAbsent, ...others];
  const start = pool.length > 2 ? offset % (pool.length - 1) : 0;
  const inClass23 = pool.slice(start, start + 2);
  const inClass35 = withId.filter((r) => r.className === '三(5)班' && isGreen(r.id)).slice(offset, offset + 1);

  return [...inClass23, ...inClass35].map((r) => ({ personId: r.id, idNumber: ctx.cipher.decrypt(r.id_number_enc!), name: r.name, className: r.className }));
}

/** List the pupils a morning check of `day` marks present. */
async function listMarkedPresent(ctx: AppContext, schoolId: string, day: string): Promise<Set<string>> {
  const rows = await ctx.db
    .selectFrom('daily_checks')
    .select('person_id')
    .where('school_id', '=', schoolId)
    .where('day', '=', day)
    .where('session', '=', 'morning')
    .where('status', '=', 'present')
    .execute();
  return new Set(rows.map((row) => row.person_id));
}

const SHORT_COLOR_NAMES: Record<string, string> = { green: '绿', yellow: '黄', red: '红', unknown: '未知' };

/**
 * Describe each picked pupil's colours as the replay's sync runs recorded them, for example
 * 未同步→黄→绿, so the summary agrees with the notices, which name the same changes.
 */
async function describeChanges(ctx: AppContext, picks: PickedPupil[], runIds: string[]): Promise<MorningReport['changed']> {
  const rows = await ctx.db
    .selectFrom('health_code_changes')
    .select(['person_id', 'from_color', 'to_color'])
    .where('person_id', 'in', picks.map((pick) => pick.personId))
    .where('sync_run_id', 'in', runIds)
    .orderBy('changed_at')
    .orderBy('id')
    .execute();

  return picks.map((pick) => {
    const changes = rows.filter((row) => row.person_id === pick.personId);
    const colors = changes.length === 0 ? [] : [changes[0].from_color, ...changes.map((change) => change.to_color)];
    const names = colors.map((color) => (color === null ? '未同步' : (SHORT_COLOR_NAMES[color] ?? color)));
    return { name: pick.name, className: pick.className, colors: names.join('→') };
  });
}

/** Wait until the notices the replay queued (rows not in `earlier`) have left the waiting states. */
async function waitForNotices(ctx: AppContext, schoolId: string, since: number, earlier: Set<string>, waitMs: number): Promise<MorningReport['notices']> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const all = await ctx.db
      .selectFrom('outbox')
      .select(['id', 'status'])
      .where('school_id', '=', schoolId)
      .where('channel', '!=', 'inbox')
      .where('created_at', '>=', since)
      .execute();
    const rows = all.filter((row) => !earlier.has(row.id));
    const count = (statuses: string[]) => rows.filter((r) => statuses.includes(r.status)).length;
    const report = {
      queued: rows.length,
      sent: count(['sent']),
      filtered: count(['filtered']),
      waiting: count(['pending', 'sending', 'confirming']),
      failed: count(['failed', 'dead']),
    };
    if (report.waiting === 0 || Date.now() > deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function countDeliveries(dingtalk: DingTalkSimulator): number {
  return collectDeliveries(dingtalk).length;
}

/** Collect every work notice the simulator received, oldest first, with its recipient. */
function collectDeliveries(dingtalk: DingTalkSimulator): Array<{ userId: string; text: string }> {
  const all: Array<{ at: number; userId: string; text: string }> = [];
  for (const list of Object.values(dingtalk.messages())) {
    for (const delivery of list) all.push({ at: deliveryTime(delivery), userId: delivery.userId, text: deliveryText(delivery) });
  }
  return all.sort((a, b) => a.at - b.at).map(({ userId, text }) => ({ userId, text }));
}

/** Look up the DingTalk user ids of the head teacher of 二(3)班 (the class the 21:00 step changes) and of the management staff. */
async function sampleRecipients(ctx: AppContext, schoolId: string): Promise<{ headTeacher: string | null; management: Set<string> }> {
  const teacher = await ctx.db
    .selectFrom('classes')
    .innerJoin('persons', 'persons.id', 'classes.head_teacher_id')
    .select('persons.dingtalk_user_id')
    .where('classes.school_id', '=', schoolId)
    .where('classes.name', '=', '二(3)班')
    .executeTakeFirst();
  const managers = await listManagement(ctx, schoolId);
  const management = new Set(managers.map((person) => person.dingtalk_user_id).filter((id): id is string => id !== null));
  return { headTeacher: teacher?.dingtalk_user_id ?? null, management };
}

function deliveryTime(delivery: WorkDelivery): number {
  return delivery.receivedAt;
}

function deliveryText(delivery: WorkDelivery): string {
  return `${delivery.title}\n${delivery.text}`;
}
