import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStudent } from '../helpers/factories.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, openSchoolToday, postGateEvent, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

describe.skipIf(!BROWSER_ENABLED)('roles, district and class pages in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;
  let secondSchool: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'roles', '角色测试小学');
    secondSchool = await buildConsoleWorld(server.ctx, 'roles2', '第二测试小学');
    // The district page counts today's arrivals against the pupils due, which needs a school day.
    await openSchoolToday(server.ctx, world.school.code);
    await openSchoolToday(server.ctx, secondSchool.school.code);
    await postGateEvent(server.url, world.device, world.classPupils[0].id, 36.4);
    await postGateEvent(server.url, world.device, world.otherPupil.id, 36.6);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('each role lands on its first page', async () => {
    const expected: Array<[string, string, string]> = [
      [world.users.district, '/district', '区级'],
      [world.users.principal, '/', '首页 · 角色测试小学'],
      [world.users.headTeacher, '/class', '二(3)班 · 今日'],
      [world.users.teacher, '/class', '我的班级'],
      [world.users.doctor, '/alerts', '预警与通知 · 角色测试小学'],
      [world.users.guard, '/gate', '通行 · 角色测试小学'],
    ];
    for (const [username, path, heading] of expected) {
      const page = await browser.newPage();
      await signInThroughPage(page, server.url, username, WORLD_PASSWORD);
      await page.waitForURL((url) => url.pathname === path);
      await page.getByRole('heading', { name: heading }).first().waitFor();
      await page.context().close();
    }
  });

  it('deep link survives sign-in', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.guard, WORLD_PASSWORD, '/persons');
    await page.getByRole('heading', { name: '人员 · 角色测试小学' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/persons');
    await page.context().close();
  });

  it('district lists schools with figures and opens one', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.district, WORLD_PASSWORD);
    await page.waitForURL((url) => url.pathname === '/district');
    // Four pupils, two arrived (one of each class) in the first school; none in the second.
    await expect.poll(() => page.getByTestId(`arrivals-${world.school.code}`).textContent()).toContain('2 / 4');
    await expect.poll(() => page.getByTestId(`arrivals-${secondSchool.school.code}`).textContent()).toContain('0 / 4');

    await page.getByRole('button', { name: '第二测试小学' }).click();
    await page.getByRole('heading', { name: '首页 · 第二测试小学' }).waitFor();
    expect(await page.getByRole('combobox', { name: '选择学校' }).count()).toBe(1);
    expect(await page.locator('.fk-header').textContent()).toContain('第二测试小学');
    await page.context().close();

    // On a phone each school is a block with its figures in view.
    const phone = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(phone, server.url, world.users.district, WORLD_PASSWORD, '/district');
    await expect.poll(() => phone.getByTestId(`school-${world.school.code}`).textContent()).toContain('2 / 4');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.context().close();
  });

  it('head teacher phone page shows the class and live arrivals', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD);
    await page.waitForURL((url) => url.pathname === '/class');

    await expect.poll(() => page.getByTestId('tile-arrived').textContent()).toContain('1/3');
    const notArrived = await page.getByTestId('class-not-arrived').textContent();
    expect(notArrived).toContain(world.classPupils[1].name);
    expect(notArrived).toContain(world.classPupils[2].name);
    expect(notArrived).not.toContain('别班学生');
    // The yellow pupil is an action for the head teacher.
    await expect.poll(() => page.getByTestId('class-actions').textContent()).toContain(`${world.classPupils[1].name} 黄码`);
    expect(await page.getByTestId('class-arrived').textContent()).toContain(world.classPupils[0].name);

    // A fever at the gate reaches the page without a reload.
    await page.getByText('实时').waitFor();
    await postGateEvent(server.url, world.device, world.classPupils[2].id, 37.8);
    await expect.poll(() => page.getByTestId('class-live').textContent()).toContain(`${world.classPupils[2].name} 未通过：体温异常`);
    await expect.poll(() => page.getByTestId('tile-fever').textContent()).toContain('1');
    await expect.poll(() => page.getByTestId('class-actions').textContent()).toContain(`${world.classPupils[2].name} 体温 37.8℃`);

    // Another class's pupils never show, live or listed.
    await postGateEvent(server.url, world.device, world.otherPupil.id, 36.5);
    await page.waitForTimeout(1500);
    expect(await page.locator('body').textContent()).not.toContain('别班学生');

    // The same head teacher marks the yellow-code pupil, whom the gate has not seen, present
    // in the morning check on a second device: the open class page counts her as arrived.
    const checks = await browser.newPage();
    await signInThroughPage(checks, server.url, world.users.headTeacher, WORLD_PASSWORD, '/checks');
    await checks.getByTestId('checks-page').waitFor();
    await checks.getByRole('button', { name: '晨检' }).or(checks.getByText('晨检', { exact: true })).first().click();
    await checks.getByTestId(`check-row-${world.classPupils[1].name}`).getByText('在校', { exact: true }).click();
    await checks.getByTestId('check-save').click();
    await expect.poll(() => checks.getByTestId('check-saved').textContent()).toBe('已保存 3/3');
    await checks.context().close();
    await expect.poll(() => page.getByTestId('tile-arrived').textContent(), { timeout: 10_000 }).toContain('2/3');
    await expect.poll(() => page.getByTestId('class-arrived').textContent()).toContain(world.classPupils[1].name);

    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.context().close();
  });

  it('teacher picks a class on the phone page', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, world.users.teacher, WORLD_PASSWORD);
    await page.waitForURL((url) => url.pathname === '/class');
    await page.getByText('请选择要查看的班级').waitFor();
    await page.getByRole('combobox', { name: '选择班级' }).click();
    await page.getByTitle('二(4)班').click();
    await page.getByTestId('class-title').getByText('二(4)班 · 今日').waitFor();
    await expect.poll(() => page.getByTestId('class-arrived').textContent()).toContain('别班学生');
    await page.context().close();
  });

  it('marks a never-synced code 未同步, not expired', async () => {
    // A pupil added to the class after the last sync: the school has no code of theirs yet.
    const unsynced = await buildStudent(server.ctx, world.school.id, { grade: 2, classNumber: 3, name: '赵未同' });

    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/class');
    const notArrivedRow = page.getByTestId('class-not-arrived').locator('.fk-line', { hasText: unsynced.person.name });
    await expect.poll(() => notArrivedRow.textContent()).toContain('未同步');
    expect(await notArrivedRow.textContent()).not.toContain('已过期');
    expect(await notArrivedRow.textContent()).not.toContain('未知');
    const codeRow = page.getByTestId('class-codes').locator('.fk-line', { hasText: unsynced.person.name });
    expect(await codeRow.textContent()).toContain('未同步');
    expect(await codeRow.textContent()).not.toContain('已过期');
    await page.context().close();

    const reports = await browser.newPage();
    await signInThroughPage(reports, server.url, world.users.principal, WORLD_PASSWORD, '/reports');
    await reports.getByRole('button', { name: '生成日报' }).click();
    const reportRow = reports.getByTestId('report-detail').locator('tr.ant-table-row', { hasText: unsynced.person.name });
    await reportRow.waitFor();
    expect(await reportRow.textContent()).toContain('未同步');
    expect(await reportRow.textContent()).not.toContain('已过期');
    // The yellow pupil was synced, so only her colour shows.
    expect(await reports.getByTestId('report-detail').locator('tr.ant-table-row', { hasText: world.classPupils[1].name }).first().textContent()).toContain('黄码');
    await reports.context().close();
  });

  it('dashboard classes table fits a phone', async () => {
    for (let i = 0; i < 6; i++) await buildStudent(server.ctx, world.school.id, { grade: 3, classNumber: 1 });

    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/');
    const card = page.locator('.ant-card').filter({ has: page.getByText('未到校较多的班级', { exact: true }) });
    await expect.poll(() => card.locator('tr.ant-table-row', { hasText: '三(1)班' }).textContent()).toContain('6 人：');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const cardBox = await card.boundingBox();
    const tableBox = await card.locator('table').boundingBox();
    expect(tableBox!.x + tableBox!.width).toBeLessThanOrEqual(cardBox!.x + cardBox!.width);
    await page.context().close();
  });
});
