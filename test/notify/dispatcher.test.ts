import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dispatchOnce, startDispatcherLoop } from '../../src/modules/notify/dispatcher.js';
import { enqueueNotice, type NoticeInput } from '../../src/modules/notify/outbox.js';
import { createDingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { claimDueSendsQuery } from '../../src/modules/notify/store.js';
import { DIALECTS } from '../helpers/db.js';
import { buildSchool, buildStaff } from '../helpers/factories.js';
import { startHarness, TEST_DISPATCH, type NotifyHarness } from './harness.js';

let counter = 0;

function workNotice(schoolId: string, overrides: Partial<NoticeInput> = {}): NoticeInput {
  counter += 1;
  return {
    schoolId,
    channel: 'dingtalk_work',
    kind: 'code_change',
    recipientDingtalkId: `dt-user-${counter}`,
    title: '健康码变化提醒',
    body: `### 健康码变化\n\n学生 测试${counter} 的健康码由绿码变为黄码（09:00）。`,
    idempotencyKey: `test-${counter}-${Math.random()}`,
    ...overrides,
  };
}

function robotNotice(schoolId: string, index: number): NoticeInput {
  counter += 1;
  return {
    schoolId,
    channel: 'dingtalk_robot',
    kind: 'school_summary',
    title: `防控汇总 ${index}`,
    body: `### 防控汇总 ${index}\n\n今日新增黄码 ${index} 人。`,
    idempotencyKey: `robot-${counter}-${Math.random()}`,
  };
}

describe.each(DIALECTS)('%s: notice dispatcher', (dialect) => {
  let h: NotifyHarness;
  let schoolId: string;

  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    h.sim.reset();
    await h.sim.clearFaults();
    h.advance(24 * 60 * 60_000);
    // Each test starts with an empty queue, so counts only see its own notices.
    await h.t.ctx.db.deleteFrom('outbox').execute();
    await h.t.ctx.db.deleteFrom('notify_rate_slots').execute();
    schoolId = (await buildSchool(h.t.ctx)).id;
  });

  async function outboxRow(key: string) {
    return h.t.ctx.db.selectFrom('outbox').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  }

  it('sends a notice committed after the wake-up', async () => {
    const slowPoll = { ...h.t.ctx, config: Object.freeze({ ...h.t.ctx.config, notify: { ...h.t.ctx.config.notify, pollIntervalMs: 60_000 } }) };
    const stop = startDispatcherLoop(slowPoll, h.client, TEST_DISPATCH);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const notice = workNotice(schoolId, { recipientDingtalkId: 'dt-late-commit' });
      // The wake-up fires inside the transaction, before the row is visible to others.
      await h.t.ctx.db.transaction().execute(async (trx) => {
        await enqueueNotice(trx, notice, h.now());
        await new Promise((resolve) => setTimeout(resolve, 300));
      });

      const deadline = Date.now() + 1_500;
      while (!h.sim.messages()['dt-late-commit'] && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(h.sim.messages()['dt-late-commit']).toHaveLength(1);
    } finally {
      await stop();
    }
  });

  it('claims with one locking statement', () => {
    const { sql } = claimDueSendsQuery(h.t.ctx.db, dialect, { now: 1, leaseMs: 1, token: 't', limit: 10 }).compile();
    expect(sql).toMatch(/^update "outbox" set/);
    expect(sql).toContain('returning *');
    if (dialect === 'postgres') expect(sql).toContain('for update skip locked');
    else expect(sql).not.toContain('for update');
  });

  it('delivers a work notice and confirms it', async () => {
    const teacher = await buildStaff(h.t.ctx, schoolId, 'head_teacher');
    const notice = workNotice(schoolId, { recipientPersonId: teacher.id, recipientDingtalkId: teacher.dingtalk_user_id });
    expect(await enqueueNotice(h.t.ctx.db, notice, h.now())).toBe(true);

    const copy = await h.t.ctx.db.selectFrom('inbox_messages').selectAll().where('recipient_person_id', '=', teacher.id).execute();
    expect(copy).toHaveLength(1);
    expect(copy[0].title).toBe(notice.title);

    const first = await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect(first.submitted).toBe(1);
    expect((await outboxRow(notice.idempotencyKey)).status).toBe('confirming');

    h.advance(1_000);
    const second = await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect(second.sent).toBe(1);
    const row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('sent');
    expect(row.sent_at).toBe(h.now());
    expect(row.attempts).toBe(1);

    const received = h.sim.messages()[teacher.dingtalk_user_id!];
    expect(received).toHaveLength(1);
    expect(received[0].text).toBe(notice.body);
    expect(received[0].title).toBe(notice.title);
  });

  it('copies every channel to the inbox at once', async () => {
    await h.sim.setFaults({ down: 'error503' });
    const work = workNotice(schoolId, { recipientPersonId: 'person-work' });
    const robot = { ...robotNotice(schoolId, 7), recipientRole: 'management' };
    const inboxOnly = workNotice(schoolId, { channel: 'inbox', recipientDingtalkId: null, recipientGuardianId: 'guardian-inbox' });
    for (const notice of [work, robot, inboxOnly]) expect(await enqueueNotice(h.t.ctx.db, notice, h.now())).toBe(true);
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);

    const copyOf = async (key: string) => {
      const row = await outboxRow(key);
      return h.t.ctx.db.selectFrom('inbox_messages').selectAll().where('outbox_id', '=', row.id).executeTakeFirstOrThrow();
    };
    expect((await copyOf(work.idempotencyKey)).recipient_person_id).toBe('person-work');
    expect((await copyOf(robot.idempotencyKey)).recipient_role).toBe('management');
    expect((await copyOf(inboxOnly.idempotencyKey)).recipient_guardian_id).toBe('guardian-inbox');
    expect((await outboxRow(work.idempotencyKey)).status).toBe('pending');
    expect((await outboxRow(inboxOnly.idempotencyKey)).status).toBe('sent');
  });

  it('batches identical text into one call', async () => {
    const body = '### 明天请勿到校\n\n请家长留意孩子健康状况。';
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const notice = workNotice(schoolId, { body, title: '到校提醒' });
      keys.push(notice.idempotencyKey);
      await enqueueNotice(h.t.ctx.db, notice, h.now());
    }
    await h.settle();

    expect(h.sim.stats().workSends).toBe(1);
    expect(h.sim.stats().workRecipients).toBe(3);
    for (const key of keys) expect((await outboxRow(key)).status).toBe('sent');
  });

  it('marks a same-day duplicate as filtered', async () => {
    const first = workNotice(schoolId, { recipientDingtalkId: 'dt-same-user', body: '相同内容' });
    const second = workNotice(schoolId, { recipientDingtalkId: 'dt-same-user', body: '相同内容' });
    await enqueueNotice(h.t.ctx.db, first, h.now());
    await enqueueNotice(h.t.ctx.db, second, h.now());
    await h.settle();

    const statuses = [(await outboxRow(first.idempotencyKey)).status, (await outboxRow(second.idempotencyKey)).status].sort();
    expect(statuses).toEqual(['filtered', 'sent']);
    expect(h.sim.messages()['dt-same-user']).toHaveLength(1);
    const filtered = [await outboxRow(first.idempotencyKey), await outboxRow(second.idempotencyKey)].find((r) => r.status === 'filtered')!;
    expect(filtered.delivery_note).toContain('相同内容');
  });

  it('fails a notice to an invalid user', async () => {
    const notice = workNotice(schoolId, { recipientDingtalkId: 'dt-left-the-school' });
    await h.sim.setFaults({ invalidUserIds: ['dt-left-the-school'] });
    await enqueueNotice(h.t.ctx.db, notice, h.now());
    await h.settle();

    const row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('failed');
    expect(row.last_error).toContain('无效');
    expect(row.attempts).toBe(1);
    expect(h.sim.stats().invalid).toBe(1);
  });

  it('fails a recipient without a DingTalk account', async () => {
    const guardianless = workNotice(schoolId, { recipientDingtalkId: null, recipientGuardianId: 'guardian-without-dingtalk' });
    await enqueueNotice(h.t.ctx.db, guardianless, h.now());
    const report = await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);

    expect(report.failed).toBe(1);
    const row = await outboxRow(guardianless.idempotencyKey);
    expect(row.status).toBe('failed');
    expect(row.last_error).toContain('没有钉钉账号');
    expect(h.sim.stats().workSends).toBe(0);
    const copy = await h.t.ctx.db.selectFrom('inbox_messages').selectAll().where('outbox_id', '=', row.id).executeTakeFirst();
    expect(copy?.recipient_guardian_id).toBe('guardian-without-dingtalk');
  });

  it('never sends an idempotency key twice', async () => {
    const notice = workNotice(schoolId, { recipientDingtalkId: 'dt-once' });
    expect(await enqueueNotice(h.t.ctx.db, notice, h.now())).toBe(true);
    await h.settle();
    expect(await enqueueNotice(h.t.ctx.db, { ...notice, body: `${notice.body}（重复作业）` }, h.now())).toBe(false);
    await h.settle();

    const rows = await h.t.ctx.db.selectFrom('outbox').selectAll().where('idempotency_key', '=', notice.idempotencyKey).execute();
    expect(rows).toHaveLength(1);
    const copies = await h.t.ctx.db.selectFrom('inbox_messages').selectAll().where('outbox_id', '=', rows[0].id).execute();
    expect(copies).toHaveLength(1);
    expect(h.sim.messages()['dt-once']).toHaveLength(1);
    expect(h.sim.stats().workSends).toBe(1);
  });

  it('reads failed users and sends them again', async () => {
    const notice = workNotice(schoolId, { recipientDingtalkId: 'dt-flaky' });
    await enqueueNotice(h.t.ctx.db, notice, h.now());
    await h.sim.setFaults({ failUserIds: ['dt-flaky'] });
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    h.advance(1_000);
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);

    let row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('pending');
    expect(row.last_error).toContain('发送失败');

    await h.sim.clearFaults();
    h.advance(60_000);
    await h.settle();
    row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('sent');
    expect(row.attempts).toBe(2);
    expect(h.sim.messages()['dt-flaky']).toHaveLength(1);
  });

  it('counts a filtered resend of an uncertain attempt as sent', async () => {
    const notice = workNotice(schoolId, { recipientDingtalkId: 'dt-uncertain' });
    await enqueueNotice(h.t.ctx.db, notice, h.now());
    // DingTalk takes the send but replies after the client's 2 s timeout.
    await h.client.getAccessToken();
    await h.sim.setFaults({ replyDelayMs: 2_500 });
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);

    let row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('pending');
    expect(row.uncertain).toBe(1);
    expect(h.sim.messages()['dt-uncertain']).toHaveLength(1);

    await h.sim.clearFaults();
    h.advance(60_000);
    await h.settle();
    row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('sent');
    expect(row.delivery_note).toContain('此前的发送已送达');
    expect(h.sim.messages()['dt-uncertain']).toHaveLength(1);
    expect(h.sim.stats().filtered).toBe(1);
  });

  it('keeps notices through an hour of DingTalk being down', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      const notice = workNotice(schoolId);
      keys.push(notice.idempotencyKey);
      await enqueueNotice(h.t.ctx.db, notice, h.now());
    }
    await h.sim.setFaults({ down: 'refuse' });

    const outageEnds = h.now() + 60 * 60_000;
    while (h.now() < outageEnds) {
      await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
      h.advance(60_000);
    }
    const during = await h.t.ctx.db.selectFrom('outbox').select(['status', 'attempts', 'uncertain']).where('idempotency_key', 'in', keys).execute();
    expect(during.every((row) => row.status === 'pending')).toBe(true);
    expect(Math.max(...during.map((row) => row.attempts))).toBeLessThan(h.t.ctx.config.notify.maxAttempts);

    await h.sim.clearFaults();
    h.advance(30 * 60_000);
    await h.settle();
    for (const key of keys) expect((await outboxRow(key)).status).toBe('sent');
    expect(h.sim.stats().delivered).toBe(5);
    expect(h.sim.stats().duplicateDeliveries).toBe(0);
  });

  it('kills a notice after the last attempt and tells the admin', async () => {
    const notice = workNotice(schoolId, { recipientDingtalkId: 'dt-never' });
    await enqueueNotice(h.t.ctx.db, notice, h.now());
    await h.sim.setFaults({ down: 'error503' });

    for (let pass = 0; pass < 12; pass++) {
      await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
      h.advance(31 * 60_000);
    }
    const row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('dead');
    expect(row.attempts).toBe(h.t.ctx.config.notify.maxAttempts);
    expect(row.last_error).toContain('HTTP 503');

    const admin = await h.t.ctx.db.selectFrom('inbox_messages').selectAll().where('school_id', '=', schoolId).where('kind', '=', 'notice_dead').execute();
    expect(admin).toHaveLength(1);
    expect(admin[0].recipient_role).toBe('school_admin');
    expect(admin[0].body).toContain(notice.title);
  });

  it('never sends a row from two dispatchers', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 40; i++) {
      const notice = workNotice(schoolId);
      keys.push(notice.idempotencyKey);
      await enqueueNotice(h.t.ctx.db, notice, h.now());
    }
    const second = createDingTalkClient(h.t.ctx.config.dingtalk, h.t.ctx.log, { now: h.now });
    const reports = await Promise.all([
      dispatchOnce(h.t.ctx, h.client, { ...TEST_DISPATCH, batchSize: 25 }),
      dispatchOnce(h.t.ctx, second, { ...TEST_DISPATCH, batchSize: 25 }),
    ]);
    expect(reports[0].claimed + reports[1].claimed).toBe(40);

    await h.settle();
    expect(h.sim.stats().workRecipients).toBe(40);
    expect(h.sim.stats().delivered).toBe(40);
    for (const key of keys) expect((await outboxRow(key)).status).toBe('sent');
  });

  it('puts rows back when the claim runs out', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const notice = workNotice(schoolId);
      keys.push(notice.idempotencyKey);
      await enqueueNotice(h.t.ctx.db, notice, h.now());
    }
    // The real client, with each send taking 40 s on the shared clock.
    const slow = {
      ...h.client,
      async sendWorkNotice(input: Parameters<typeof h.client.sendWorkNotice>[0]) {
        const taskId = await h.client.sendWorkNotice(input);
        h.advance(40_000);
        return taskId;
      },
    };
    const report = await dispatchOnce(h.t.ctx, slow, { ...TEST_DISPATCH, concurrency: 1, leaseMs: 60_000, callBudgetMs: 15_000 });

    expect(report.submitted).toBe(2);
    expect(report.deferred).toBe(1);
    const last = await outboxRow(keys[2]);
    expect(last.status).toBe('pending');
    expect(last.attempts).toBe(0);
    expect(h.sim.stats().workSends).toBe(2);
  });

  it('rejects a wrong robot secret without retrying', async () => {
    const wrong = createDingTalkClient({ ...h.t.ctx.config.dingtalk, robotSecret: 'SECwrong' }, h.t.ctx.log, { now: h.now });
    const notice = robotNotice(schoolId, 1);
    await enqueueNotice(h.t.ctx.db, notice, h.now());

    const report = await dispatchOnce(h.t.ctx, wrong, TEST_DISPATCH);
    expect(report.dead).toBe(1);
    const row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('dead');
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('310000');
    expect(h.sim.stats().robotRejected['310000']).toBe(1);

    h.advance(60 * 60_000);
    await dispatchOnce(h.t.ctx, wrong, TEST_DISPATCH);
    expect(h.sim.stats().robotRejected['310000']).toBe(1);

    const admin = await h.t.ctx.db.selectFrom('inbox_messages').selectAll().where('school_id', '=', schoolId).where('kind', '=', 'notice_dead').execute();
    expect(admin).toHaveLength(1);
    expect(admin[0].body).toContain('310000');
  });

  it('waits after 130101 and retries', async () => {
    const notice = robotNotice(schoolId, 2);
    await enqueueNotice(h.t.ctx.db, notice, h.now());
    await h.sim.setFaults({ busy: { errcode: 130101, errmsg: 'send too fast', times: 1, path: '/robot/send' } });

    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    let row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(0);
    expect(row.next_attempt_at).toBe(h.now() + 60_000);

    h.advance(30_000);
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect((await outboxRow(notice.idempotencyKey)).status).toBe('pending');

    h.advance(30_000);
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    row = await outboxRow(notice.idempotencyKey);
    expect(row.status).toBe('sent');
    expect(h.sim.stats().robotAccepted).toBe(1);
  });

  it('merges robot notices beyond 20 a minute into a digest', async () => {
    const first = Array.from({ length: 18 }, (_, i) => robotNotice(schoolId, i));
    for (const notice of first) await enqueueNotice(h.t.ctx.db, notice, h.now());
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect(h.sim.stats().robotAccepted).toBe(18);

    h.advance(5_000);
    const burst = Array.from({ length: 10 }, (_, i) => robotNotice(schoolId, 100 + i));
    for (const notice of burst) await enqueueNotice(h.t.ctx.db, notice, h.now());
    const report = await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);

    expect(report.digests).toBe(1);
    expect(h.sim.stats().robotAccepted).toBe(19);
    expect(h.sim.stats().robotRejected['130101']).toBeUndefined();
    for (const notice of burst) {
      const row = await outboxRow(notice.idempotencyKey);
      expect(row.status).toBe('sent');
      expect(row.delivery_note).toContain('汇总');
    }
    const digest = h.sim.robotMessages().at(-1)!;
    expect(digest.title).toBe('汇总通知（10 条）');
    for (const notice of burst) expect(digest.text).toContain(notice.title);
  });

  it('defers robot notices when no slot is free', async () => {
    const many = Array.from({ length: 20 }, (_, i) => robotNotice(schoolId, 200 + i));
    for (const notice of many) await enqueueNotice(h.t.ctx.db, notice, h.now());
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect(h.sim.stats().robotAccepted).toBe(20);

    const late = robotNotice(schoolId, 300);
    await enqueueNotice(h.t.ctx.db, late, h.now());
    const report = await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect(report.deferred).toBe(1);
    const row = await outboxRow(late.idempotencyKey);
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(0);

    h.advance(60_000);
    await dispatchOnce(h.t.ctx, h.client, TEST_DISPATCH);
    expect((await outboxRow(late.idempotencyKey)).status).toBe('sent');
    expect(h.sim.stats().robotRejected['130101']).toBeUndefined();
  });
});
