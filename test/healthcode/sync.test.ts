import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markSchoolDays } from '../../src/modules/calendar/service.js';
import { getCurrentCode, getCurrentCodes, recoverInterruptedRuns, runSync, startSync } from '../../src/modules/healthcode/service.js';
import { RUN_STALE_AFTER_MS } from '../../src/modules/healthcode/sync.js';
import { AppError } from '../../src/shared/errors.js';
import { newId } from '../../src/shared/ids.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSyncSchool, codeOf, inboxOf, outboxOf, startBureau } from './harness.js';

const EVENING = instantOf('2026-12-06', '21:00');
const MORNING = instantOf('2026-12-07', '06:30');
const LESSONS = instantOf('2026-12-07', '10:15');

describe.each(DIALECTS)('health-code sync on %s', (dialect) => {
  let t: TestDb;
  let bureau: Awaited<ReturnType<typeof startBureau>>;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    bureau = await startBureau();
  });

  afterAll(async () => {
    await bureau.close();
    await t.close();
  });

  it('first sync stores green codes without notices', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    const result = await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect(result).toMatchObject({ status: 'succeeded', total: 3, processed: 3, failed: 0, changes: 0 });
    expect(result.counts).toEqual({ green: 3, yellow: 0, red: 0, unknown: 0, stale: 0 });
    expect(await outboxOf(t.ctx, s.school.id)).toHaveLength(0);
    const code = await getCurrentCode(t.ctx, s.pupils[0].person.id);
    expect(code).toMatchObject({ color: 'green', isStale: false, fetchedAt: LESSONS });

    const run = await t.ctx.db.selectFrom('sync_runs').selectAll().where('id', '=', result.runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'succeeded', total: 3, processed: 3, changes: 0, finished_at: LESSONS });
    expect(JSON.parse(run.counts)).toEqual(result.counts);
  });

  it('records changes and notifies head teacher and management during lessons', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    bureau.simulator.setCode(s.pupils[0].idNumber, 'yellow', { reason: '时空伴随' });

    t.setNow(LESSONS + 60_000);
    const result = await runSync(t.ctx, s.school.id, 'poll', { client: bureau.client });
    expect(result).toMatchObject({ status: 'succeeded', changes: 1 });

    const changes = await t.ctx.db.selectFrom('health_code_changes').selectAll().where('school_id', '=', s.school.id).execute();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ person_id: s.pupils[0].person.id, from_color: 'green', to_color: 'yellow', sync_run_id: result.runId, reason: '时空伴随' });
    expect(changes[0].notified_at).toBe(LESSONS + 60_000);

    const outbox = (await outboxOf(t.ctx, s.school.id)).filter((n) => n.channel === 'dingtalk_work');
    const recipients = outbox.map((n) => n.recipient_person_id).sort();
    expect(recipients).toEqual([s.classes[0].teacher.id, s.principal.id].sort());
    expect(outbox.every((n) => n.kind === 'code_change' && n.channel === 'dingtalk_work')).toBe(true);
    expect(outbox[0].body).toContain('绿码 → **黄码**');
    // Outside the stay-home window guardians hear nothing.
    expect(outbox.some((n) => n.kind === 'stay_home')).toBe(false);
    // The officer has no DingTalk: the text lands in the app, and the admin is asked to phone.
    const inbox = await inboxOf(t.ctx, s.school.id);
    expect(inbox.find((m) => m.recipient_person_id === s.officer.id)?.kind).toBe('code_change');
    expect(inbox.find((m) => m.kind === 'phone_staff' && m.recipient_role === 'school_admin')?.title).toContain('请电话联系');
    // DingTalk notices have their in-app copy too.
    expect(inbox.some((m) => m.recipient_person_id === s.classes[0].teacher.id)).toBe(true);
  });

  it('merges many changes of one class into one digest per recipient', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { classes: 2, pupilsPerClass: 3 });
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    for (const pupil of s.classes[0].pupils) bureau.simulator.setCode(pupil.idNumber, 'red');
    bureau.simulator.setCode(s.classes[1].pupils[0].idNumber, 'yellow');

    t.setNow(LESSONS + 120_000);
    const result = await runSync(t.ctx, s.school.id, 'poll', { client: bureau.client });
    expect(result.changes).toBe(4);

    const outbox = (await outboxOf(t.ctx, s.school.id)).filter((n) => n.channel === 'dingtalk_work');
    const toFirst = outbox.filter((n) => n.recipient_person_id === s.classes[0].teacher.id);
    expect(toFirst).toHaveLength(1);
    expect(toFirst[0].kind).toBe('code_change_digest');
    expect(toFirst[0].idempotency_key).toBe(`digest:${result.runId}:${s.classes[0].teacher.id}`);
    for (const pupil of s.classes[0].pupils) expect(toFirst[0].body).toContain(pupil.person.name);
    const toSecond = outbox.filter((n) => n.recipient_person_id === s.classes[1].teacher.id);
    expect(toSecond).toHaveLength(1);
    expect(toSecond[0].kind).toBe('code_change');
    const toPrincipal = outbox.filter((n) => n.recipient_person_id === s.principal.id);
    expect(toPrincipal).toHaveLength(1);
    expect(toPrincipal[0].body).toContain('共 4 人');
  });

  it('tells guardians to stay home in the evening, once across evening and morning runs', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3, guardianWithoutDingtalk: 1 });
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    const [a, b] = s.pupils;
    bureau.simulator.setCode(a.idNumber, 'yellow');
    bureau.simulator.setCode(b.idNumber, 'yellow');

    t.setNow(EVENING);
    await runSync(t.ctx, s.school.id, 'schedule', { client: bureau.client });
    t.setNow(MORNING - 2 * 3600_000);
    await runSync(t.ctx, s.school.id, 'schedule', { client: bureau.client });

    const stayHome = (await outboxOf(t.ctx, s.school.id)).filter((n) => n.kind === 'stay_home');
    expect(stayHome).toHaveLength(1);
    expect(stayHome[0].recipient_guardian_id).toBe(a.guardianId);
    expect(stayHome[0].title).toContain('明天（12月7日）请勿到校');
    expect(stayHome[0].body).toContain('2026-12-06 21:00');
    // b's guardian has no DingTalk: one phone request to the head teacher, not one per run.
    const phone = (await inboxOf(t.ctx, s.school.id)).filter((m) => m.kind === 'phone_guardian');
    expect(phone).toHaveLength(1);
    expect(phone[0].recipient_person_id).toBe(s.classes[0].teacher.id);
    expect(phone[0].body).toContain('请勿到校');

    // Back to green before school: the guardian may send the pupil again.
    bureau.simulator.setCode(a.idNumber, 'green');
    t.setNow(MORNING);
    await runSync(t.ctx, s.school.id, 'schedule', { client: bureau.client });
    const mayReturn = (await outboxOf(t.ctx, s.school.id)).filter((n) => n.kind === 'may_return');
    expect(mayReturn).toHaveLength(1);
    expect(mayReturn[0].title).toContain('今天（12月7日）可以到校');
    expect(mayReturn[0].body).toContain('2026-12-07 06:30');
  });

  it('sends no stay-home notice before a day without school', async () => {
    t.setNow(instantOf('2026-12-11', '10:15'));
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 2 });
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    bureau.simulator.setCode(s.pupils[0].idNumber, 'yellow');
    await markSchoolDays(t.ctx, { user: null, name: '测试', ip: null }, s.school, { from: '2026-12-14', isSchoolDay: false, reason: '流感停课' });

    // Friday evening is about Saturday; Sunday evening about Monday, which the school closed.
    t.setNow(instantOf('2026-12-11', '21:00'));
    await runSync(t.ctx, s.school.id, 'schedule', { client: bureau.client });
    t.setNow(instantOf('2026-12-13', '21:00'));
    await runSync(t.ctx, s.school.id, 'schedule', { client: bureau.client });
    expect((await outboxOf(t.ctx, s.school.id)).filter((n) => n.kind === 'stay_home')).toEqual([]);

    // Monday evening is about Tuesday, a school day again.
    t.setNow(instantOf('2026-12-14', '21:00'));
    await runSync(t.ctx, s.school.id, 'schedule', { client: bureau.client });
    expect((await outboxOf(t.ctx, s.school.id)).filter((n) => n.kind === 'stay_home')).toHaveLength(1);
  });

  it('turns notFound and unauthorized people unknown', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    bureau.simulator.setUnknown([s.pupils[0].idNumber]);
    bureau.simulator.setUnknown([s.pupils[1].idNumber], 'unauthorized');

    t.setNow(LESSONS + 60_000);
    const result = await runSync(t.ctx, s.school.id, 'poll', { client: bureau.client });
    expect(result.counts).toMatchObject({ green: 1, unknown: 2 });
    expect(result.changes).toBe(2);
    expect(await codeOf(t.ctx, s.pupils[0].person.id)).toMatchObject({ color: 'unknown', reason: '健康码平台无此人记录', fetched_at: LESSONS + 60_000 });
    expect((await codeOf(t.ctx, s.pupils[1].person.id))?.reason).toContain('未授权');
    const digest = (await outboxOf(t.ctx, s.school.id)).find((n) => n.recipient_person_id === s.classes[0].teacher.id)!;
    expect(digest.body).toContain('绿码 → **无记录**');
  });

  it('never turns anyone green during an outage, tells the admin, and lets codes go stale', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    bureau.simulator.setCode(s.pupils[0].idNumber, 'red');
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });

    bureau.simulator.setCode(s.pupils[0].idNumber, 'green');
    bureau.simulator.setFaults({ outage: true });
    const later = LESSONS + 3600_000;
    t.setNow(later);
    const result = await runSync(t.ctx, s.school.id, 'poll', { client: bureau.client });
    bureau.simulator.setFaults({ outage: false });

    expect(result).toMatchObject({ status: 'failed', failed: 3, changes: 0, failedBatches: 1 });
    expect(result.error).toContain('健康码接口返回服务器错误');
    const red = await codeOf(t.ctx, s.pupils[0].person.id);
    expect(red).toMatchObject({ color: 'red', fetched_at: LESSONS, last_attempt_at: later, last_failure: '健康码接口返回服务器错误' });

    const admin = (await inboxOf(t.ctx, s.school.id)).filter((m) => m.kind === 'sync_failed' && m.recipient_role === 'school_admin');
    expect(admin).toHaveLength(1);
    expect(admin[0].recipient_role).toBe('school_admin');
    expect(admin[0].body).toContain('3 人未能获取最新健康码');
    const dingtalk = (await outboxOf(t.ctx, s.school.id)).filter((n) => n.kind === 'sync_failed' && n.channel === 'dingtalk_work');
    expect(dingtalk.map((n) => n.recipient_person_id)).toEqual([s.principal.id]);

    expect((await getCurrentCode(t.ctx, s.pupils[0].person.id)).isStale).toBe(false);
    t.setNow(LESSONS + 24 * 3600_000 + 1);
    const codes = await getCurrentCodes(t.ctx, s.pupils.map((p) => p.person.id));
    expect([...codes.values()].every((c) => c.isStale)).toBe(true);
    expect(codes.get(s.pupils[0].person.id)).toMatchObject({ color: 'red', lastFailure: '健康码接口返回服务器错误' });
  });

  it('fails a run whose only batch fails', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    // 3 attempts per batch; one batch of one: every attempt fails.
    bureau.simulator.setFaults({ sequence: ['error', 'garbage', 'drop'] });
    const result = await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect(result.status).toBe('failed');
    const retry = await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect(retry.status).toBe('succeeded');
  });

  it('fails cleanly when the bureau rejects the signature', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    const wrong = await startBureau({}, { appSecret: 'not-the-secret' });
    try {
      const result = await runSync(t.ctx, s.school.id, 'test', { client: wrong.client });
      expect(result.status).toBe('failed');
      expect(result.error).toContain('401');
      expect(wrong.simulator.stats().byStatus['401']).toBe(1);
      const code = await codeOf(t.ctx, s.pupils[0].person.id);
      expect(code).toMatchObject({ color: 'unknown', fetched_at: null });
      expect(code?.last_failure).toContain('签名校验失败');
      expect((await inboxOf(t.ctx, s.school.id)).some((m) => m.kind === 'sync_failed')).toBe(true);
      const run = await t.ctx.db.selectFrom('sync_runs').selectAll().where('id', '=', result.runId).executeTakeFirstOrThrow();
      expect(run.status).toBe('failed');
    } finally {
      await wrong.close();
    }
  });

  it('refuses a second sync of a school while one runs', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 2 });
    const slow = await startBureau({ latencyMs: 150 });
    try {
      const first = await startSync(t.ctx, s.school.id, 'test', { client: slow.client });
      await expect(runSync(t.ctx, s.school.id, 'test', { client: slow.client })).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING' });
      expect((await first.done).status).toBe('succeeded');
      const again = await runSync(t.ctx, s.school.id, 'test', { client: slow.client });
      expect(again.status).toBe('succeeded');
    } finally {
      await slow.close();
    }
  });

  it('takes over a school whose running sync has a dead heartbeat', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 2 });
    const deadId = newId(LESSONS);
    await t.ctx.db
      .insertInto('sync_runs')
      .values({ id: deadId, school_id: s.school.id, trigger: 'test', status: 'running', started_at: LESSONS, finished_at: null, heartbeat_at: LESSONS, holder: 'gone:1', total: 2, processed: 0, failed: 0, changes: 0, failed_batches: 0, counts: '{}', error: null, resumed_from: null })
      .execute();
    await expect(runSync(t.ctx, s.school.id, 'test', { client: bureau.client })).rejects.toBeInstanceOf(AppError);

    t.setNow(LESSONS + RUN_STALE_AFTER_MS + 1);
    const result = await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect(result.status).toBe('succeeded');
    const dead = await t.ctx.db.selectFrom('sync_runs').selectAll().where('id', '=', deadId).executeTakeFirstOrThrow();
    expect(dead.status).toBe('interrupted');
  });

  it('recovers a crash between batches without queueing a notice twice', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    const crashed = await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });

    // Make the finished run look like one that died after committing a batch: running,
    // stale, with a committed change whose teacher notices were never queued.
    const pupil = s.pupils[0];
    await t.ctx.db.updateTable('sync_runs').set({ status: 'running', finished_at: null, heartbeat_at: LESSONS }).where('id', '=', crashed.runId).execute();
    await t.ctx.db.updateTable('health_codes').set({ color: 'yellow', color_since: LESSONS }).where('person_id', '=', pupil.person.id).execute();
    await t.ctx.db
      .insertInto('health_code_changes')
      .values({ id: newId(LESSONS), school_id: s.school.id, person_id: pupil.person.id, from_color: 'green', to_color: 'yellow', changed_at: LESSONS, sync_run_id: crashed.runId, bureau_updated_at: LESSONS, reason: null, notified_at: null })
      .execute();
    bureau.simulator.setCode(pupil.idNumber, 'yellow');

    t.setNow(LESSONS + RUN_STALE_AFTER_MS + 1);
    const recovered = await recoverInterruptedRuns(t.ctx, { resume: true, client: bureau.client });
    const mine = recovered.filter((r) => r.interruptedRunId === crashed.runId);
    expect(mine).toHaveLength(1);
    const resumed = await mine[0].done!;
    expect(resumed.status).toBe('succeeded');
    // Every pupil was fetched by the crashed run after it started, so the resume has nothing left.
    expect(resumed.total).toBe(0);
    expect(await recoverInterruptedRuns(t.ctx, { resume: true, client: bureau.client })).toHaveLength(0);

    const toTeacher = (await outboxOf(t.ctx, s.school.id)).filter((n) => n.recipient_person_id === s.classes[0].teacher.id && n.channel === 'dingtalk_work');
    expect(toTeacher).toHaveLength(1);
    expect(toTeacher[0].idempotency_key).toMatch(/^code-change:/);
    const runs = await t.ctx.db.selectFrom('sync_runs').selectAll().where('id', '=', crashed.runId).executeTakeFirstOrThrow();
    expect(runs.status).toBe('interrupted');

    // A full re-run finds nothing new to say.
    const before = (await outboxOf(t.ctx, s.school.id)).length;
    await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect((await outboxOf(t.ctx, s.school.id)).length).toBe(before);
  });

  it('syncs a school of several batches, partial on a failed batch', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { classes: 3, pupilsPerClass: 45 });
    for (const pupil of s.pupils.slice(0, 10)) bureau.simulator.setCode(pupil.idNumber, 'yellow');
    const result = await runSync(t.ctx, s.school.id, 'test', { client: bureau.client });
    expect(result).toMatchObject({ status: 'succeeded', total: 135, batches: 2, changes: 10 });
    expect(result.counts).toMatchObject({ green: 125, yellow: 10 });

    // One attempt per batch and one injected error: one batch fails, the other commits.
    const once = await startBureau({}, { maxAttempts: 1 });
    try {
      once.simulator.setFaults({ sequence: ['error'] });
      t.setNow(LESSONS + 60_000);
      const partial = await runSync(t.ctx, s.school.id, 'poll', { client: once.client });
      expect(partial.status).toBe('partial');
      expect(partial.failedBatches).toBe(1);
      expect(partial.failed === 100 || partial.failed === 35).toBe(true);
      expect(partial.counts).toMatchObject({ green: 125, yellow: 10, stale: 0 });
      const admin = (await inboxOf(t.ctx, s.school.id)).filter((m) => m.kind === 'sync_failed' && m.recipient_role === 'school_admin');
      expect(admin).toHaveLength(1);
      expect(admin[0].title).toContain('部分失败');
    } finally {
      await once.close();
    }
  });

  it('rides out every kind of bureau fault with retries', async () => {
    t.setNow(LESSONS);
    const s = await buildSyncSchool(t.ctx, { pupilsPerClass: 3 });
    const flaky = await startBureau({ faults: { sequence: ['error', 'rate_limit', 'timeout', 'garbage', 'drop'], retryAfterSeconds: 1 } }, { maxAttempts: 6 });
    try {
      bureau.simulator.setCode(s.pupils[0].idNumber, 'red');
      flaky.simulator.setCode(s.pupils[0].idNumber, 'red');
      const result = await runSync(t.ctx, s.school.id, 'test', { client: flaky.client });
      expect(result).toMatchObject({ status: 'succeeded', failed: 0, changes: 1 });
      const stats = flaky.simulator.stats();
      expect(stats.requests).toBe(6);
      expect(stats.byStatus).toMatchObject({ '200': 2, '429': 1, hung: 1, dropped: 1 });
    } finally {
      await flaky.close();
    }
  });
});
