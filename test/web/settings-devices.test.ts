import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { enqueueNotice } from '../../src/modules/notify/outbox.js';
import { startDingTalkSimulator, type DingTalkSimulator } from '../../tools/simulators/dingtalk.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const ROBOT_SECRET = 'SECbrowser-robot-secret';

/** 2026-01-15 09:30 in Asia/Shanghai, which is 20:30 the day before in New York. */
const KNOWN_INSTANT = Date.UTC(2026, 0, 15, 1, 30);

/** Call the JSON API as the signed-in page, with its cookies and CSRF token; returns status and body. */
async function apiFromPage(page: Page, path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ path, method, body }) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('fk_csrf='))?.slice('fk_csrf='.length) ?? '';
      const response = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    { path, method, body },
  );
}

describe.skipIf(!BROWSER_ENABLED)('settings, devices and class notices in Chromium', () => {
  let dingtalk: DingTalkSimulator;
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    dingtalk = await startDingTalkSimulator({ port: 0, appKey: 'browser-key', appSecret: 'browser-secret', agentId: '20002', robotSecret: ROBOT_SECRET, robotPenaltyMs: 0 });
    server = await startConsoleServer([], {
      dingtalk: { apiUrl: dingtalk.url, appKey: 'browser-key', appSecret: 'browser-secret', agentId: '20002', robotWebhook: dingtalk.robotWebhook, robotSecret: ROBOT_SECRET },
    });
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'settings', '设置测试小学');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await dingtalk?.close();
  });

  it('saves gate thresholds, schedule and retention', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=gate');
    const thresholds = page.getByTestId('gate-thresholds');
    const fever = thresholds.getByLabel('发热阈值（℃）');
    await expect.poll(() => fever.inputValue()).toBe('37.3');

    // The browser checks first, naming the field.
    await fever.fill('42');
    await thresholds.getByRole('button', { name: /保\s*存/ }).click();
    await thresholds.getByText('发热阈值 42 ℃ 超出范围，应为 37 到 38.5 ℃（低于 37.0 ℃ 会把体温正常的人判为发热，高于 38.5 ℃ 会放行发热的人）').waitFor();

    // A mistyped threshold (373 for 37.3) is the only field marked: the untouched sensor range is not compared with it.
    await fever.fill('373');
    await thresholds.getByRole('button', { name: /保\s*存/ }).click();
    await thresholds.getByText('发热阈值 373 ℃ 超出范围').waitFor();
    expect(await thresholds.getByText('测温上限应高于发热阈值').count()).toBe(0);
    expect(await thresholds.getByText('测温下限应低于发热阈值').count()).toBe(0);
    expect(await thresholds.locator('.ant-form-item-explain-error').count()).toBe(1);

    await fever.fill('37.0');
    await thresholds.getByLabel('健康码过期时长（小时）').fill('12');
    await thresholds.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('通行阈值已保存').waitFor();
    const saved = await apiFromPage(page, `/api/schools/${world.school.code}/gate-settings`);
    expect(saved.body.thresholds.feverThresholdC).toBe(37);
    expect(saved.body.thresholds.codeStaleHours).toBe(12);

    await page.getByRole('tab', { name: '同步时间' }).click();
    const schedule = page.getByTestId('sync-schedule');
    await schedule.getByText('前一晚 21:00 和当天 06:30').click();
    expect(await schedule.textContent()).toContain('周末、全区放假和本校停课的日子不同步');
    expect(await schedule.textContent()).toContain('18:00 以后的同步为第二天做准备');
    await schedule.getByText('每天同步（含周末、放假和停课的日子）').click();
    await schedule.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('同步时间已保存').waitFor();
    const savedSchedule = (await apiFromPage(page, `/api/schools/${world.school.code}/sync-schedule`)).body;
    expect(savedSchedule.preset).toBe('evening-2100-morning-0630');
    expect(savedSchedule.everyDay).toBe(true);
    expect(await schedule.textContent()).toContain('全量同步和轮询每天都按上面的时间进行，不看校历');
    expect(page.url()).toContain('tab=sync');

    // A custom cron keeps its comma list, and an invalid one is explained in Chinese.
    await schedule.getByText('自定义').click();
    const crons = schedule.getByLabel('cron 表达式（北京时间，5 段：分 时 日 月 周）');
    await crons.fill('0 7 * * 1,3,5; 61 4 * * *;');
    await schedule.getByRole('button', { name: /保\s*存/ }).click();
    await schedule.getByText('同步时间“61 4 * * *”不是有效的 cron 表达式：第 1 段（分钟）的 61 超出范围，应在 0 到 59 之间').waitFor();
    expect(await schedule.textContent()).not.toMatch(/CronPattern|Invalid value/);
    await schedule.locator('.ant-select-selection-item', { hasText: '61 4 * * *' }).locator('.ant-select-selection-item-remove').click();
    await schedule.getByRole('button', { name: /保\s*存/ }).click();
    // The first save's 同步时间已保存 may still be on screen, so wait for the stored schedule.
    await expect
      .poll(async () => (await apiFromPage(page, `/api/schools/${world.school.code}/sync-schedule`)).body.crons)
      .toEqual(['0 21 * * *', '30 6 * * *', '0 7 * * 1,3,5']);
    await page.getByText('同步时间已保存').first().waitFor();

    await page.getByRole('tab', { name: '保留期限' }).click();
    const retention = page.getByTestId('retention');
    await retention.getByLabel('闸机抓拍图保留天数').fill('30');
    await retention.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('保留期限已保存').waitFor();
    expect((await apiFromPage(page, `/api/schools/${world.school.code}/gate-settings`)).body.thresholds.snapshotRetentionDays).toBe(30);

    // Each change is in the audit log, under its Chinese name.
    await page.getByRole('tab', { name: '审计日志' }).click();
    await page.getByRole('cell', { name: '修改通行阈值' }).first().waitFor();
    await page.context().close();
  });

  it('sends a DingTalk test message and shows the error in Chinese', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=dingtalk');
    const card = page.getByTestId('dingtalk-settings');
    await card.getByText('AgentId：20002').waitFor();
    expect(await card.textContent()).not.toContain(ROBOT_SECRET);

    await card.getByLabel('工作通知收件人（钉钉 userid）').fill('dt-browser-admin');
    await card.getByRole('button', { name: '发送测试消息' }).click();
    const result = page.getByTestId('dingtalk-test-result');
    await result.getByText('测试消息已通过 2 个钉钉通道发出。').waitFor();
    await result.getByText(/工作通知：工作通知已送达 dt-browser-admin/).waitFor();
    expect(dingtalk.messages()['dt-browser-admin'].map((m) => m.title)).toEqual(['防控平台钉钉测试消息']);
    expect(dingtalk.robotMessages()).toHaveLength(1);

    await dingtalk.setFaults({ busy: { errcode: 310000, errmsg: 'keywords not in content', path: '/robot/send' } });
    await card.getByRole('button', { name: '发送测试消息' }).click();
    await result.getByText(/群机器人：群机器人发送失败：群机器人安全设置校验失败（签名、时间戳、关键词或 IP）/).waitFor();
    await dingtalk.clearFaults();
    await page.context().close();
  });

  it('registers a device, shows its key once, rotates and disables it', async () => {
    const page = await browser.newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/devices');
    await page.getByRole('button', { name: '登记设备' }).click();
    const dialog = page.getByRole('dialog', { name: '登记设备' });
    // The test browser requests reduced motion, so the dialog opens without antd's zoom.
    expect(await dialog.getAttribute('class')).not.toMatch(/zoom/);
    await dialog.getByLabel('设备名称').fill('西门 2 号平板');
    await dialog.getByLabel('通道').fill('西门');
    await dialog.getByRole('button', { name: /登\s*记/ }).click();

    const keyDialog = page.getByRole('dialog', { name: '设备已登记' });
    const key = (await keyDialog.getByTestId('device-key-value').textContent())!.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await keyDialog.getByTestId('device-key-value').locator('.ant-typography-copy').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await keyDialog.getByRole('button', { name: '我已保存密钥' }).click();

    const devices = (await apiFromPage(page, `/api/schools/${world.school.code}/devices`)).body.devices as Array<{ id: string; name: string }>;
    const created = devices.find((d) => d.name === '西门 2 号平板')!;
    const heartbeat = await fetch(`${server.url}/api/devices/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${created.id}.${key}` } });
    expect(heartbeat.status).toBe(200);
    // The key is never shown again: not in the table, not in the list API.
    expect(await page.locator('table').textContent()).not.toContain(key);
    expect(JSON.stringify(devices)).not.toContain(key);

    // The list refreshes every 30 seconds; a reload shows the heartbeat at once.
    await page.reload();
    const row = page.getByRole('row', { name: /西门 2 号平板/ });
    await row.getByText('在线').waitFor();
    await row.getByRole('button', { name: '更换密钥' }).click();
    await page.getByRole('tooltip').getByRole('button', { name: /更\s*换/ }).click();
    await page.getByText('旧密钥已失效').waitFor();
    const newKey = (await page.getByTestId('device-key-value').textContent())!.trim();
    expect(newKey).not.toBe(key);
    await page.getByRole('button', { name: '我已保存密钥' }).click();
    const oldKeyAttempt = await fetch(`${server.url}/api/devices/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${created.id}.${key}` } });
    expect(oldKeyAttempt.status).toBe(401);

    await row.getByRole('button', { name: /停\s*用/ }).click();
    await page.getByRole('tooltip').getByRole('button', { name: /停\s*用/ }).click();
    await row.getByText('已停用').waitFor();
    const disabledAttempt = await fetch(`${server.url}/api/devices/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${created.id}.${newKey}` } });
    expect(disabledAttempt.status).toBe(401);
    await page.context().close();
  });

  it('head teacher sees only their class notices', async () => {
    const ctx = server.ctx;
    const notices = [
      { title: '本班家长：请勿到校', personId: world.classPupils[1].id },
      { title: '别班家长：请勿到校', personId: world.otherPupil.id },
    ];
    for (const [index, notice] of notices.entries()) {
      await enqueueNotice(
        ctx.db,
        { schoolId: world.school.id, channel: 'dingtalk_work', kind: 'stay_home', recipientPersonId: notice.personId, recipientDingtalkId: null, title: notice.title, body: notice.title, idempotencyKey: `browser-class-${index}` },
        ctx.now(),
      );
    }

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/alerts');
    const card = page.getByTestId('notices-card');
    await card.getByText('本班家长：请勿到校').waitFor();
    expect(await card.textContent()).not.toContain('别班家长');
    expect(await page.getByTestId('alerts-card').count()).toBe(0);
    await page.getByRole('menuitem', { name: '预警与通知' }).waitFor();

    const other = await apiFromPage(page, `/api/schools/${world.school.code}/notices?classId=${world.otherClassId}`);
    expect(other.status).toBe(403);
    await page.context().close();

    // On a phone the notices are a list; a tap opens the text.
    const phone = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(phone, server.url, world.users.headTeacher, WORLD_PASSWORD, '/alerts');
    const item = phone.getByTestId('notice-item').filter({ hasText: '本班家长：请勿到校' });
    await item.waitFor();
    expect(await phone.getByTestId('notice-item').count()).toBe(1);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.context().close();

    // An admin narrows the list to one class.
    const admin = await browser.newPage();
    await signInThroughPage(admin, server.url, world.users.principal, WORLD_PASSWORD, '/alerts');
    const adminCard = admin.getByTestId('notices-card');
    await adminCard.getByText('别班家长：请勿到校').waitFor();
    await adminCard.getByLabel('班级').fill('二(3)');
    await admin.locator('.ant-select-item-option', { hasText: '二(3)班' }).click();
    await expect.poll(() => adminCard.textContent()).not.toContain('别班家长');
    expect(await adminCard.textContent()).toContain('本班家长：请勿到校');
    await admin.context().close();
  });

  it('shows Shanghai time in a New York browser', async () => {
    await server.ctx.db.updateTable('devices').set({ last_seen_at: KNOWN_INSTANT }).where('id', '=', world.device.device.id).execute();
    await server.ctx.db
      .insertInto('sync_runs')
      .values({
        id: 'browser-catch-up-run',
        school_id: world.school.id,
        trigger: 'catch-up',
        status: 'succeeded',
        started_at: KNOWN_INSTANT,
        finished_at: KNOWN_INSTANT + 60_000,
        heartbeat_at: KNOWN_INSTANT + 60_000,
        holder: 'test',
        total: 4,
        processed: 4,
        failed: 0,
        changes: 0,
        failed_batches: 0,
        counts: '{}',
        error: null,
        resumed_from: null,
      })
      .execute();

    const context = await browser.browser.newContext({ locale: 'zh-CN', timezoneId: 'America/New_York', viewport: { width: 1440, height: 900 }, reducedMotion: 'reduce' });
    const page = await context.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/devices');
    // The browser itself is in New York: 2026-01-15 01:30 UTC is 20:30 on the 14th there.
    expect(await page.evaluate((ms) => new Date(ms).getHours(), KNOWN_INSTANT)).toBe(20);

    const row = page.getByRole('row', { name: new RegExp(world.device.device.name) });
    await row.getByText('2026-01-15 09:30').waitFor();
    expect(await row.textContent()).not.toContain('2026-01-14 20:30');

    await page.goto(`${server.url}/health-codes`);
    const run = page.getByRole('row', { name: /2026-01-15 09:30/ });
    await run.getByText('补同步').waitFor();
    await context.close();
  });
});
