import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { WEEKDAY_NAMES, addDays } from '../../src/modules/calendar/calendar-rules.js';
import { getSchoolDayStatus } from '../../src/modules/calendar/service.js';
import { schoolDay } from '../../src/shared/time.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const PHONE = { width: 390, height: 844 };
const today = () => schoolDay(Date.now());
const weekdayName = (day: string) => WEEKDAY_NAMES[new Date(`${day}T00:00:00Z`).getUTCDay()];

/** Pick a span in an antd range picker by typing both days. */
async function pickRange(page: Page, scope: ReturnType<Page['getByTestId']>, from: string, to: string): Promise<void> {
  await scope.getByPlaceholder('开始日期').click();
  await scope.getByPlaceholder('开始日期').fill(from);
  await page.keyboard.press('Enter');
  await scope.getByPlaceholder('结束日期').fill(to);
  await page.keyboard.press('Enter');
}

describe.skipIf(!BROWSER_ENABLED)('school calendar in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'calendar', '校历测试小学');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('district admin sets a district holiday', async () => {
    const from = addDays(today(), 20);
    const to = addDays(today(), 22);
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.district, WORLD_PASSWORD, '/settings?tab=calendar');
    const district = page.getByTestId('district-calendar');
    await district.waitFor();
    await pickRange(page, district, from, to);
    await district.getByLabel('原因').fill('冬季防疫放假');
    await district.getByRole('button', { name: /添\s*加/ }).click();
    await page.getByText('已设置 3 天').waitFor();

    const row = district.locator('tr', { hasText: '冬季防疫放假' });
    await expect.poll(() => row.textContent()).toContain(`${from}（${weekdayName(from)}）至 ${to}（${weekdayName(to)}），3 天`);
    expect(await row.textContent()).toContain('放假');
    expect((await getSchoolDayStatus(server.ctx, world.school.id, addDays(today(), 21))).label).toBe('全区放假：冬季防疫放假');
    await page.context().close();
  });

  it('principal closes the school today and sees it in the month', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=calendar');
    const district = page.getByTestId('district-calendar');
    await district.getByText('冬季防疫放假').waitFor();
    // The district's calendar is read-only for a school.
    expect(await district.getByRole('button', { name: /添\s*加/ }).count()).toBe(0);

    const school = page.getByTestId('school-calendar');
    await pickRange(page, school, today(), today());
    await school.getByText('停课', { exact: true }).click();
    await school.getByLabel('原因').fill('流感停课');
    await school.getByRole('button', { name: /添\s*加/ }).click();
    await page.getByText('已设置 1 天').waitFor();

    const month = page.getByTestId('calendar-month');
    await expect.poll(() => month.textContent()).toContain(`${today()}（${weekdayName(today())}）本校停课：流感停课`);
    expect(await month.locator('.calendar-day-off').count()).toBeGreaterThan(0);
    const audited = await server.ctx.db.selectFrom('audit_log').select(['action', 'target']).where('action', 'like', 'calendar.%').orderBy('at').execute();
    expect(audited.map((a) => a.action)).toEqual(['calendar.district.mark', 'calendar.school.mark']);
    expect(audited[1]!.target).toBe(world.school.code);
    await page.context().close();
  });

  it('head teacher sees no check is due on the closed day', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/checks');
    const notice = page.getByTestId('not-school-day');
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`${today()}（${weekdayName(today())}）本校停课：流感停课，不是上学日，无需晨午检`);
    expect(await page.getByTestId('check-save').count()).toBe(0);
    await page.context().close();
  });

  it('district page shows the closed school without arrivals due', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.district, WORLD_PASSWORD, '/district');
    const arrivals = page.getByTestId(`arrivals-${world.school.code}`);
    await expect.poll(() => arrivals.textContent()).toContain('今天不上学');
    await page.context().close();
  });
});
