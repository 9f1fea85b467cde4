import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listClasses } from '../../src/modules/people/service.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

describe.skipIf(!BROWSER_ENABLED)('account form in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'accounts', '账号测试小学');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Open the role list of the new-account dialog and return its option texts. */
  async function roleOptionTexts(page: Page): Promise<string[]> {
    await page.getByRole('button', { name: '新建账号' }).click();
    // Only this dialog is open. Its title id is not unique in a build made under NODE_ENV=test,
    // so the dialog is not found by name.
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('角色', { exact: true }).click();
    const options = page.locator('.ant-select-dropdown:visible .ant-select-item-option');
    await options.first().waitFor();
    return options.allTextContents();
  }

  it('names roles in Chinese', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=accounts');
    const guardRow = page.getByRole('row').filter({ hasText: world.users.guard });
    await guardRow.waitFor();
    expect(await guardRow.textContent()).toContain('门卫');
    expect(await page.getByRole('row').filter({ hasText: world.users.doctor }).textContent()).toContain('校医');
    // A school admin grants only the roles inside a school.
    expect(await roleOptionTexts(page)).toEqual(['学校管理员', '班主任', '教师', '校医', '门卫']);
    expect(await page.locator('body').innerText()).not.toMatch(/district_admin|school_admin|head_teacher|school_doctor|task_force/);
    await page.context().close();

    const districtPage = await browser.newPage();
    await signInThroughPage(districtPage, server.url, world.users.district, WORLD_PASSWORD, '/settings?tab=accounts');
    await districtPage.getByRole('row').filter({ hasText: world.users.principal }).waitFor();
    expect(await roleOptionTexts(districtPage)).toEqual(['学校管理员', '班主任', '教师', '校医', '门卫', '区级管理员', '疫情防控专班']);
    await districtPage.context().close();
  });

  it('creates a class for a head teacher only when ticked', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=accounts');
    await page.getByRole('button', { name: '新建账号' }).click();
    const dialog = page.getByRole('dialog', { name: '新建账号' });
    await dialog.getByLabel('用户名', { exact: true }).fill('accounts-head-13');
    await dialog.getByLabel('姓名', { exact: true }).fill('钱老师');
    await dialog.getByLabel('角色', { exact: true }).click();
    await page.locator('.ant-select-item-option', { hasText: '班主任' }).click();
    await dialog.getByLabel('班级', { exact: true }).fill('二(13)班');
    await dialog.getByLabel('初始密码', { exact: true }).fill(WORLD_PASSWORD);
    const createClass = dialog.getByTestId('account-create-class');
    expect(await createClass.isChecked()).toBe(false);

    // A class the school lacks is rejected by default, with the classes it has.
    await dialog.getByRole('button', { name: /创\s*建/ }).click();
    const error = dialog.getByText('没有班级“二(13)班”');
    await error.waitFor();
    expect(await error.textContent()).toContain('本校现有：二(3)班、二(4)班');
    expect((await listClasses(server.ctx, world.school.id)).map((c) => c.name).sort()).toEqual(['二(3)班', '二(4)班']);

    await createClass.check();
    await dialog.getByRole('button', { name: /创\s*建/ }).click();
    await page.getByText('账号 accounts-head-13 已创建').waitFor();
    await page.getByRole('cell', { name: '钱老师', exact: true }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'accounts-head-13' });
    expect(await row.textContent()).toContain('二(13)班');
    expect((await listClasses(server.ctx, world.school.id)).map((c) => c.name).sort()).toEqual(['二(13)班', '二(3)班', '二(4)班']);

    // The option is off again for the next account.
    await page.getByRole('button', { name: '新建账号' }).click();
    await dialog.getByLabel('角色', { exact: true }).click();
    await page.locator('.ant-select-item-option', { hasText: '班主任' }).click();
    expect(await dialog.getByTestId('account-create-class').isChecked()).toBe(false);
    await page.context().close();
  });

  it('warns about a second head teacher', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=accounts');
    await page.getByRole('button', { name: '新建账号' }).click();
    const dialog = page.getByRole('dialog', { name: '新建账号' });
    await dialog.getByLabel('用户名', { exact: true }).fill('accounts-head-23b');
    await dialog.getByLabel('姓名', { exact: true }).fill('郑老师');
    await dialog.getByLabel('角色', { exact: true }).click();
    await page.locator('.ant-select-item-option', { hasText: '班主任' }).click();
    await dialog.getByLabel('班级', { exact: true }).fill('二(3)班');

    const password = dialog.getByLabel('初始密码', { exact: true });
    await password.fill('short');
    await dialog.getByRole('button', { name: /创\s*建/ }).click();
    await dialog.getByText('初始密码至少需要 8 个字符').waitFor();

    await password.fill(WORLD_PASSWORD);
    await dialog.getByRole('button', { name: /创\s*建/ }).click();
    await page.getByText('账号 accounts-head-23b 已创建').waitFor();
    await page.getByText(`二(3)班已有班主任 王老师（${world.users.headTeacher}），现在该班有 2 位班主任`).waitFor();
    await page.context().close();
  });

  it('rejects a username differing in case', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=accounts');
    await page.getByRole('button', { name: '新建账号' }).click();
    const dialog = page.getByRole('dialog', { name: '新建账号' });
    const taken = world.users.teacher.toUpperCase();
    await dialog.getByLabel('用户名', { exact: true }).fill(taken);
    await dialog.getByLabel('姓名', { exact: true }).fill('冯老师');
    await dialog.getByLabel('初始密码', { exact: true }).fill(WORLD_PASSWORD);
    await dialog.getByRole('button', { name: /创\s*建/ }).click();
    const error = dialog.getByText(`用户名 ${taken} 与已有账号 ${world.users.teacher} 只有大小写不同`);
    await error.waitFor();

    // The error belongs to that attempt: cancelling and reopening shows a clean form.
    await dialog.getByRole('button', { name: /取\s*消/ }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: '新建账号' }).click();
    await dialog.getByLabel('用户名', { exact: true }).waitFor();
    expect(await error.count()).toBe(0);
    expect(await dialog.locator('.ant-alert').count()).toBe(0);
    await page.context().close();
  });
});
