import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/modules/auth/service.js';
import { newId } from '../../src/shared/ids.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';
import {
  BROWSER_ENABLED,
  BROWSER_SKIP_REASON,
  launchBrowser,
  signInThroughPage,
  startConsoleServer,
  type ConsoleBrowser,
  type ConsoleServer,
} from './harness.js';

const PASSWORD = 'Console-Test-1';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

describe.skipIf(!BROWSER_ENABLED)('web console in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let school: { id: string; code: string; name: string };
  const pupils: string[] = [];

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('first run creates the admin', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    await page.getByText('首次使用：请创建区级管理员账号').waitFor();
    await page.getByLabel('用户名', { exact: true }).fill('quadmin');
    await page.getByLabel('姓名', { exact: true }).fill('区管理员');
    await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
    await page.getByLabel('确认密码', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: '创建并登录' }).click();

    await page.getByTestId('user-menu').waitFor();
    expect(await page.getByTestId('user-menu').textContent()).toContain('区管理员');
    const menu = await page.getByRole('menu').first().textContent();
    for (const item of ['首页', '人员', '健康码', '通行', '预警与通知', '设备', '设置', '区级']) expect(menu).toContain(item);
    await page.context().close();
  });

  it('wrong password shows the same message', async () => {
    school = await buildSchool(server.ctx, { name: '浏览器测试小学' });
    for (let i = 0; i < 3; i++) pupils.push((await buildStudent(server.ctx, school.id, { grade: 2, classNumber: 3 })).person.name);
    await buildStudent(server.ctx, school.id, { grade: 2, classNumber: 4, name: '别班学生' });
    await createUser(server.ctx, { username: 'wang-ht', displayName: '王老师', role: 'head_teacher', schoolCode: school.code, className: '二(3)班', password: PASSWORD }, null);
    await createUser(server.ctx, { username: 'li-admin', displayName: '李校长', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);

    const page = await browser.newPage();
    await page.goto(server.url + '/');
    for (const username of ['wang-ht', 'no-such-user']) {
      await page.getByLabel('用户名', { exact: true }).fill(username);
      await page.getByLabel('密码', { exact: true }).fill('wrong-password');
      await page.getByRole('button', { name: /登\s*录/ }).click();
      await expect.poll(() => page.getByTestId('login-error').textContent()).toBe('用户名或密码错误');
    }
    await page.context().close();
  });

  it('login error clears when a field changes', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    const password = page.getByLabel('密码', { exact: true });
    await page.getByLabel('用户名', { exact: true }).fill('wang-ht');
    await password.fill('wrong-password');
    await page.getByRole('button', { name: /登\s*录/ }).click();
    await page.getByTestId('login-error').waitFor();

    // Clearing the password leaves only the form's own message, not the server's as well.
    await password.fill('');
    await page.getByText('请输入密码').waitFor();
    expect(await page.getByTestId('login-error').count()).toBe(0);

    await password.fill('wrong-again');
    await page.getByRole('button', { name: /登\s*录/ }).click();
    await page.getByTestId('login-error').waitFor();
    await page.getByLabel('用户名', { exact: true }).fill('wang-h');
    await page.getByTestId('login-error').waitFor({ state: 'detached' });
    await page.context().close();
  });

  it('kiosk setup names the empty field', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/kiosk');
    const save = page.getByRole('button', { name: '保存并启动' });
    await save.click();
    await page.getByText('请输入设备 ID').waitFor();
    await page.getByText('请输入设备密钥').waitFor();

    await page.getByLabel('设备 ID').fill('abc123');
    await save.click();
    await page.getByText('请输入设备 ID').waitFor({ state: 'detached' });
    await page.getByText('请输入设备密钥').waitFor();
    expect(await page.getByTestId('kiosk-setup-error').count()).toBe(0);

    // A pasted `<id>.<key>` with nothing after the dot names the missing key too.
    await page.getByLabel('设备 ID').fill('abc123.');
    await save.click();
    await expect.poll(() => page.getByTestId('kiosk-setup-error').textContent()).toBe('请输入设备密钥');
    expect(await page.locator('body').innerText()).not.toContain('格式不正确');
    await page.context().close();
  });

  it('head teacher sees only their class', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'wang-ht', PASSWORD, '/persons');
    await page.getByText('浏览器测试小学 · 二(3)班').first().waitFor();
    await page.getByRole('heading', { name: '人员 · 浏览器测试小学' }).waitFor();

    if (await server.hasRoute('GET', '/api/schools/:code/persons')) {
      await page.getByRole('cell', { name: pupils[0], exact: true }).waitFor();
      const table = await page.locator('.ant-table-tbody').first().textContent();
      for (const name of pupils) expect(table).toContain(name);
      expect(table).not.toContain('别班学生');
      // Head teachers do not import rosters.
      expect(await page.getByTestId('roster-upload').count()).toBe(0);
    } else {
      await page.getByTestId('not-open').getByText('该功能尚未开放').waitFor();
    }
    await page.context().close();
  });

  it('pages without an API say so', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'li-admin', PASSWORD, '/devices');
    await page.getByRole('heading', { name: '设备 · 浏览器测试小学' }).waitFor();
    const hasDevices = await server.hasRoute('GET', '/api/schools/:code/devices');
    if (hasDevices) {
      await page.getByText('门禁与测温终端').waitFor();
      expect(await page.getByText('该功能尚未开放').count()).toBe(0);
    } else {
      await page.getByText('该功能尚未开放').waitFor();
    }

    await page.goto(server.url + '/health-codes');
    await page.getByRole('heading', { name: '健康码 · 浏览器测试小学' }).waitFor();
    if (await server.hasRoute('GET', '/api/schools/:code/codes')) {
      await page.getByRole('cell', { name: pupils[1], exact: true }).waitFor();
      expect(await page.getByTestId('sync-now').count()).toBe(1);
    } else {
      await page.getByText('该功能尚未开放').first().waitFor();
    }
    await page.context().close();
  });

  it('audit log lists the sign-ins', async () => {
    // An entry as older releases wrote it, naming the school by its internal id.
    await server.ctx.db
      .insertInto('audit_log')
      .values({ id: newId(server.ctx.now()), at: server.ctx.now(), user_id: null, username: 'old-release', school_id: school.id, action: 'persons.view', target: school.id, detail: '{}', ip: null })
      .execute();
    // A threshold change, and a view whose detail contains what looks like a phone number.
    await server.ctx.db
      .insertInto('audit_log')
      .values([
        {
          id: newId(server.ctx.now()),
          at: server.ctx.now(),
          user_id: null,
          username: 'threshold-editor',
          school_id: school.id,
          action: 'gate.settings.update',
          target: school.code,
          detail: JSON.stringify({ changes: { deviceOfflineMinutes: { from: 10, to: 12 } } }),
          ip: null,
        },
        {
          id: newId(server.ctx.now()),
          at: server.ctx.now(),
          user_id: null,
          username: 'phone-searcher',
          school_id: school.id,
          action: 'persons.view',
          target: school.code,
          detail: JSON.stringify({ name: '13800138000', count: 0 }),
          ip: null,
        },
      ])
      .execute();

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'quadmin', PASSWORD, '/settings');
    await page.getByRole('tab', { name: '审计日志' }).click();
    const panel = page.getByRole('tabpanel');
    await panel.getByRole('cell', { name: 'wang-ht', exact: true }).first().waitFor();
    const text = await panel.textContent();
    expect(text).toContain('登录失败');
    expect(text).toContain('系统初始化');
    expect(text).toContain('li-admin');

    const oldRow = panel.locator('.ant-table-row', { hasText: 'old-release' });
    const oldCells = await oldRow.getByRole('cell').allTextContents();
    expect(oldCells[2]).toBe('查看人员名单');
    expect(oldCells[3]).toBe(`浏览器测试小学（${school.code}）`);

    const thresholdCells = await panel.locator('.ant-table-row', { hasText: 'threshold-editor' }).getByRole('cell').allTextContents();
    expect(thresholdCells[2]).toBe('修改通行阈值');
    expect(thresholdCells[4]).toBe('设备离线判定（分钟）：10 → 12');
    const searchCells = await panel.locator('.ant-table-row', { hasText: 'phone-searcher' }).getByRole('cell').allTextContents();
    expect(searchCells[4]).toContain('138******00');
    expect(searchCells[4]).not.toContain('13800138000');

    // Hiding views and exports keeps the change and drops the page views.
    await panel.getByTestId('audit-kind').click();
    await page.getByTitle('隐藏查看和导出').click();
    await panel.locator('.ant-table-row', { hasText: 'phone-searcher' }).waitFor({ state: 'detached' });
    expect(await panel.locator('.ant-table-row', { hasText: 'old-release' }).count()).toBe(0);
    expect(await panel.locator('.ant-table-row', { hasText: 'threshold-editor' }).count()).toBe(1);

    await page.getByRole('tab', { name: '账号管理' }).click();
    await page.getByRole('cell', { name: '王老师', exact: true }).waitFor();
    expect(await page.getByRole('tabpanel').textContent()).toContain('二(3)班');
    await page.context().close();
  });

  it('phone layout opens the menu drawer', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, 'li-admin', PASSWORD, '/');
    expect(await page.locator('.ant-layout-sider').count()).toBe(0);
    await page.getByRole('button', { name: '打开菜单' }).click();
    await page.getByRole('menuitem', { name: /设置/ }).click();
    await page.getByRole('heading', { name: '设置' }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.context().close();
  });

  it('signing out returns to the login form', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'li-admin', PASSWORD, '/');
    await page.getByTestId('user-menu').click();
    await page.getByText('退出登录').click();
    await page.getByRole('button', { name: /登\s*录/ }).waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/auth/me')).status);
    expect(me).toBe(401);
    await page.context().close();
  });
});
