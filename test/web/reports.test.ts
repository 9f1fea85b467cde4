import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/modules/auth/service.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';
import { setCode } from '../gate/helpers.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';

const PASSWORD = 'Reports-Page-1';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

describe.skipIf(!BROWSER_ENABLED)('daily report pages in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let school: { id: string; code: string; name: string };

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    school = await buildSchool(server.ctx, { name: '日报页面小学' });
    const pupil = await buildStudent(server.ctx, school.id, { grade: 1, classNumber: 2 });
    const other = await buildStudent(server.ctx, school.id, { grade: 1, classNumber: 2 });
    await setCode(server.ctx, school.id, pupil.person.id, 'green');
    await setCode(server.ctx, school.id, other.person.id, 'red');
    await createUser(server.ctx, { username: 'rpadmin', displayName: '李校长', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(server.ctx, { username: 'rpdistrict', displayName: '区教育局', role: 'district_admin', password: PASSWORD }, null);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('builds, submits and corrects a report', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'rpadmin', PASSWORD, '/reports');
    await page.getByRole('button', { name: '生成日报' }).click();
    await page.getByTestId('report-summary').waitFor();
    expect(await page.getByTestId('report-summary').textContent()).toContain('非绿码 1 人');
    expect(await page.getByText('第 1 版 · 草稿').first().isVisible()).toBe(true);

    await page.getByRole('button', { name: '上报区教育局' }).click();
    await page.getByText('第 1 版 · 已上报').first().waitFor();
    expect(await page.getByRole('link', { name: /下载 Excel/ }).getAttribute('href')).toMatch(/\/reports\/\d{4}-\d{2}-\d{2}\/export\?version=1$/);

    await page.getByRole('button', { name: '更正（生成新版本）' }).click();
    await page.getByText('第 2 版 · 草稿').first().waitFor();
    await page.getByRole('button', { name: '上报更正' }).click();
    await page.getByLabel('更正说明').fill('复核后确认红码学生已居家');
    await page.getByRole('button', { name: '上 报' }).or(page.getByRole('button', { name: '上报', exact: true })).click();
    await page.getByText('更正说明：复核后确认红码学生已居家').waitFor();
    const versions = await page.getByTestId('report-versions').locator('tbody tr.ant-table-row').count();
    expect(versions).toBe(2);
    await page.context().close();
  });

  it('shows the district summary and drills down', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'rpdistrict', PASSWORD, '/district-reports');
    const table = page.getByTestId('district-report-table');
    await table.getByText('日报页面小学').waitFor();
    expect(await table.getByText('已上报').first().isVisible()).toBe(true);
    expect(await page.getByTestId('deadline-line').textContent()).toContain('上报截止时间 17:30');
    await page.locator('[role="img"] canvas').nth(1).waitFor();

    await table.getByRole('button', { name: '日报页面小学' }).click();
    await page.getByRole('dialog').getByTestId('report-summary').waitFor();
    expect(await page.getByRole('dialog').getByText('第 2 版 · 已上报').isVisible()).toBe(true);
    await page.context().close();
  });
});
