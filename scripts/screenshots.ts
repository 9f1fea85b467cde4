// Takes a screenshot of every console page at 1440x900 and 390x844 into docs/screenshots/,
// against the real server on 127.0.0.1 with a fresh SQLite database and synthetic people.
// Run: node --import tsx scripts/screenshots.ts   (needs /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createUser } from '../src/modules/auth/service.js';
import { buildSchool, buildStaff, buildStudent } from '../test/helpers/factories.js';
import { launchBrowser, signInThroughPage, startConsoleServer, type ConsoleServer } from '../test/web/harness.js';

const OUT_DIR = join(process.cwd(), 'docs', 'screenshots');
const PASSWORD = 'Screenshot-Pass-1';
const VIEWPORTS = { desktop: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } } as const;

const PAGES = [
  { name: 'dashboard', path: '/', user: 'school-admin' },
  { name: 'persons', path: '/persons', user: 'school-admin' },
  { name: 'health-codes', path: '/health-codes', user: 'school-admin' },
  { name: 'gate', path: '/gate', user: 'school-admin' },
  { name: 'alerts', path: '/alerts', user: 'school-admin' },
  { name: 'devices', path: '/devices', user: 'school-admin' },
  { name: 'settings', path: '/settings', user: 'school-admin' },
  { name: 'district', path: '/district', user: 'district-admin' },
  { name: 'head-teacher-persons', path: '/persons', user: 'head-teacher' },
];

/** A school of three classes with synthetic pupils and the three accounts the pages are shown as. */
async function seed(server: ConsoleServer): Promise<void> {
  const school = await buildSchool(server.ctx, { code: 'SY001', name: '实验小学' });
  for (const classNumber of [1, 2, 3]) {
    for (let i = 0; i < 8; i++) await buildStudent(server.ctx, school.id, { grade: 2, classNumber });
  }
  await buildStaff(server.ctx, school.id, 'school_doctor');
  await createUser(server.ctx, { username: 'district-admin', displayName: '区教育局管理员', role: 'district_admin', password: PASSWORD }, null);
  await createUser(server.ctx, { username: 'school-admin', displayName: '李校长', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
  await createUser(server.ctx, { username: 'head-teacher', displayName: '王老师', role: 'head_teacher', schoolCode: school.code, className: '二(2)班', password: PASSWORD }, null);
}

/** Wait until no request is in flight and the charts have drawn. */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(600);
}

const server = await startConsoleServer();
const browser = await launchBrowser();
try {
  await seed(server);
  mkdirSync(OUT_DIR, { recursive: true });
  const written: string[] = [];

  for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
    const loginPage = await browser.newPage(viewport);
    await loginPage.goto(server.url + '/');
    await settle(loginPage);
    await loginPage.screenshot({ path: join(OUT_DIR, `login-${viewportName}.png`) });
    written.push(`login-${viewportName}.png`);
    await loginPage.context().close();

    for (const entry of PAGES) {
      const page = await browser.newPage(viewport);
      await signInThroughPage(page, server.url, entry.user, PASSWORD, entry.path);
      await settle(page);
      const file = `${entry.name}-${viewportName}.png`;
      await page.screenshot({ path: join(OUT_DIR, file), fullPage: true });
      written.push(file);
      await page.context().close();
    }
  }
  console.log(`wrote ${written.length} screenshots to ${OUT_DIR}`);
} finally {
  await browser.close();
  await server.close();
}
