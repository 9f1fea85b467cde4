// Takes a screenshot of every console page, the teacher's phone page and the gate kiosk at
// 1440x900 and 390x844 into docs/screenshots/. The real server runs on 127.0.0.1 with a
// fresh SQLite database seeded like `npm start`: the demo school of 2,880 synthetic pupils,
// one account per role and a replayed morning (health-code syncs, notices, six gate lanes).
// Run: node --import tsx scripts/screenshots.ts   (needs /usr/bin/chromium; about 3 minutes)
// FANGKONG_SCREENSHOTS=checks,follow-ups shoots only the pages named; `login` and `kiosk`
// name the sign-in page and the kiosk (its set-up and running screens). An unknown name
// stops the script before it starts the server, with the list of valid names.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { AppContext } from '../src/context.js';
import type { AuthUser } from '../src/modules/auth/scope.js';
import { createDevice } from '../src/modules/gate/devices.js';
import { setDistrictSyncEveryDay } from '../src/modules/healthcode/district-sync-service.js';
import { createVenueDevice } from '../src/modules/venues/service.js';
import { DEMO_PASSWORD, DEMO_SCHOOL, seedDemoDay, startDemoSimulators } from '../test/web/demo-day.js';
import { launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from '../test/web/harness.js';

const OUT_DIR = join(process.cwd(), 'docs', 'screenshots');
const VIEWPORTS = { desktop: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } } as const;

/**
 * Each page as the demo account whose work it is (src/demo/accounts.ts). A page with
 * `districtEveryDay` is shot while the district account has 全区每天同步 on, which is
 * switched off again after the shot.
 */
const PAGES: Array<{ name: string; path: string; user: string; open?: (page: Page) => Promise<void>; districtEveryDay?: true }> = [
  { name: 'dashboard', path: '/', user: 'principal' },
  { name: 'class', path: '/class', user: 'teacher23' },
  { name: 'persons', path: '/persons', user: 'principal' },
  { name: 'health-codes', path: '/health-codes', user: 'principal' },
  { name: 'person-detail', path: '/persons', user: 'principal', open: (page: Page) => page.getByTestId('person-name').first().click() },
  { name: 'code-history', path: '/health-codes', user: 'principal', open: (page: Page) => page.getByTestId('code-person').first().click() },
  { name: 'gate', path: '/gate', user: 'guard' },
  { name: 'alerts', path: '/alerts', user: 'principal' },
  { name: 'devices', path: '/devices', user: 'principal' },
  { name: 'settings', path: '/settings', user: 'principal' },
  { name: 'settings-gate', path: '/settings?tab=gate', user: 'principal' },
  { name: 'settings-sync', path: '/settings?tab=sync', user: 'principal' },
  { name: 'settings-retention', path: '/settings?tab=retention', user: 'principal' },
  { name: 'settings-dingtalk', path: '/settings?tab=dingtalk', user: 'principal' },
  { name: 'settings-calendar', path: '/settings?tab=calendar', user: 'principal' },
  { name: 'settings-calendar-district', path: '/settings?tab=calendar', user: 'district' },
  { name: 'settings-district', path: '/settings?tab=district', user: 'district', districtEveryDay: true },
  { name: 'settings-sync-district-on', path: '/settings?tab=sync', user: 'principal', districtEveryDay: true },
  { name: 'head-teacher-alerts', path: '/alerts', user: 'teacher23' },
  { name: 'district', path: '/district', user: 'district' },
  { name: 'reports', path: '/reports', user: 'principal' },
  { name: 'district-reports', path: '/district-reports', user: 'district' },
  { name: 'head-teacher-persons', path: '/persons', user: 'teacher23' },
  { name: 'visitors', path: '/visitors', user: 'guard' },
  { name: 'entry-windows', path: '/entry-windows', user: 'principal' },
  { name: 'entry-windows-guard', path: '/entry-windows', user: 'guard' },
  { name: 'checks', path: '/checks', user: 'teacher23' },
  { name: 'follow-ups', path: '/follow-ups', user: 'doctor' },
  { name: 'cluster-alerts', path: '/cluster-alerts', user: 'district' },
  { name: 'venues', path: '/venues', user: 'district' },
  { name: 'venue-tracing', path: '/venues', user: 'tracer' },
  { name: 'venue-devices', path: '/venues', user: 'district', open: (page: Page) => page.getByRole('row', { name: /K101-1 号车/ }).getByText('设备', { exact: true }).click() },
];

/** Shots outside PAGES: the sign-in page and the kiosk. */
const OTHER_SHOTS = ['login', 'kiosk'];

/** Page names to shoot, comma-separated (for example `checks,follow-ups`); all pages, the sign-in page and the kiosk when unset. */
const ONLY = process.env.FANGKONG_SCREENSHOTS?.split(',').map((name) => name.trim()).filter(Boolean);

const validNames = [...OTHER_SHOTS, ...PAGES.map((page) => page.name)];
const unknownNames = (ONLY ?? []).filter((name) => !validNames.includes(name));
if (unknownNames.length > 0 || ONLY?.length === 0) {
  const problem = unknownNames.length > 0 ? `unknown screenshot name(s) in FANGKONG_SCREENSHOTS: ${unknownNames.join(', ')}` : 'FANGKONG_SCREENSHOTS names no screenshot';
  console.error(`${problem}\nvalid names: ${validNames.join(', ')}\nleave FANGKONG_SCREENSHOTS unset to shoot them all`);
  process.exit(2);
}

