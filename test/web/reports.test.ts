import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/modules/auth/service.js';
import { markSchoolDays } from '../../src/modules/calendar/service.js';
import { saveClassCheck } from '../../src/modules/checks/service.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { schoolDay } from '../../src/shared/time.js';
import { buildSchool, buildStudent } from '../helpers/factories.js';
import { setCode } from '../gate/helpers.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { openSchoolToday } from './world.js';

const PASSWORD = 'Reports-Page-1';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

describe.skipIf(!BROWSER_ENABLED)('daily report pages in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let school: { id: string; code: string; name: string };
  let pupil: Awaited<ReturnType<typeof buildStudent>>;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    school = await buildSchool(server.ctx, { name: '日报页面小学' });
    pupil = await buildStudent(server.ctx, school.id, { grade: 1, classNumber: 2 });
    const other = await buildStudent(server.ctx, school.id, { grade: 1, classNumber: 2 });
    await setCode(server.ctx, school.id, pupil.person.id, 'green');
    await setCode(server.ctx, school.id, other.person.id, 'red');
    // A third pupil whose code the bureau never returned counts as 未同步.
    await buildStudent(server.ctx, school.id, { grade: 1, classNumber: 2 });
    // The page builds today's report, and a report needs a school day.
    await openSchoolToday(server.ctx, school.code);
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

    // A check recorded after the build makes the draft outdated, and the page shows the hint on the next read.
    await saveClassCheck(server.ctx, { userId: 'head-rp', name: '一(2)班班主任' }, school.id, pupil.klass.id, {
      day: schoolDay(Date.now()),
      session: 'morning',
      entries: [{ personId: pupil.person.id, status: 'present' }],
    });
    await page.reload();
    const outdated = page.getByTestId('report-outdated');
    await outdated.waitFor();
    expect(await outdated.textContent()).toContain('草稿生成');
    expect(await outdated.textContent()).toContain('实到人数 0 → 1');
    await outdated.getByRole('button', { name: '重新生成' }).click();
    await outdated.waitFor({ state: 'hidden' });
    // The rebuilt draft is checked again on its first read, so the line follows a moment later.
    await page.getByText('核对时与当前数据一致').waitFor();

    // Submitting opens a confirmation first, because a submitted version never changes.
    await page.getByRole('button', { name: '上报区教育局' }).click();
    const confirm = page.getByTestId('report-submit-confirm');
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('上报后这一版不能再修改');
    expect(await confirm.textContent()).toContain('更正说明');
    await page.getByRole('button', { name: '取消' }).click();
    expect(await page.getByText('第 1 版 · 草稿').first().isVisible()).toBe(true);
    await page.getByRole('button', { name: '上报区教育局' }).click();
    await page.getByRole('button', { name: '确认上报' }).click();
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
    // The first test submitted the report, so after 17:30 in Asia/Shanghai its tag is 逾期上报.
    expect(await table.locator('tr', { hasText: '日报页面小学' }).getByText(/^(已上报|逾期上报)$/).isVisible()).toBe(true);
    expect(await page.getByTestId('deadline-line').textContent()).toContain('上报截止时间 17:30');
    const columns = await table.locator('thead th').allTextContents();
    const row = await table.locator('tr.ant-table-row', { hasText: '日报页面小学' }).locator('td').allTextContents();
    expect(row[columns.indexOf('未同步')]).toBe('1');
    const unsyncedTotal = page.getByTestId('district-total-未同步').locator('.ant-statistic-content-value');
    expect(Number(await unsyncedTotal.textContent())).toBeGreaterThanOrEqual(1);
    await page.locator('[role="img"] canvas').nth(1).waitFor();

    await table.getByRole('button', { name: '日报页面小学' }).click();
    await page.getByRole('dialog').getByTestId('report-summary').waitFor();
    expect(await page.getByRole('dialog').getByText('第 2 版 · 已上报').isVisible()).toBe(true);
    await page.context().close();
  });

  it('explains a day without school', async () => {
    const actor = { user: null, name: '测试', ip: null };
    const today = schoolDay(Date.now());
    const closed = await buildSchool(server.ctx, { name: '停课小学' });
    await buildStudent(server.ctx, closed.id, { grade: 2, classNumber: 1 });
    await markSchoolDays(server.ctx, actor, await getSchoolByCodeOrThrow(server.ctx, closed.code), { from: today, isSchoolDay: false, reason: '流感停课' });
    await createUser(server.ctx, { username: 'rpclosed', displayName: '王校长', role: 'school_admin', schoolCode: closed.code, password: PASSWORD }, null);

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'rpclosed', PASSWORD, '/reports');
    const hint = page.getByTestId('report-day-status');
    await hint.waitFor();
    expect(await hint.textContent()).toContain('本校停课：流感停课，不是上学日，不需要日报');

    await page.getByRole('button', { name: '生成日报' }).click();
    const error = page.getByRole('alert').filter({ hasText: '当天没有校门入校记录和晨午检记录，不需要生成日报' });
    await error.waitFor();
    expect(await error.textContent()).toContain(`${today}（`);
    await page.context().close();
  });

  it('notes records of a day without school', async () => {
    const actor = { user: null, name: '测试', ip: null };
    const today = schoolDay(Date.now());
    const checked = await buildSchool(server.ctx, { name: '晨检后停课小学' });
    const pupil = await buildStudent(server.ctx, checked.id, { grade: 2, classNumber: 1 });
    await buildStudent(server.ctx, checked.id, { grade: 2, classNumber: 1 });
    // The morning check was recorded while the day was a school day, and the school closed later.
    // The second pupil has no record and must not count as absent.
    await openSchoolToday(server.ctx, checked.code);
    await saveClassCheck(server.ctx, { userId: 'head-checked', name: '二(1)班班主任' }, checked.id, pupil.klass.id, { day: today, session: 'morning', entries: [{ personId: pupil.person.id, status: 'present' }] });
    await markSchoolDays(server.ctx, actor, await getSchoolByCodeOrThrow(server.ctx, checked.code), { from: today, isSchoolDay: false, reason: '流感停课' });
    await createUser(server.ctx, { username: 'rpchecked', displayName: '赵校长', role: 'school_admin', schoolCode: checked.code, password: PASSWORD }, null);

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'rpchecked', PASSWORD, '/reports');
    await page.getByTestId('report-day-status').waitFor();
    await page.getByRole('button', { name: '生成日报' }).click();
    const note = page.getByTestId('report-calendar-note');
    await note.waitFor();
    expect(await note.textContent()).toContain('本校停课：流感停课，不是上学日；当天有晨午检记录 1 条，日报按这些记录生成');
    const detail = page.getByTestId('report-detail');
    const gradeRow = detail.locator('tr.ant-table-row', { hasText: '二年级' });
    expect(await gradeRow.locator('td').allTextContents()).toEqual(['二年级', '非上学日', '1', '0', '0', '0', '—']);
    const figureCard = (title: string) => detail.locator('.ant-statistic').filter({ has: page.locator('.ant-statistic-title', { hasText: new RegExp(`^${title}$`) }) });
    expect(await figureCard('应到').locator('.ant-statistic-content').textContent()).toBe('非上学日');
    expect(await figureCard('缺勤').locator('.ant-statistic-content').textContent()).toBe('0');
    await page.getByRole('button', { name: '上报区教育局' }).click();
    await page.getByRole('button', { name: '确认上报' }).click();
    await page.getByText('第 1 版 · 已上报').first().waitFor();
    await page.context().close();
  });

  it('counts a late report as missed at the deadline', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'rpdistrict', PASSWORD, '/district-reports');
    const line = page.getByTestId('deadline-line');
    await line.waitFor();
    // At a 00:00 deadline every report of today came after it.
    await page.getByLabel('上报截止时间').fill('00:00');
    await page.getByRole('button', { name: '保存截止时间' }).click();
    await expect.poll(() => line.textContent()).toContain('上报截止时间 00:00');

    const text = await line.textContent();
    expect(text).not.toContain('所有学校均已上报');
    expect(text).toMatch(/截止时 \d+ 所学校未上报：[^。]*日报页面小学/);
    expect(text).toMatch(/其中 \d+ 所已逾期上报/);
    const row = page.getByTestId('district-report-table').locator('tr', { hasText: '日报页面小学' });
    expect(await row.getByText('逾期上报').isVisible()).toBe(true);

    await page.getByLabel('上报截止时间').fill('17:30');
    await page.getByRole('button', { name: '保存截止时间' }).click();
    await expect.poll(() => line.textContent()).toContain('上报截止时间 17:30');
    await page.context().close();
  });
});
