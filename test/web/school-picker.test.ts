import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../../src/modules/auth/service.js';
import { createSchool } from '../../src/modules/people/service.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const PASSWORD = 'School-Picker-1';
const DISTRICT_USER = 'picker-district';

/** Return the school name that the header's school picker shows. */
async function pickedSchool(page: Page): Promise<string | null> {
  const picker = page.locator('.ant-select', { has: page.getByRole('combobox', { name: '选择学校' }) });
  await picker.waitFor();
  return picker.locator('.ant-select-content').getAttribute('title');
}

/** Wait until 日报汇总 shows its table and the header's picker shows a school. */
async function waitForDistrictReports(page: Page): Promise<void> {
  await page.getByTestId('district-report-table').waitFor();
  await page.locator('.ant-select-content[title]').first().waitFor();
}

describe.skipIf(!BROWSER_ENABLED)('header school picker in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    // GET /api/schools lists schools by code, so these two come after any code starting with "a".
    await createSchool(server.ctx, { code: 'picker-b', name: '选校乙小学' });
    await createSchool(server.ctx, { code: 'picker-c', name: '选校丙小学' });
    await createUser(server.ctx, { username: DISTRICT_USER, displayName: '区教育局', role: 'district_admin', password: PASSWORD }, null);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('keeps the shown school after one is added', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, DISTRICT_USER, PASSWORD, '/district-reports');
    await waitForDistrictReports(page);
    expect(await pickedSchool(page)).toBe('选校乙小学');

    // This is what `npx fangkong school add --code picker-a --name 选校甲小学` runs. Its code sorts first.
    await createSchool(server.ctx, { code: 'picker-a', name: '选校甲小学' });

    // 区级 refetches the school list, and the new school shows there.
    await page.getByRole('menuitem', { name: '区级' }).click();
    await page.getByRole('button', { name: '选校甲小学' }).waitFor();
    expect(await pickedSchool(page)).toBe('选校乙小学');
    await page.getByRole('menuitem', { name: '日报汇总' }).click();
    await waitForDistrictReports(page);
    expect(await pickedSchool(page)).toBe('选校乙小学');

    // A second tab of the same browser session.
    const second = await page.context().newPage();
    await second.goto(`${server.url}/district-reports`);
    await waitForDistrictReports(second);
    expect(await pickedSchool(second)).toBe('选校乙小学');

    await page.reload();
    await waitForDistrictReports(page);
    expect(await pickedSchool(page)).toBe('选校乙小学');
    await page.context().close();
  });

  it('keeps a picked school after one is added', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, DISTRICT_USER, PASSWORD, '/district-reports');
    await waitForDistrictReports(page);
    await page.getByRole('combobox', { name: '选择学校' }).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: '选校丙小学' }).click();
    expect(await pickedSchool(page)).toBe('选校丙小学');

    await createSchool(server.ctx, { code: 'picker-0', name: '选校零小学' });
    await page.reload();
    await waitForDistrictReports(page);
    expect(await pickedSchool(page)).toBe('选校丙小学');
    await page.context().close();
  });
});
