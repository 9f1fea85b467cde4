import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp, type RouteModule } from '../../src/app.js';
import type { AppContext } from '../../src/context.js';
import type { HttpApp } from '../../src/http.js';
import { WEB_DIST_DIR } from '../../src/web-app.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** Browser tests run only where scripts/test.mjs found Chromium and set this. */
export const BROWSER_ENABLED = process.env.FANGKONG_TEST_BROWSER === '1';
export const CHROMIUM_PATH = process.env.FANGKONG_CHROMIUM ?? '/usr/bin/chromium';
export const BROWSER_SKIP_REASON =
  'browser tests skipped: FANGKONG_TEST_BROWSER is not 1. Run them through `npm test` (which sets it when /usr/bin/chromium exists) or set FANGKONG_TEST_BROWSER=1.';

/** Build web/dist with `npm run build:web` unless it is there already. */
export function ensureWebBuilt(): void {
  if (existsSync(join(WEB_DIST_DIR, 'index.html')) && process.env.FANGKONG_REBUILD_WEB !== '1') return;
  const result = spawnSync('npm', ['run', 'build:web'], { encoding: 'utf8', stdio: 'pipe' });
  if (result.status !== 0) throw new Error(`npm run build:web failed:\n${result.stdout}\n${result.stderr}`);
}

export interface ConsoleServer {
  t: TestDb;
  ctx: AppContext;
  app: HttpApp;
  /** http://127.0.0.1:PORT without a trailing slash. */
  url: string;
  /** True when the server registered `method path` (path with :params), read from its OpenAPI document. */
  hasRoute(method: string, path: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Start the real server on 127.0.0.1 with a port the system picks and a fresh SQLite
 * database. The context reads the real clock, because the browser shows times and days
 * from its own clock.
 */
export async function startConsoleServer(extraModules: RouteModule[] = []): Promise<ConsoleServer> {
  ensureWebBuilt();
  const t = await createTestDb('sqlite');
  const ctx: AppContext = { ...t.ctx, now: Date.now };
  const app = await buildApp(ctx, extraModules);
  const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');

  const hasRoute = async (method: string, path: string) => {
    const document = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const openApiPath = path.replace(/:([A-Za-z_]\w*)/g, '{$1}');
    return Boolean(document.paths[openApiPath]?.[method.toLowerCase()]);
  };

  return {
    t,
    ctx,
    app,
    url,
    hasRoute,
    close: async () => {
      await app.close();
      await t.close();
    },
  };
}

export interface ConsoleBrowser {
  browser: Browser;
  /** A page in a context of its own, so each page starts signed out. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launch Debian's Chromium headless. Playwright gives a non-persistent launch a new
 * temporary user-data-dir and removes it on close.
 */
export async function launchBrowser(): Promise<ConsoleBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    newPage: async (viewport = { width: 1440, height: 900 }) => {
      const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport });
      return context.newPage();
    },
    close: () => browser.close(),
  };
}

/** Sign in through the login form and wait for the signed-in layout. */
export async function signInThroughPage(page: Page, baseUrl: string, username: string, password: string, path = '/'): Promise<void> {
  await page.goto(baseUrl + path);
  await page.getByLabel('用户名', { exact: true }).fill(username);
  await page.getByLabel('密码', { exact: true }).fill(password);
  await page.getByRole('button', { name: /登\s*录/ }).click();
  await page.getByTestId('user-menu').waitFor();
}
