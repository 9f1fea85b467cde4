import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { login } from '../../src/modules/auth/service.js';
import { csrfTokenFor } from '../../src/modules/auth/plugin.js';
import { insertConsent } from '../../src/modules/people/store.js';
import { newId } from '../../src/shared/ids.js';
import { writeY4mFromPhoto } from './fake-camera.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const FACES = join(process.cwd(), 'test', 'fixtures', 'faces', 'face_recognition');
const ENROLLED_PHOTO = join(FACES, 'obama', 'obama.jpg');
const STRANGER_PHOTO = join(FACES, 'biden', 'biden2.jpg');
/** Loading the models and the first WebAssembly inference take a while on two shared cores. */
const DECISION_TIMEOUT_MS = 90_000;

/** Record each utterance the page passes to speechSynthesis.speak, by wrapping it. */
const RECORD_SPEECH = () => {
  const spoken: string[] = [];
  (window as unknown as { spokenPrompts: string[] }).spokenPrompts = spoken;
  if (!('speechSynthesis' in window)) return;
  const speak = window.speechSynthesis.speak.bind(window.speechSynthesis);
  window.speechSynthesis.speak = (utterance: SpeechSynthesisUtterance) => {
    spoken.push(`${utterance.lang}:${utterance.text}`);
    speak(utterance);
  };
};

/**
 * Make the page's browser one without WebGL, like an old tablet: every canvas refuses a
 * WebGL context. Headless Chromium otherwise renders WebGL in software (SwiftShader), and
 * --disable-3d-apis did not turn that off in Chromium's headless mode.
 */
const REMOVE_WEBGL = () => {
  for (const type of [HTMLCanvasElement, typeof OffscreenCanvas === 'undefined' ? null : OffscreenCanvas]) {
    if (!type) continue;
    const getContext = type.prototype.getContext as (this: unknown, id: string, options?: unknown) => unknown;
    type.prototype.getContext = function (this: unknown, id: string, options?: unknown) {
      return id.startsWith('webgl') || id === 'experimental-webgl' ? null : getContext.call(this, id, options);
    } as typeof type.prototype.getContext;
  }
};

/**
 * Launch a Chromium whose camera plays `videoFile` and set up a kiosk page with the
 * world's device. With `withoutWebGL` the page has no WebGL, so the kiosk falls back to
 * WebAssembly.
 */
