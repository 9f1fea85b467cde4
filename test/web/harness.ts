import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp, type RouteModule } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import type { HttpApp } from '../../src/http.js';
import { WEB_DIST_DIR } from '../../src/web-app.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** Browser tests run only where scripts/test.mjs found Chromium and set this. */
export const BROWSER_ENABLED = process.env.FANGKONG_TEST_BROWSER === '1';
export const CHROMIUM_PATH = process.env.FANGKONG_CHROMIUM ?? '/usr/bin/chromium';
export const BROWSER_SKIP_REASON =
  'browser tests skipped: FANGKONG_TEST_BROWSER is not 1. Run them through `npm test` (which sets it when /usr/bin/chromium exists) or set FANGKONG_TEST_BROWSER=1.';

/** Newest modification time of the files under `dir`, in ms. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Build web/dist with `npm run build:web` when it is missing, older than a file under
 * web/src or web/index.html, or when FANGKONG_REBUILD_WEB=1.
 */
export function ensureWebBuilt(): void {
  const builtIndex = join(WEB_DIST_DIR, 'index.html');
  const webRoot = dirname(WEB_DIST_DIR);
  const isFresh =
    existsSync(builtIndex) && statSync(builtIndex).mtimeMs >= Math.max(newestMtime(join(webRoot, 'src')), statSync(join(webRoot, 'index.html')).mtimeMs);
  if (isFresh && process.env.FANGKONG_REBUILD_WEB !== '1') return;

  // Test files run in parallel workers; one builds while the others wait for its lock.
  const lockDir = join(webRoot, '.build-lock');
  if (!tryLock(lockDir)) {
    waitForUnlock(lockDir);
    if (existsSync(builtIndex)) return;
    if (!tryLock(lockDir)) throw new Error(`another process holds ${lockDir}; remove it if no build is running`);
  }
  try {
    // Vitest sets NODE_ENV=test, and a console built with it differs from the one users get
    // (antd then gives generated elements the same id), so the build gets production.
    const result = spawnSync('npm', ['run', 'build:web'], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
    if (result.status !== 0) throw new Error(`npm run build:web failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function tryLock(lockDir: string): boolean {
  try {
    mkdirSync(lockDir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Block until the lock folder is gone, at most 3 minutes (a build takes well under one). */
function waitForUnlock(lockDir: string): void {
  const deadline = Date.now() + 180_000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (existsSync(lockDir)) {
    if (Date.now() > deadline) throw new Error(`${lockDir} still exists after 3 minutes; remove it if no build is running`);
    Atomics.wait(pause, 0, 0, 250);
  }
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
 * database, with `configOverrides` over the test config. The context reads the real
 * clock, because the browser shows times and days from its own clock.
 */
export async function startConsoleServer(extraModules: RouteModule[] = [], configOverrides: Partial<Config> = {}): Promise<ConsoleServer> {
  ensureWebBuilt();
  const t = await createTestDb('sqlite', configOverrides);
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
  /** A page in a context of its own, so each page starts signed out; `permissions` such as ['camera']. */
  newPage(viewport?: { width: number; height: number }, permissions?: string[]): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launch Debian's Chromium headless, with `extraArgs` after the defaults (a fake camera,
 * say). Playwright gives a non-persistent launch a new temporary user-data-dir and
 * removes it on close.
 */
export async function launchBrowser(extraArgs: string[] = []): Promise<ConsoleBrowser> {
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
      ...extraArgs,
    ],
  });
  return {
    browser,
    newPage: async (viewport = { width: 1440, height: 900 }, permissions = []) => {
      // Reduced motion turns the console's antd animations off (see web/src/main.tsx), so a
      // dialog that is still closing never takes the next click.
      const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport, permissions, reducedMotion: 'reduce' });
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
