// Time from navigation until the console's dashboard of the demo school is interactive,
// beside an empty Ant Design page built and served the same way.
//
// The server runs on 127.0.0.1 with a fresh SQLite database seeded like `npm start`: the
// demo school (2,880 pupils, 123 staff) and its replayed morning (three health-code syncs,
// about 3,000 gate events, alerts and notices). Debian's Chromium opens '/' as the demo
// principal, five times, each in a new browser context (empty HTTP cache, the session
// cookie already set). "Interactive" is the first animation frame in which every headline
// figure shows a number, the four charts have drawn and the live feed lists decisions,
// timed with performance.now() from the start of navigation. The baseline is a page with
// one Ant Design card and button (bench/empty-antd), built by Vite and served by Fastify
// with @fastify/static, timed to the frame its button appears in. Before the browser runs,
// it also times GET /codes (every person's code, which the dashboard read before) against
// GET /code-counts (the colour counts it reads now), in process, median of five.
//
// Run: npm run bench -- dashboard   (needs /usr/bin/chromium; about 3 minutes)
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import react from '@vitejs/plugin-react';
import { build } from 'vite';
import type { Browser, BrowserContext } from 'playwright-core';
import { WEB_DIST_DIR } from '../src/web-app.js';
import { DEMO_PASSWORD, seedDemoDay, startDemoSimulators } from '../test/web/demo-day.js';
import { launchBrowser, startConsoleServer } from '../test/web/harness.js';

const RUNS = 5;
const VIEWPORT = { width: 1440, height: 900 };

/** True once the dashboard shows every figure, has drawn its charts and lists live decisions. */
function isDashboardReady(): boolean {
  const tiles = [...document.querySelectorAll('[data-testid^="tile-"] .ant-statistic-content-value')];
  const figuresShown = tiles.length >= 5 && tiles.every((tile) => /\d/.test(tile.textContent ?? ''));
  const charts = document.querySelectorAll('[role="img"] canvas').length;
  const feed = document.querySelectorAll('[data-testid="live-feed"] .fk-line').length;
  return figuresShown && charts >= 4 && feed > 0;
}

function isEmptyPageReady(): boolean {
  return document.getElementById('ready') !== null;
}

/**
 * Open `url` in a new context and return the milliseconds from navigation start to the
 * first frame in which `ready` holds, and to the first contentful paint.
 */
async function measure(browser: Browser, url: string, ready: () => boolean, storageState?: Awaited<ReturnType<BrowserContext['storageState']>>) {
  const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport: VIEWPORT, storageState });
  const page = await context.newPage();
  try {
    await page.goto(url, { waitUntil: 'commit' });
    const readyAt = await page.waitForFunction(
      (source) => {
        const check = new Function(`return (${source})()`) as () => boolean;
        return check() ? performance.now() : false;
      },
      ready.toString(),
      { polling: 'raf', timeout: 60_000 },
    );
    const interactiveMs = (await readyAt.jsonValue()) as number;
    if (process.env.BENCH_TRACE === '1') {
      const entries = await page.evaluate(() =>
        performance.getEntriesByType('resource').map((e) => `${e.startTime.toFixed(0)}-${(e as PerformanceResourceTiming).responseEnd.toFixed(0)} ${e.name.replace(location.origin, '')}`),
      );
      console.log(`ready at ${interactiveMs.toFixed(0)} ms; requests:\n  ${entries.join('\n  ')}`);
    }
    // The paint entry is recorded after the frame that drew it, so it may lag the ready frame.
    const paint = await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? false, undefined, { timeout: 5000 });
    const paintMs = (await paint.jsonValue()) as number;
    return { interactiveMs, paintMs };
  } finally {
    await context.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function summary(label: string, values: number[]): string {
  return `${label}: median ${median(values).toFixed(0)} ms (runs: ${values.map((v) => v.toFixed(0)).join(', ')})`;
}

function scriptBytes(dir: string): number {
  const assets = join(dir, 'assets');
  return readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + statSync(join(assets, name)).size, 0);
}

async function buildEmptyPage(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'fangkong-empty-antd-'));
  await build({ root: join(import.meta.dirname, 'empty-antd'), configFile: false, plugins: [react()], logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

const { demo, overrides } = await startDemoSimulators();
const server = await startConsoleServer([], overrides);
const emptyDir = await buildEmptyPage();
const emptyServer = Fastify();
await emptyServer.register(fastifyStatic, { root: emptyDir });
const emptyUrl = await emptyServer.listen({ host: '127.0.0.1', port: 0 });
const { browser } = await launchBrowser();

try {
  const seedStarted = Date.now();
  const morning = await seedDemoDay(server.ctx, demo);
  console.log(`seeded the demo school and replayed ${morning.day} in ${((Date.now() - seedStarted) / 1000).toFixed(0)} s: ${morning.gate.attempts} gate attempts`);

  // Sign in once; every measured context starts with this session cookie.
  const signIn = await browser.newContext();
  const response = await signIn.request.post(`${server.url}/api/auth/login`, { data: { username: 'principal', password: DEMO_PASSWORD } });
  if (!response.ok()) throw new Error(`sign-in failed: ${response.status()} ${await response.text()}`);
  const storageState = await signIn.storageState();

  // The dashboard's code figures come from the counts endpoint; the full list is what it read before.
  const cookie = (await signIn.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  for (const path of ['codes', 'code-counts']) {
    const times: number[] = [];
    for (let run = 0; run < RUNS + 1; run++) {
      const started = performance.now();
      const reply = await server.app.inject({ method: 'GET', url: `/api/schools/demo-primary/${path}`, headers: { cookie } });
      if (reply.statusCode !== 200) throw new Error(`GET ${path} failed: ${reply.statusCode}`);
      if (run > 0) times.push(performance.now() - started);
    }
    console.log(summary(`GET /api/schools/:code/${path} in process`, times));
  }

  await signIn.close();

  // One unmeasured load of each warms the server's caches, as any earlier visit would.
  await measure(browser, `${server.url}/`, isDashboardReady, storageState);
  await measure(browser, emptyUrl, isEmptyPageReady);

  const dashboard = { interactive: [] as number[], paint: [] as number[] };
  const empty = { interactive: [] as number[], paint: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    const d = await measure(browser, `${server.url}/`, isDashboardReady, storageState);
    dashboard.interactive.push(d.interactiveMs);
    dashboard.paint.push(d.paintMs);
    const e = await measure(browser, emptyUrl, isEmptyPageReady);
    empty.interactive.push(e.interactiveMs);
    empty.paint.push(e.paintMs);
  }

  console.log(`load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`script: console ${(scriptBytes(WEB_DIST_DIR) / 1024).toFixed(0)} KiB (all chunks), empty page ${(scriptBytes(emptyDir) / 1024).toFixed(0)} KiB`);
  console.log(summary('dashboard interactive', dashboard.interactive));
  console.log(summary('dashboard first contentful paint', dashboard.paint));
  console.log(summary('empty Ant Design page interactive', empty.interactive));
  console.log(summary('empty Ant Design page first contentful paint', empty.paint));
  const verdict = median(dashboard.interactive) <= 1500 ? 'within' : 'over';
  console.log(`dashboard median ${verdict} the 1,500 ms target; ${(median(dashboard.interactive) / median(empty.interactive)).toFixed(1)}x the empty page`);
} finally {
  await browser.close();
  await emptyServer.close();
  await server.close();
  await demo.close();
}
