import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { createDingTalkClient, DingTalkError, signRobotRequest, type DingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import type { Config } from '../../src/config.js';
import { Writable } from 'node:stream';

const APP = { appKey: 'client-key', appSecret: 'client-secret-value', agentId: '20002', robotSecret: 'SECclient-robot' };
const START = Date.parse('2026-12-07T01:00:00Z');

describe('DingTalk client against the simulator', () => {
  let now = START;
  let sim: DingTalkSimulator;
  let client: DingTalkClient;
  let config: Config['dingtalk'];
  const logLines: string[] = [];
  const log = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );

  beforeAll(async () => {
    sim = await startDingTalkSimulator({
      port: 0,
      ...APP,
      users: { '10012345678': 'dt-mobile-user' },
      robotKeywords: ['防控'],
      robotPenaltyMs: 0,
      now: () => now,
    });
    config = { apiUrl: sim.url, appKey: APP.appKey, appSecret: APP.appSecret, agentId: APP.agentId, robotWebhook: sim.robotWebhook, robotSecret: APP.robotSecret };
    client = createDingTalkClient(config, log, { now: () => now, timeoutMs: 1_000 });
  });
  afterAll(async () => {
    await sim.close();
  });
  afterEach(async () => {
    await sim.clearFaults();
  });

  async function expectDingTalkError(promise: Promise<unknown>): Promise<DingTalkError> {
    try {
      await promise;
    } catch (error) {
      expect(error).toBeInstanceOf(DingTalkError);
      return error as DingTalkError;
    }
    throw new Error('expected a DingTalkError');
  }

  it('caches the access token until shortly before expiry', async () => {
    sim.reset();
    const first = await client.getAccessToken();
    const second = await client.getAccessToken();
    expect(second).toBe(first);
    expect(sim.stats().tokenRequests).toBe(1);

    now += 7200_000 - 6 * 60_000;
    expect(await client.getAccessToken()).toBe(first);
    expect(sim.stats().tokenRequests).toBe(1);

    now += 2 * 60_000;
    await client.getAccessToken();
    expect(sim.stats().tokenRequests).toBe(2);
  });

  it('shares one token request between concurrent callers', async () => {
    const fresh = createDingTalkClient(config, log, { now: () => now });
    sim.reset();
    const tokens = await Promise.all([fresh.getAccessToken(), fresh.getAccessToken(), fresh.getAccessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(sim.stats().tokenRequests).toBe(1);
  });

  it('refreshes a token DingTalk says expired', async () => {
    sim.reset();
    const fresh = createDingTalkClient(config, log, { now: () => now });
    await fresh.getAccessToken();
    sim.expireTokens();

    const taskId = await fresh.sendWorkNotice({ userIds: ['dt-a'], title: '标题', markdown: '令牌过期后重发' });
    expect(taskId).toMatch(/^\d+$/);
    expect(sim.stats().tokenRequests).toBe(2);
    expect(sim.stats().tokensIssued).toBe(2);
    expect(sim.messages()['dt-a']).toHaveLength(1);
  });

  it('rejects wrong app credentials as permanent', async () => {
    const wrong = createDingTalkClient({ ...config, appSecret: 'wrong' }, log, { now: () => now });
    const error = await expectDingTalkError(wrong.getAccessToken());
    expect(error.kind).toBe('permanent');
    expect(error.details.errcode).toBe(40089);
  });

  it('reads the send result of a task', async () => {
    sim.reset();
    await sim.setFaults({ invalidUserIds: ['dt-gone'], failUserIds: ['dt-flaky'] });
    const taskId = await client.sendWorkNotice({ userIds: ['dt-ok', 'dt-gone', 'dt-flaky'], title: '结果', markdown: '查询发送结果' });
    const again = await client.sendWorkNotice({ userIds: ['dt-ok'], title: '结果', markdown: '查询发送结果' });
    sim.markRead('dt-ok');

    const result = await client.getSendResult(taskId);
    expect(result.read).toEqual(['dt-ok']);
    expect(result.invalid).toEqual(['dt-gone']);
    expect(result.failed).toEqual(['dt-flaky']);
    expect((await client.getSendResult(again)).forbidden).toEqual([{ userId: 'dt-ok', code: '143106' }]);
  });

  it('reports ids outside the organisation as invalid', async () => {
    const org = await startDingTalkSimulator({ port: 0, ...APP, memberUserIds: /^demo-staff-\d+$/, now: () => now });
    try {
      const orgClient = createDingTalkClient({ ...config, apiUrl: org.url, robotWebhook: org.robotWebhook }, log, { now: () => now, timeoutMs: 1_000 });
      const taskId = await orgClient.sendWorkNotice({ userIds: ['demo-staff-7', 'no-such-user'], title: '成员', markdown: '组织成员检查' });
      const result = await orgClient.getSendResult(taskId);
      expect(result.unread).toEqual(['demo-staff-7']);
      expect(result.invalid).toEqual(['no-such-user']);
    } finally {
      await org.close();
    }
  });

  it('delivers the same text again on the next day', async () => {
    sim.reset();
    await client.sendWorkNotice({ userIds: ['dt-daily'], title: '每日', markdown: '每日提醒' });
    await client.sendWorkNotice({ userIds: ['dt-daily'], title: '每日', markdown: '每日提醒' });
    expect(sim.messages()['dt-daily']).toHaveLength(1);

    now += 24 * 60 * 60_000;
    await client.sendWorkNotice({ userIds: ['dt-daily'], title: '每日', markdown: '每日提醒' });
    expect(sim.messages()['dt-daily']).toHaveLength(2);
    expect(sim.stats().filtered).toBe(1);
    expect(sim.stats().duplicateDeliveries).toBe(1);
  });

  it('looks up users by mobile', async () => {
    expect(await client.getUserIdByMobile('10012345678')).toBe('dt-mobile-user');
    expect(await client.getUserIdByMobile('10099999999')).toBeUndefined();
    expect(logLines.join('')).not.toContain('10012345678');
  });

  it('logs an unknown mobile at debug, not as a warning', async () => {
    logLines.length = 0;
    expect(await client.getUserIdByMobile('10088888888')).toBeUndefined();
    const lookups = logLines.map((line) => JSON.parse(line)).filter((line) => line.operation === 'getbymobile');
    expect(lookups).toEqual([expect.objectContaining({ level: 20, errcode: 60121 })]);
    expect(logLines.join('')).not.toContain('dingtalk returned an error');
  });

  it('signs robot messages the simulator accepts', async () => {
    sim.reset();
    await client.sendRobot({ title: '防控提醒', markdown: '### 防控提醒\n\n今日无异常。' });
    expect(sim.robotMessages()).toEqual([expect.objectContaining({ accepted: true, title: '防控提醒' })]);
  });

  it('gets 310000 for a wrong secret, an old timestamp or no keyword', async () => {
    sim.reset();
    const wrongSecret = createDingTalkClient({ ...config, robotSecret: 'SECwrong' }, log, { now: () => now });
    const bad = await expectDingTalkError(wrongSecret.sendRobot({ title: '防控', markdown: '防控' }));
    expect(bad.kind).toBe('permanent');
    expect(bad.details.errcode).toBe(310000);

    const lateClock = createDingTalkClient(config, log, { now: () => now - 2 * 60 * 60_000 });
    const late = await expectDingTalkError(lateClock.sendRobot({ title: '防控', markdown: '防控' }));
    expect(late.details.errcode).toBe(310000);

    const noKeyword = await expectDingTalkError(client.sendRobot({ title: '提醒', markdown: '今日无异常' }));
    expect(noKeyword.details.errcode).toBe(310000);
    expect(sim.stats().robotRejected['310000']).toBe(3);
    expect(sim.stats().robotAccepted).toBe(0);
  });

  it('checks the signature the way DingTalk documents it', async () => {
    const timestamp = String(now);
    const sign = signRobotRequest(timestamp, APP.robotSecret);
    const url = new URL(sim.robotWebhook);
    url.searchParams.set('timestamp', timestamp);
    url.searchParams.set('sign', sign);
    expect(url.search).toContain(`sign=${encodeURIComponent(sign)}`);
    const reply = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'text', text: { content: '防控测试' } }) });
    expect(await reply.json()).toEqual({ errcode: 0, errmsg: 'ok' });

    url.searchParams.set('sign', signRobotRequest(timestamp, 'SECother'));
    const rejected = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'text', text: { content: '防控测试' } }) });
    expect((await rejected.json()).errcode).toBe(310000);
  });

  it('answers 130101 after 20 robot messages in a minute', async () => {
    sim.reset();
    for (let i = 0; i < 20; i++) await client.sendRobot({ title: `防控 ${i}`, markdown: `防控 ${i}` });
    const throttled = await expectDingTalkError(client.sendRobot({ title: '防控 21', markdown: '防控 21' }));
    expect(throttled.kind).toBe('throttled');
    expect(throttled.details.errcode).toBe(130101);

    now += 60_001;
    await client.sendRobot({ title: '防控 22', markdown: '防控 22' });
    expect(sim.stats().robotAccepted).toBe(21);
  });

  it('classifies injected faults', async () => {
    await sim.setFaults({ down: 'error503' });
    const unavailable = await expectDingTalkError(client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: '503' }));
    expect(unavailable.kind).toBe('retryable');
    expect(unavailable.details).toMatchObject({ httpStatus: 503, uncertain: true });

    await sim.setFaults({ down: 'refuse' });
    // The first request may still go out on a kept-alive socket that the close cut; the
    // second has to open a connection and is refused.
    await expectDingTalkError(client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: 'refused' }));
    const refused = await expectDingTalkError(client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: 'refused' }));
    expect(refused.kind).toBe('retryable');
    expect(refused.details.uncertain).toBe(false);
    expect(refused.details.reason).toContain('连接被拒绝');

    await sim.setFaults({ down: 'reset' });
    const reset = await expectDingTalkError(client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: 'reset' }));
    expect(reset.details.uncertain).toBe(true);

    await sim.setFaults({ down: false, delayMs: 1_500 });
    const slow = await expectDingTalkError(client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: 'slow' }));
    expect(slow.details.reason).toContain('毫秒内无响应');

    await sim.setFaults({ delayMs: 0, busy: { errcode: -1, errmsg: '系统繁忙', times: 1 } });
    const busy = await expectDingTalkError(client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: 'busy' }));
    expect(busy.kind).toBe('retryable');
    expect(busy.details.reason).toContain('系统繁忙');
    expect(await client.sendWorkNotice({ userIds: ['dt-x'], title: 't', markdown: 'after busy' })).toMatch(/^\d+$/);
  });

  it('serves what it received for inspection', async () => {
    sim.reset();
    await client.sendWorkNotice({ userIds: ['dt-inspect'], title: '查看', markdown: '查看记录' });
    await client.sendRobot({ title: '防控', markdown: '防控记录' });

    const messages = await (await fetch(`${sim.url}/_sim/messages?userId=dt-inspect`)).json();
    expect(messages.users['dt-inspect'][0].text).toBe('查看记录');
    const robot = await (await fetch(`${sim.url}/_sim/robot`)).json();
    expect(robot.messages[0].text).toBe('防控记录');
    const stats = await (await fetch(`${sim.url}/_sim/stats`)).json();
    expect(stats).toMatchObject({ delivered: 1, robotAccepted: 1 });

    const reset = await fetch(`${sim.url}/_sim/reset`, { method: 'DELETE' });
    expect(reset.status).toBe(200);
    expect(sim.stats().delivered).toBe(0);

    await fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ down: 'error503' }) });
    expect((await fetch(`${sim.url}/gettoken?appkey=a&appsecret=b`)).status).toBe(503);
  });

  it('never logs the token, secrets or signatures', () => {
    const all = logLines.join('');
    expect(all).not.toContain(APP.appSecret);
    expect(all).not.toContain(APP.robotSecret);
    expect(all).not.toContain('simtoken-');
    expect(all).not.toContain('sign=');
  });
});
