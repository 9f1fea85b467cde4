import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { STUDENT_HEADERS, pupil, studentRow } from '../people/roster-fixtures.js';
import { WORLD_PASSWORD, buildConsoleWorld, openSchoolToday, postGateEvent, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

/** Read a JSON API as the signed-in page, with its cookies. */
async function apiFromPage<T>(page: Page, path: string): Promise<T> {
  return page.evaluate(async (url) => (await fetch(url)).json(), path) as Promise<T>;
}

/** The number a dashboard tile shows, or NaN while it shows —. */
async function tileNumber(page: Page, key: string): Promise<number> {
  const text = (await page.getByTestId(`tile-${key}`).locator('.ant-statistic-content-value').textContent()) ?? '';
  return Number(text.replace(/[^\d]/g, '') || NaN);
}

describe.skipIf(!BROWSER_ENABLED)('dashboard, gate and alert pages in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'pages', '页面测试小学');
    await postGateEvent(server.url, world.device, world.classPupils[0].id, 36.5);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('dashboard figures equal the API and follow the gate live', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD);
    await page.getByTestId('live-feed').getByText('实时', { exact: true }).waitFor();

    const code = world.school.code;
    const attendance = await apiFromPage<{ arrivedCount: number; notArrivedCount: number }>(page, `/api/schools/${code}/attendance`);
    const codes = await apiFromPage<{ items: Array<{ color: string; isStale: boolean }> }>(page, `/api/schools/${code}/codes`);
    await expect.poll(() => tileNumber(page, 'arrived')).toBe(attendance.arrivedCount);
    expect(await tileNumber(page, 'not-arrived')).toBe(attendance.notArrivedCount);
    expect(await tileNumber(page, 'codes')).toBe(codes.items.filter((c) => c.color !== 'green' || c.isStale).length);
    expect(attendance.arrivedCount).toBe(1);

    // A pass at the gate shows in the feed at once and moves the arrivals without reload.
    const marker = await page.evaluate(() => ((window as unknown as { reloadMarker: number }).reloadMarker = Math.random()));
    await postGateEvent(server.url, world.device, world.classPupils[2].id, 36.6);
    await expect.poll(() => page.getByTestId('live-feed').textContent()).toContain(world.classPupils[2].name);
    await expect.poll(() => tileNumber(page, 'arrived'), { timeout: 10_000 }).toBe(2);
    expect(await page.evaluate(() => (window as unknown as { reloadMarker: number }).reloadMarker)).toBe(marker);

    // The head teacher marks 李小红, whom the gate has not seen, present in the morning
    // check on another device. The attendance view counts her as arrived, and the open
    // dashboard follows without reload. Checks are saved on the real today, so on a
    // weekend the school opens for the test.
    await openSchoolToday(server.ctx, code);
    const teacher = await browser.newPage();
    await signInThroughPage(teacher, server.url, world.users.headTeacher, WORLD_PASSWORD, '/checks');
    await teacher.getByTestId('checks-page').waitFor();
    await teacher.getByRole('button', { name: '晨检' }).or(teacher.getByText('晨检', { exact: true })).first().click();
    const checkedPupil = world.classPupils[1]!;
    await teacher.getByTestId(`check-row-${checkedPupil.name}`).getByText('在校', { exact: true }).click();
    await teacher.getByTestId('check-save').click();
    await expect.poll(() => teacher.getByTestId('check-saved').textContent()).toBe('已保存 3/3');
    await teacher.context().close();

    await expect.poll(() => tileNumber(page, 'arrived'), { timeout: 10_000 }).toBe(3);
    expect(await tileNumber(page, 'not-arrived')).toBe(attendance.notArrivedCount - 2);
    expect(await page.evaluate(() => (window as unknown as { reloadMarker: number }).reloadMarker)).toBe(marker);
    await page.context().close();
  });

  it('gate page shows lanes live and searches events', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.guard, WORLD_PASSWORD);
    await page.waitForURL((url) => url.pathname === '/gate');
    const lane = page.getByTestId(`lane-${world.device.device.id}`);
    await lane.waitFor();
    await page.getByTestId('live-lanes').getByText('实时', { exact: true }).waitFor();

    const denied = await postGateEvent(server.url, world.device, world.classPupils[1].id, 36.7);
    expect(denied.decision).toBe('deny');
    await expect.poll(() => lane.locator('.fk-lane-now').textContent()).toContain(`拒绝${world.classPupils[1].name}`);
    expect(await lane.locator('.fk-lane-now').textContent()).toContain('健康码异常，禁止通行');

    const search = page.getByTestId('gate-search');
    await search.getByText('拒绝', { exact: true }).click();
    await expect.poll(async () => search.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(1);
    expect(await search.locator('.ant-table-tbody').textContent()).toContain(world.classPupils[1].name);

    await search.getByText('全部', { exact: true }).click();
    await page.getByRole('combobox', { name: '按姓名筛选' }).fill(world.classPupils[0].name);
    await page.getByTitle(`${world.classPupils[0].name}（二(3)班）`).click();
    await expect.poll(async () => search.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(1);
    expect(await search.locator('.ant-table-tbody').textContent()).toContain('体温正常，请通行');
    await page.context().close();
  });

  it('roster import through the page lists rejected rows', async () => {
    const good = pupil(880_001);
    const bad = pupil(880_002);
    const lines = [STUDENT_HEADERS, studentRow(good, '二年级', '二(5)班', 'XS880001'), studentRow({ ...bad, idNumber: '330102201801010000' }, '二年级', '二(5)班', 'XS880002')];
    const csv = '\ufeff' + lines.map((row) => row.join(',')).join('\r\n');

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/persons');
    await page.getByTestId('roster-upload').waitFor();
    // 二(5)班 is new to the school, so the import is asked to create it.
    await page.getByTestId('roster-create-classes').check();
    await page.locator('input[type="file"]').setInputFiles({ name: '二(5)班名单.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await page.getByText('导入完成：新增 1 人，更新 0 人，拒绝 1 行').waitFor();
    expect(await page.getByTestId('created-classes').textContent()).toBe('新建了 1 个班级：二(5)班');
    // The box clears after the import, so the next file cannot create classes by mistake.
    expect(await page.getByTestId('roster-create-classes').isChecked()).toBe(false);
    const rejected = page.getByTestId('rejected-rows');
    expect(await rejected.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(1);
    expect(await rejected.locator('.ant-table-tbody tr.ant-table-row td').first().textContent()).toBe('3');
    expect(await rejected.textContent()).toContain('身份证号');
    expect(await rejected.textContent()).not.toContain(bad.idNumber);

    await page.getByPlaceholder('姓名').fill(good.name);
    await page.getByPlaceholder('姓名').press('Enter');
    await page.getByRole('cell', { name: good.name, exact: true }).waitFor();
    await page.context().close();
  });

  it('roster import through the page lists updated people', async () => {
    const kept = pupil(880_101);
    const renamed = pupil(880_102);
    const csvOf = (rows: string[][]) => Buffer.from('\ufeff' + [STUDENT_HEADERS, ...rows].map((row) => row.join(',')).join('\r\n'), 'utf8');
    const before = csvOf([studentRow(kept, '二年级', '二(5)班', 'XS880101'), studentRow(renamed, '二年级', '二(5)班', 'XS880102')] as string[][]);
    const newName = pupil(880_103).name;
    const after = csvOf([studentRow(kept, '二年级', '二(5)班', 'XS880101'), studentRow({ ...renamed, name: newName }, '二年级', '二(5)班', 'XS880109')] as string[][]);

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/persons');
    await page.getByTestId('roster-upload').waitFor();
    await page.getByTestId('roster-create-classes').check();
    await page.locator('input[type="file"]').setInputFiles({ name: '名单.csv', mimeType: 'text/csv', buffer: before });
    await page.getByText('导入完成：新增 2 人，更新 0 人，拒绝 0 行').waitFor();
    expect(await page.getByTestId('updated-people').count()).toBe(0);

    await page.locator('input[type="file"]').setInputFiles({ name: '名单.csv', mimeType: 'text/csv', buffer: after });
    await page.getByText('导入完成：新增 0 人，更新 1 人，拒绝 0 行').waitFor();
    const updated = page.getByTestId('updated-people');
    expect(await updated.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(1);
    const cells = await updated.locator('.ant-table-tbody tr.ant-table-row td').allTextContents();
    expect(cells).toEqual(['3', `${renamed.name} → ${newName}姓名变更`, '姓名、学号 XS880102 → XS880109']);
    await page.getByText(`1 人的姓名与已登记的不同（第 3 行 ${renamed.name} → ${newName}）`, { exact: false }).waitFor();
    expect(await page.locator('body').textContent()).not.toContain(renamed.idNumber);
    await page.context().close();
  });

  it('devices page lists the lane online', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/devices');
    const row = page.locator('tr', { hasText: '东门 1 号通道' });
    await row.waitFor();
    expect(await row.textContent()).toContain('平板闸机');
    expect(await row.textContent()).toContain('在线');
    expect(await page.locator('body').textContent()).not.toContain(world.device.key);
    await page.getByRole('link', { name: '打开闸机页面' }).waitFor();
    await page.context().close();
  });

  it('doctor re-checks a fever and the pupil counts as arrived', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.doctor, WORLD_PASSWORD);
    await page.waitForURL((url) => url.pathname === '/alerts');
    const alerts = page.getByTestId('alerts-card');
    await alerts.getByText('实时', { exact: true }).waitFor();

    // The fever alert appears without reload.
    const fever = world.classPupils[2];
    await postGateEvent(server.url, world.device, world.otherPupil.id, 38.1);
    const row = alerts.locator('tr', { hasText: '别班学生' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('体温异常');
    expect(fever.name).not.toBe('别班学生');

    await row.getByRole('button', { name: '复测' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('复测体温（℃）').fill('43.5');
    await dialog.getByRole('button', { name: '保存复测' }).click();
    await dialog.getByText('体温 43.5 ℃ 不在 34 到 43 ℃ 之间，请重新测量后填写').waitFor();
    await dialog.getByLabel('复测体温（℃）').fill('36.8');
    await dialog.getByRole('button', { name: '保存复测' }).click();
    await page.getByText('复测正常，预警已关闭，学生计为到校').waitFor();
    await expect.poll(() => alerts.locator('tr', { hasText: '别班学生' }).count()).toBe(0);

    const attendance = await apiFromPage<{ classes: Array<{ arrived: Array<{ name: string; source: string }> }> }>(
      page,
      `/api/schools/${world.school.code}/attendance?classId=${world.otherClassId}`,
    );
    expect(attendance.classes[0].arrived).toEqual([expect.objectContaining({ name: '别班学生', source: 'recheck' })]);
    await page.context().close();
  });

  it('alerts fit a phone with their actions', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, world.users.doctor, WORLD_PASSWORD);
    const item = page.getByTestId('alert-item').filter({ hasText: world.classPupils[1].name });
    await item.waitFor();
    expect(await item.textContent()).toContain('健康码黄码');
    await item.getByRole('button', { name: '确认' }).waitFor();
    const box = await item.getByRole('button', { name: '关闭' }).boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.context().close();
  });

  it('principal closes a code alert with a note and resends a failed notice', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/alerts');
    const alerts = page.getByTestId('alerts-card');
    const row = alerts.locator('tr', { hasText: world.classPupils[1].name });
    await row.waitFor();
    await row.getByRole('button', { name: '确认' }).click();
    const ackDialog = page.getByRole('dialog');
    await ackDialog.getByLabel('处理说明').fill('已通知班主任核实');
    await ackDialog.getByRole('button', { name: '确认并处理' }).click();
    await page.getByText('已确认，正在处理').waitFor();
    await alerts.getByText('处理中', { exact: true }).click();
    const acknowledged = alerts.locator('tr', { hasText: world.classPupils[1].name });
    await expect.poll(() => acknowledged.textContent()).toContain('已通知班主任核实');
    await acknowledged.getByRole('button', { name: '关闭' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: '关闭预警' }).click();
    await dialog.getByText('请填写处理说明').waitFor();
    await dialog.getByLabel('处理说明').fill('已电话联系家长，今日居家');
    await dialog.getByRole('button', { name: '关闭预警' }).click();
    await page.getByText('预警已关闭').waitFor();
    await alerts.getByText('已关闭', { exact: true }).click();
    await alerts.getByText('已电话联系家长，今日居家').waitFor();

    // A notice DingTalk could not deliver is sent again from the list.
    const notice = await server.ctx.db.selectFrom('outbox').select('id').where('school_id', '=', world.school.id).where('channel', '!=', 'inbox').executeTakeFirstOrThrow();
    await server.ctx.db.updateTable('outbox').set({ status: 'failed', last_error: '钉钉用户不存在' }).where('id', '=', notice.id).execute();
    const notices = page.getByTestId('notices-card');
    await notices.getByText(/^无法送达 1$/).click();
    const failedRow = notices.locator('tr', { hasText: '钉钉用户不存在' });
    await failedRow.waitFor();
    await failedRow.getByRole('button', { name: '重新发送' }).click();
    await page.getByText('已重新加入发送队列').waitFor();
    const after = await server.ctx.db.selectFrom('outbox').select('status').where('id', '=', notice.id).executeTakeFirstOrThrow();
    expect(after.status).toBe('pending');
    await page.context().close();
  });
});