async function openKiosk(server: ConsoleServer, world: ConsoleWorld, videoFile: string, withoutWebGL = false): Promise<{ browser: ConsoleBrowser; page: Page }> {
  const browser = await launchBrowser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${videoFile}`]);
  const page = await browser.newPage({ width: 1280, height: 800 }, ['camera']);
  await page.addInitScript(RECORD_SPEECH);
  if (withoutWebGL) await page.addInitScript(REMOVE_WEBGL);
  await page.goto(`${server.url}/kiosk`);

  // A wrong key is refused before anything is stored.
  await page.getByLabel('设备 ID').fill(world.device.device.id);
  await page.getByLabel('设备密钥').fill('wrong-key-0000000000000000000000000000000000');
  await page.getByRole('button', { name: '保存并启动' }).click();
  await expect.poll(() => page.getByTestId('kiosk-setup-error').textContent()).toContain('设备 ID 或密钥不正确');

  await page.getByLabel('设备密钥').fill(world.device.key);
  await page.getByRole('button', { name: '保存并启动' }).click();
  await page.getByLabel('体温').waitFor();
  return { browser, page };
}

async function waitForDecision(page: Page, decision: 'pass' | 'deny'): Promise<string> {
  const verdict = page.locator(`[data-testid="kiosk-verdict"][data-decision="${decision}"]`);
  await verdict.waitFor({ timeout: DECISION_TIMEOUT_MS });
  return (await verdict.textContent()) ?? '';
}

describe.skipIf(!BROWSER_ENABLED)('gate kiosk with a fake camera', () => {
  let server: ConsoleServer;
  let world: ConsoleWorld;
  let videoDir: string;
  const browsers: ConsoleBrowser[] = [];

  beforeAll(async () => {
    server = await startConsoleServer();
    world = await buildConsoleWorld(server.ctx, 'kiosk', '闸机测试小学');
    videoDir = await mkdtemp(join(tmpdir(), 'fangkong-kiosk-'));
    await writeY4mFromPhoto(ENROLLED_PHOTO, join(videoDir, 'enrolled.y4m'));
    await writeY4mFromPhoto(STRANGER_PHOTO, join(videoDir, 'stranger.y4m'));

    // Enrol the green-coded pupil through the face module's HTTP API, as an admin would,
    // after the guardian's consent to face recognition.
    await insertConsent(server.ctx.db, {
      id: newId(),
      person_id: world.classPupils[0].id,
      purpose: 'face',
      given_by: 'guardian',
      guardian_id: null,
      given_at: server.ctx.now(),
      revoked_at: null,
      note: null,
    });
    const { token } = await login(server.ctx, { username: world.users.principal, password: WORLD_PASSWORD });
    const csrf = csrfTokenFor(server.ctx, token);
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await readFile(ENROLLED_PHOTO))], { type: 'image/jpeg' }), 'photo.jpg');
    const enrolled = await fetch(`${server.url}/api/schools/${world.school.code}/persons/${world.classPupils[0].id}/face`, {
      method: 'POST',
      headers: { cookie: `fk_session=${token}; fk_csrf=${csrf}`, 'x-csrf-token': csrf },
      body: form,
    });
    expect(enrolled.status, await enrolled.clone().text()).toBe(200);
  }, 180_000);

  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await server?.close();
    if (videoDir) await rm(videoDir, { recursive: true, force: true });
  });

  it('lets the enrolled pupil through and speaks the prompt', async () => {
    const { browser, page } = await openKiosk(server, world, join(videoDir, 'enrolled.y4m'));
    browsers.push(browser);
    await page.getByLabel('体温').fill('36.5');

    const text = await waitForDecision(page, 'pass');
    expect(text).toContain('请通行');
    expect(text).toContain(world.classPupils[0].name);
    expect(text).toContain('体温正常，请通行');
    expect(await page.evaluate(() => (window as unknown as { spokenPrompts: string[] }).spokenPrompts)).toContain('zh-CN:体温正常，请通行');

    const events = await server.ctx.db
      .selectFrom('gate_events')
      .select(['person_id', 'method', 'decision', 'temperature'])
      .where('device_id', '=', world.device.device.id)
      .execute();
    expect(events).toContainEqual({ person_id: world.classPupils[0].id, method: 'face', decision: 'pass', temperature: 36.5 });
    // The same face standing at the lane is recorded once, not once a frame.
    await page.waitForTimeout(3000);
    const again = await server.ctx.db.selectFrom('gate_events').select('id').where('device_id', '=', world.device.device.id).execute();
    expect(again).toHaveLength(events.length);
    expect(await page.getByTestId('kiosk-status').textContent()).toMatch(/识别引擎 (WebGL|WebAssembly)/);
    await browser.close();
  }, 180_000);

  it('stops a stranger on WebAssembly, retrying through a network failure', async () => {
    const { browser, page } = await openKiosk(server, world, join(videoDir, 'stranger.y4m'), true);
    browsers.push(browser);
    const before = await server.ctx.db.selectFrom('gate_events').select('id').where('device_id', '=', world.device.device.id).execute();

    // The server is unreachable for the first attempts: the kiosk shows the outage and keeps the event.
    let aborted = 0;
    await page.route('**/api/devices/events', async (route) => {
      aborted += 1;
      await route.abort('connectionrefused');
    });
    await page.getByTestId('kiosk-banner').getByText('服务器连接中断，正在重试').waitFor({ timeout: DECISION_TIMEOUT_MS });
    await expect.poll(() => aborted, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await page.unroute('**/api/devices/events');

    const text = await waitForDecision(page, 'deny');
    expect(text).toContain('禁止通行');
    expect(text).toContain('未识别身份，请联系门卫');
    await expect.poll(() => page.getByTestId('kiosk-banner').count()).toBe(0);
    expect(await page.getByTestId('kiosk-status').textContent()).toContain('识别引擎 WebAssembly');

    const after = await server.ctx.db
      .selectFrom('gate_events')
      .select(['person_id', 'method', 'decision', 'reason'])
      .where('device_id', '=', world.device.device.id)
      .$if(before.length > 0, (query) => query.where('id', 'not in', before.map((row) => row.id)))
      .execute();
    // One event, however many attempts it took.
    expect(after).toEqual([{ person_id: null, method: 'face', decision: 'deny', reason: 'unknown_person' }]);
    await browser.close();
  }, 180_000);
});
