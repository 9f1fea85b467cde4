import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createUser } from '../../src/modules/auth/service.js';
import { createDevice } from '../../src/modules/gate/devices.js';
import { updateSchoolSettings } from '../../src/modules/people/service.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { makeIdNumber, makePhone } from '../../src/shared/synthetic.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { buildSchool } from '../helpers/factories.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const PASSWORD = 'visitor-page-password';
const PHONE = { width: 390, height: 844 };

describe.skipIf(!BROWSER_ENABLED)('visitor and staggered-entry pages in Chromium', () => {
  let bureau: BureauSimulator;
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let school: { id: string; code: string };

  beforeAll(async () => {
    bureau = await startBureauSimulator({ appKey: 'visitor-page', appSecret: 'visitor-page-secret' });
    const base = loadConfig({});
    server = await startConsoleServer([], { bureau: { ...base.bureau, url: bureau.url, appKey: 'visitor-page', appSecret: 'visitor-page-secret', maxAttempts: 1, timeoutMs: 1000 } });
    browser = await launchBrowser();
    school = await buildSchool(server.ctx, { name: '访客页面小学' });
    for (const username of ['vguard', 'vprincipal']) {
      await createUser(server.ctx, { username, displayName: username === 'vguard' ? '东门门卫' : '校长', role: username === 'vguard' ? 'guard' : 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    }
    await createDevice(server.ctx, { schoolCode: school.code, kind: 'api', name: '东门 1 号通道', lane: '东门' });
    await createDevice(server.ctx, { schoolCode: school.code, kind: 'api', name: '南门 1 号通道', lane: '南门' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await closeBureauClient(server.ctx);
    await bureau?.close();
  });

  it('guard phone flow: register, check, exit', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, 'vguard', PASSWORD, '/visitors');
    await page.getByText('当天没有访客').waitFor();

    await page.getByRole('button', { name: /\s预约登记$/ }).click();
    const register = page.getByRole('dialog').filter({ hasText: '预约登记访客' });
    await register.getByLabel('姓名').fill('钱维修');
    await register.getByLabel('身份证号').fill('110101199003078671');
    await register.getByLabel('来访事由').fill('维修教室空调');
    await register.getByRole('button', { name: /登\s*记/ }).click();
    await register.getByText('身份证号 **************8671').waitFor();

    const idNumber = makeIdNumber(9101, '1980-05-06');
    await register.getByLabel('身份证号').fill(idNumber);
    await register.getByRole('button', { name: /登\s*记/ }).click();
    const item = page.getByTestId('visitor-item').filter({ hasText: '钱维修' });
    await item.getByText('待到访').waitFor();
    expect(await item.textContent()).toContain(`**************${idNumber.slice(-4)}`);
    expect(await page.content()).not.toContain(idNumber);

    await item.getByRole('button', { name: '入校核验' }).click();
    const check = page.getByRole('dialog').filter({ hasText: '入校核验：钱维修' });
    await check.getByLabel('体温（℃）').fill('36.5');
    await check.getByRole('button', { name: /核\s*验/ }).click();
    await page.locator('.ant-modal-confirm-title', { hasText: '准予入校' }).waitFor();
    await page.getByRole('button', { name: '知道了' }).click();
    await item.getByText('在校').waitFor();

    await page.getByRole('button', { name: '未预约登记' }).click();
    const walkIn = page.getByRole('dialog').filter({ hasText: '未预约访客登记' });
    await walkIn.getByLabel('姓名').fill('孙送货');
    await walkIn.getByLabel('手机号').fill(makePhone(9102));
    await walkIn.getByLabel('来访事由').fill('送教学用品');
    await walkIn.getByLabel('未预约原因').fill('临时补货');
    await walkIn.getByLabel('体温（℃）').fill('37.8');
    await walkIn.getByText('绿码', { exact: true }).click();
    await walkIn.getByRole('button', { name: '核验并登记' }).click();
    await page.locator('.ant-modal-confirm-title', { hasText: '禁止入校' }).waitFor();
    expect(await page.locator('.ant-modal-confirm-content').textContent()).toContain('达到发热标准');
    await page.getByRole('button', { name: '知道了' }).click();
    await page.getByTestId('visitor-item').filter({ hasText: '孙送货' }).getByText('未准入', { exact: true }).waitFor();

    await item.getByRole('button', { name: '登记离校' }).click();
    await page.getByRole('dialog').getByRole('button', { name: '登记离校' }).click();
    await item.getByText('已离校').waitFor();

    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    const alerts = await server.ctx.db.selectFrom('alerts').select('title').where('school_id', '=', school.id).execute();
    expect(alerts.map((a) => a.title)).toEqual(['访客 孙送货 体温异常']);
  });

  it('walk-in form keeps typed temperature, needs colour', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, 'vguard', PASSWORD, '/visitors');
    await page.getByRole('button', { name: '未预约登记' }).click();
    const walkIn = page.getByRole('dialog').filter({ hasText: '未预约访客登记' });
    await walkIn.getByLabel('姓名').fill('周误输');
    await walkIn.getByLabel('手机号').fill(makePhone(9103));
    await walkIn.getByLabel('来访事由').fill('送教学用品');
    await walkIn.getByLabel('未预约原因').fill('临时补货');
    const temperature = walkIn.getByLabel('体温（℃）');
    await temperature.fill('365');
    await temperature.blur();
    // antd's InputNumber clamps to its max on blur; the form must keep what the guard typed.
    expect(await temperature.inputValue()).toBe('365.0');

    await walkIn.getByRole('button', { name: '核验并登记' }).click();
    await walkIn.getByText('体温 365 ℃ 不在 34 到 43 ℃ 之间，请重新测量后填写').waitFor();
    await walkIn.getByText('请选择访客出示的健康码颜色').waitFor();
    expect(await walkIn.textContent()).not.toContain('45');

    await temperature.fill('36.6');
    await walkIn.getByText('绿码', { exact: true }).click();
    await walkIn.getByRole('button', { name: '核验并登记' }).click();
    await page.locator('.ant-modal-confirm-title', { hasText: '准予入校' }).waitFor();
    await page.getByRole('button', { name: '知道了' }).click();
    const rows = await server.ctx.db.selectFrom('visitors').select(['status', 'temperature']).where('name', '=', '周误输').execute();
    expect(rows).toEqual([{ status: 'inside', temperature: 36.6 }]);
  });

  it('walk-in form skips colour with ID number', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, 'vguard', PASSWORD, '/visitors');
    await page.getByRole('button', { name: '未预约登记' }).click();
    const walkIn = page.getByRole('dialog').filter({ hasText: '未预约访客登记' });
    await walkIn.getByLabel('姓名').fill('吴有证');
    await walkIn.getByLabel('身份证号').fill(makeIdNumber(9104, '1979-03-02'));
    await walkIn.getByLabel('来访事由').fill('维修门禁');
    await walkIn.getByLabel('未预约原因').fill('临时报修');
    await walkIn.getByLabel('体温（℃）').fill('36.4');
    await walkIn.getByRole('button', { name: '核验并登记' }).click();
    await page.locator('.ant-modal-confirm-title', { hasText: '准予入校' }).waitFor();
    await page.getByRole('button', { name: '知道了' }).click();
  });

  it('entry-window editor rejects overlaps', async () => {
    const stored = await server.ctx.db.selectFrom('schools').select('settings').where('id', '=', school.id).executeTakeFirstOrThrow();
    const settings = JSON.parse(stored.settings ?? '{}');
    // Stored straight, as an older version might have left them: the page must show the overlap on save.
    // Every weekday is a school day, so the guard view shows the window whatever day the test runs.
    const all = { grades: [1, 2, 3, 4, 5, 6], from: '00:00', to: '23:59', lanes: ['东门'] };
    await updateSchoolSettings(server.ctx, school.id, { ...settings, gate: { entryWindows: [all, { grades: [2], from: '07:00', to: '07:20' }] }, calendar: { weekdays: [0, 1, 2, 3, 4, 5, 6] } });

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'vprincipal', PASSWORD, '/entry-windows');
    const guardView = page.getByTestId('guard-view');
    await guardView.getByText('一年级、二年级、三年级、四年级、五年级、六年级').first().waitFor();
    await page.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('二年级的第 1 个时段（00:00–23:59）与第 2 个时段（07:00–07:20）时间重叠').waitFor();

    await page.getByRole('button', { name: '删除第 2 个时段' }).click();
    await page.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('错峰入校时段已保存').waitFor();
    const saved = await server.ctx.db.selectFrom('schools').select('settings').where('id', '=', school.id).executeTakeFirstOrThrow();
    expect(JSON.parse(saved.settings ?? '{}').gate.entryWindows).toEqual([all]);
    await guardView.getByText('南门').waitFor();
    expect(await guardView.textContent()).toContain('暂无年级入校');
  });
});
