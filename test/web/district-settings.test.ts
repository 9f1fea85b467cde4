import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { getDistrictSyncSettings } from '../../src/modules/healthcode/district-sync-service.js';
import { decideScheduledSync } from '../../src/modules/healthcode/service.js';
import { formatLocalDateTime, instantOf } from '../../src/shared/time.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const PHONE = { width: 390, height: 844 };
// 2026-12-12 is a Saturday, a day without school in the default calendar.
const SATURDAY = instantOf('2026-12-12', '10:00');

/** Flip the district switch and confirm in the pop-up. */
async function flipDistrictSwitch(page: Page, confirm: RegExp): Promise<void> {
  const card = page.getByTestId('district-sync');
  await card.getByRole('switch', { name: '全区每天同步' }).click();
  await page.locator('.ant-popconfirm').getByRole('button', { name: confirm }).click();
}

describe.skipIf(!BROWSER_ENABLED)('district settings in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'district-settings', '全区设置测试小学');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('district admin turns on every-day sync', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.district, WORLD_PASSWORD, '/settings?tab=district');
    const card = page.getByTestId('district-sync');
    await card.waitFor();
    expect(await card.getByTestId('district-sync-state').textContent()).toBe('未开启');
    expect(await card.getByTestId('district-sync-change').textContent()).toBe('尚未开启过');
    expect(await card.textContent()).toContain('全区 1 所学校');

    await flipDistrictSwitch(page, /开\s*启/);
    await page.getByText('已开启全区每天同步').waitFor();
    await expect.poll(() => card.getByTestId('district-sync-state').textContent()).toBe('已开启');

    const stored = await getDistrictSyncSettings(server.ctx, undefined);
    expect(stored.everyDay).toBe(true);
    expect(stored.changedByName).toBe('区教育局管理员');
    expect(await card.getByTestId('district-sync-change').textContent()).toBe(`由 区教育局管理员 于 ${formatLocalDateTime(stored.changedAt!)} 开启`);
    expect(await card.getByRole('switch', { name: '全区每天同步' }).getAttribute('aria-checked')).toBe('true');
    expect(await decideScheduledSync(server.ctx, world.school.id, SATURDAY)).toMatchObject({ runs: true, reason: '全区每天同步' });

    // The audit log names the action in Chinese.
    await page.getByRole('tab', { name: '审计日志' }).click();
    await page.locator('.ant-table-row', { hasText: '开启全区每天同步' }).first().waitFor();
    await page.context().close();
  });

  it('school sees the switch read-only', async () => {
    const stored = await getDistrictSyncSettings(server.ctx, undefined);
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=sync');
    const notice = page.getByTestId('district-every-day');
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`全区已开启每天同步（由 区教育局管理员 于 ${formatLocalDateTime(stored.changedAt!)} 开启）`);
    // Nothing in the notice switches it, and a school admin has no 全区设置 tab.
    expect(await notice.locator('button, [role="switch"]').count()).toBe(0);
    expect(await page.getByRole('tab', { name: '全区设置' }).count()).toBe(0);
    await page.context().close();
  });

  it('district admin turns it off again', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.district, WORLD_PASSWORD, '/settings?tab=district');
    const card = page.getByTestId('district-sync');
    await expect.poll(() => card.getByTestId('district-sync-state').textContent()).toBe('已开启');
    await flipDistrictSwitch(page, /关\s*闭/);
    await page.getByText('已关闭全区每天同步').waitFor();
    await expect.poll(() => card.getByTestId('district-sync-state').textContent()).toBe('未开启');
    expect(await card.getByTestId('district-sync-change').textContent()).toMatch(/^由 区教育局管理员 于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 关闭$/);
    expect((await getDistrictSyncSettings(server.ctx, undefined)).everyDay).toBe(false);

    // The school's tab, opened from the same session, no longer shows the notice.
    await page.getByRole('tab', { name: '同步时间' }).click();
    await page.getByTestId('sync-schedule').waitFor();
    expect(await page.getByTestId('district-every-day').count()).toBe(0);
    expect(await decideScheduledSync(server.ctx, world.school.id, SATURDAY)).toMatchObject({ runs: false, reason: '周六' });

    const actions = await server.ctx.db.selectFrom('audit_log').select('action').where('action', 'like', 'healthcode.district_every_day.%').orderBy('at').execute();
    expect(actions.map((row) => row.action)).toEqual(['healthcode.district_every_day.on', 'healthcode.district_every_day.off']);
    await page.context().close();
  });
});