/** True when the shot of this name is wanted: every shot when FANGKONG_SCREENSHOTS is unset. */
function wants(name: string): boolean {
  return !ONLY || ONLY.includes(name);
}

/**
 * Wait until the page's requests have settled and the charts have drawn. The gate stream
 * stays open, so "no request for 500 ms" never happens; spinners are the signal instead.
 */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await page.waitForFunction(() => document.querySelectorAll('.ant-spin-spinning, .ant-skeleton-active').length === 0, undefined, { timeout: 30_000 });
  await page.waitForTimeout(1200);
}

/** Turn 全区每天同步 on or off as the demo district account. */
async function switchDistrictEveryDay(ctx: AppContext, everyDay: boolean): Promise<void> {
  const user = await ctx.db.selectFrom('users').select(['id', 'username', 'school_id', 'display_name']).where('username', '=', 'district').executeTakeFirstOrThrow();
  await setDistrictSyncEveryDay(ctx, { user: { id: user.id, username: user.username, schoolId: user.school_id }, name: user.display_name, ip: null }, undefined, everyDay);
}

/** Register a staff phone and a card reader on the demo's first K101 bus, so the venue-devices drawer has rows. */
async function seedVenueDevices(ctx: AppContext): Promise<void> {
  const district = await ctx.db.selectFrom('users').select(['id', 'username', 'display_name']).where('username', '=', 'district').executeTakeFirstOrThrow();
  const actor: AuthUser = { id: district.id, username: district.username, displayName: district.display_name, role: 'district_admin', schoolId: null, classId: null, personId: null, sessionId: 'screenshots' };
  const bus = await ctx.db.selectFrom('venues').select('id').where('name', '=', 'K101-1 号车').executeTakeFirstOrThrow();
  await createVenueDevice(ctx, actor, { kind: 'staff_phone', name: '司机手机', venueId: bus.id });
  await createVenueDevice(ctx, actor, { kind: 'card_reader', name: '前门读卡器', venueId: bus.id });
}

async function shootKiosk(server: ConsoleServer, written: string[]): Promise<void> {
  const { device, key } = await createDevice(server.ctx, { schoolCode: DEMO_SCHOOL.code, kind: 'kiosk', name: '东门 4 号通道（平板）', lane: '东门' });
  // Chromium's built-in fake camera shows a moving test pattern, with no face in it.
  const browser: ConsoleBrowser = await launchBrowser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  try {
    for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
      const page = await browser.newPage(viewport, ['camera']);
      await page.goto(`${server.url}/kiosk`);
      await page.getByLabel('设备 ID').waitFor();
      await page.screenshot({ path: join(OUT_DIR, `kiosk-setup-${viewportName}.png`) });
      written.push(`kiosk-setup-${viewportName}.png`);

      await page.getByLabel('设备 ID').fill(device.id);
      await page.getByLabel('设备密钥').fill(key);
      await page.getByRole('button', { name: '保存并启动' }).click();
      await page.getByText('请正视摄像头').waitFor({ timeout: 120_000 });
      await page.getByLabel('体温').fill('36.5');
      await page.waitForTimeout(1000);
      await page.screenshot({ path: join(OUT_DIR, `kiosk-${viewportName}.png`) });
      written.push(`kiosk-${viewportName}.png`);
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
}

const { demo, overrides } = await startDemoSimulators();
const server = await startConsoleServer([], overrides);
const browser = await launchBrowser();
try {
  const morning = await seedDemoDay(server.ctx, demo);
  console.log(`seeded the demo school and replayed ${morning.day}: ${morning.gate.attempts} gate attempts`);
  if (wants('venue-devices')) await seedVenueDevices(server.ctx);
  mkdirSync(OUT_DIR, { recursive: true });
  const written: string[] = [];

  for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
    if (wants('login')) {
      const loginPage = await browser.newPage(viewport);
      await loginPage.goto(server.url + '/');
      await settle(loginPage);
      await loginPage.screenshot({ path: join(OUT_DIR, `login-${viewportName}.png`) });
      written.push(`login-${viewportName}.png`);
      await loginPage.context().close();
    }

    for (const entry of PAGES.filter((p) => wants(p.name))) {
      if (entry.districtEveryDay) await switchDistrictEveryDay(server.ctx, true);
      const page = await browser.newPage(viewport);
      await signInThroughPage(page, server.url, entry.user, DEMO_PASSWORD, entry.path);
      await settle(page);
      if (entry.open) {
        // A drawer over the page: shoot the viewport, with the drawer slid in and loaded.
        await entry.open(page);
        await settle(page);
      }
      const file = `${entry.name}-${viewportName}.png`;
      await page.screenshot({ path: join(OUT_DIR, file), fullPage: !entry.open });
      written.push(file);
      await page.context().close();
      if (entry.districtEveryDay) await switchDistrictEveryDay(server.ctx, false);
    }
  }
  if (wants('kiosk')) await shootKiosk(server, written);
  console.log(`wrote ${written.length} screenshots to ${OUT_DIR}`);
} finally {
  await browser.close();
  await server.close();
  await demo.close();
}
