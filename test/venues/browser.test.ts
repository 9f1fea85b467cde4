import { tmpdir } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { AppContext } from '../../src/context.js';
import type { HttpApp } from '../../src/http.js';
import * as service from '../../src/modules/venues/service.js';
import { STAFF_PAGE_MESSAGES, frameHint } from '../../src/modules/venues/staff-page.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, type ConsoleBrowser } from '../web/harness.js';
import { buildVenue, makeUser, nextIdNumber, startVenueWorld, type VenueWorld } from './helpers.js';

const PHONE = { width: 390, height: 844 };
// The committed screenshot is refreshed only on request (FANGKONG_SCREENSHOTS=1), so a
// test run leaves the working tree clean; otherwise it goes to the temporary folder.
const SCREENSHOT = process.env.FANGKONG_SCREENSHOTS === '1' ? join('docs', 'screenshots', 'venue-checkin-phone.png') : join(tmpdir(), 'venue-checkin-phone.png');

if (!BROWSER_ENABLED) console.log(`[venues] ${BROWSER_SKIP_REASON}`);

describe.skipIf(!BROWSER_ENABLED)('check-in page in Chromium at phone size', () => {
  let world: VenueWorld;
  let ctx: AppContext;
  let app: HttpApp;
  let url: string;
  let browser: ConsoleBrowser;
  let venuePath: string;

  beforeAll(async () => {
    world = await startVenueWorld('sqlite');
    // The browser shows its own clock, so the server reads the real one too.
    ctx = { ...world.ctx, now: Date.now };
    app = await buildApp(ctx);
    url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
    const admin = await makeUser(ctx, 'district_admin');
    const venue = await buildVenue(ctx, admin, { name: '1001 号车', line: 'K101', plate: '浙A·12345' });
    venuePath = new URL(venue.codeUrl).pathname;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await world?.close();
  });

  it('checks in, shows a live result and remembers the person only when asked', async () => {
    const page = await browser.newPage(PHONE);
    const idNumber = nextIdNumber();
    await page.goto(url + venuePath);
    await expect(page.getByRole('heading', { name: 'K101路 浙A·12345' }).isVisible()).resolves.toBe(true);

    await page.getByLabel('姓名').fill('王小明');
    await page.getByLabel('身份证号', { exact: true }).fill(idNumber);
    await page.getByText('在本机记住我的信息').click();
    await page.getByRole('button', { name: '登记并查看健康码' }).click();
    await page.waitForURL(/\/v\/r\//);

    await expect(page.locator('[data-verdict]').getAttribute('data-verdict')).resolves.toBe('pass');
    await expect(page.getByText('绿码 可通行').isVisible()).resolves.toBe(true);
    await expect(page.getByText('王*明').isVisible()).resolves.toBe(true);
    await expect(page.getByText(idNumber).count()).resolves.toBe(0);

    // The clock ticks and the frame moves: a screenshot would show neither.
    const clock = page.locator('#clock');
    const first = await clock.textContent();
    expect(first).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    await page.waitForFunction((before) => document.getElementById('clock')?.textContent !== before, first, { timeout: 3000 });
    const frame = await page.locator('.frame').evaluate((el) => {
      const style = getComputedStyle(el);
      return { animation: style.animationName, day: style.getPropertyValue('--day').trim() };
    });
    expect(frame.animation).toBe('move');
    expect(frame.day).toBe(service.frameColorOf(ctx).css);

    // The result page fits a phone screen without sideways scrolling.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);

    mkdirSync(join('docs', 'screenshots'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // The ticked box filled the form on the next scan from this phone.
    await page.goto(url + venuePath);
    await expect(page.getByLabel('姓名').inputValue()).resolves.toBe('王小明');
    await expect(page.getByLabel('身份证号', { exact: true }).inputValue()).resolves.toBe(idNumber);

    // Clearing it leaves the next form empty.
    await page.getByText('清除本机记住的信息').click();
    await page.goto(url + venuePath);
    await expect(page.getByLabel('姓名').inputValue()).resolves.toBe('');
    await page.context().close();
  });

  it('keeps nothing on the phone when the box is not ticked', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(url + venuePath);
    await page.getByLabel('姓名').fill('李四');
    await page.getByLabel('手机号').fill('10012345678');
    await page.getByRole('button', { name: '登记并查看健康码' }).click();
    await page.waitForURL(/\/v\/r\//);
    await expect(page.getByText('无法核验', { exact: true }).isVisible()).resolves.toBe(true);

    await page.goto(url + venuePath);
    await expect(page.getByLabel('姓名').inputValue()).resolves.toBe('');
    await expect(page.evaluate(() => localStorage.length)).resolves.toBe(0);
    await page.context().close();
  });

  it('shows a refused code as a page, not a form', async () => {
    const page = await browser.newPage(PHONE);
    const response = await page.goto(url + venuePath.slice(0, -3) + 'xyz');
    expect(response?.status()).toBe(400);
    await expect(page.getByRole('heading', { name: '场所码无效：校验未通过' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('form').count()).resolves.toBe(0);
    await page.context().close();
  });

  it('lets staff register a person by hand', async () => {
    const admin = await makeUser(ctx, 'district_admin');
    const { key } = await service.createVenueDevice(ctx, admin, { kind: 'staff_phone', name: '司机手机', operator: '杭州公交集团' });
    const devices = await service.listVenueDevices(ctx, '杭州公交集团');
    const page = await browser.newPage(PHONE);
    await page.goto(`${url}/v/staff#key=${devices[devices.length - 1].id}.${key}`);
    await page.locator('#todayName').getByText(service.frameColorOf(ctx).name).waitFor();
    expect(new URL(page.url()).hash).toBe('');

    await page.getByLabel('姓名').fill('游客丙');
    await page.getByLabel('手机号（没有身份证号时填写）').fill('10066667777');
    await page.getByText('已查看本人健康码').click();
    await page.getByLabel('看到的健康码颜色').selectOption('green');
    await page.getByRole('button', { name: '登记', exact: true }).click();
    await page.locator('#result').getByText('游*丙', { exact: false }).waitFor();
    await expect(page.locator('#result').textContent()).resolves.toContain('✓ 绿码 可通行（人工核验）');

    const row = await ctx.db.selectFrom('venue_checkins').selectAll().where('name', '=', '游客丙').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ method: 'manual', code_seen: 1, seen_color: 'green', code_color: 'unknown' });
    await page.context().close();
  });

  it('shows a bus line typed with 路 once', async () => {
    const admin = await makeUser(ctx, 'district_admin');
    const bus = await buildVenue(ctx, admin, { name: '6061 号车', line: 'K606路', plate: '浙A·60601' });
    const page = await browser.newPage(PHONE);
    await page.goto(url + new URL(bus.codeUrl).pathname);
    await expect(page.getByRole('heading', { name: 'K606路 浙A·60601', exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.getByText('路路').count()).resolves.toBe(0);
    await page.context().close();
  });

  it('names the venue and its customers on a market staff phone', async () => {
    const admin = await makeUser(ctx, 'district_admin');
    const market = await buildVenue(ctx, admin, { kind: 'shop', name: '城东菜场', operator: '城东菜场管理处', address: '城东路 18 号', line: null, plate: null });
    const { device, key } = await service.createVenueDevice(ctx, admin, { kind: 'staff_phone', name: '店员手机', venueId: market.id });
    const page = await browser.newPage(PHONE);
    await page.goto(`${url}/v/staff#key=${device.id}.${key}`);
    await page.locator('#todayName').getByText(service.frameColorOf(ctx).name).waitFor();

    await expect(page.locator('#venueName').textContent()).resolves.toBe('城东菜场');
    await expect(page.locator('#device').textContent()).resolves.toBe('城东菜场管理处 · 店员手机');
    await expect(page.locator('#frameHint').textContent()).resolves.toBe(frameHint('shop'));
    await expect(page.getByText('乘客').count()).resolves.toBe(0);

    // An unregistered card points staff to the 代为登记 tab, not to "staff".
    await page.getByRole('button', { name: '输入卡号' }).click();
    await page.getByLabel('卡号（老年卡、学生卡、市民卡）').fill('9900 5678');
    await page.getByRole('button', { name: '按卡号登记' }).click();
    await page.locator('#result').getByText('卡未登记').waitFor();
    const message = await page.locator('#result').textContent();
    expect(message).toBe(STAFF_PAGE_MESSAGES.unknownCard.replace('{masked}', '5678'));
    expect(message).toContain('点上方“代为登记”');
    expect(message).not.toContain('请由工作人员');
    await page.context().close();
  });

  it('tells staff to open the link without a key', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${url}/v/staff`);
    await page.getByText('请用管理员发给您的“工作人员手机”设置链接打开本页。').waitFor();
    await expect(page.locator('#work').isVisible()).resolves.toBe(false);
    await page.context().close();
  });

  it('explains a wrong staff phone key in Chinese', async () => {
    const admin = await makeUser(ctx, 'district_admin');
    await service.createVenueDevice(ctx, admin, { kind: 'staff_phone', name: '店员手机', operator: '西湖商场' });
    const [device] = await service.listVenueDevices(ctx, '西湖商场');
    const page = await browser.newPage(PHONE);
    await page.goto(`${url}/v/staff#key=${device.id}.${'x'.repeat(43)}`);
    const error = page.locator('#setupError');
    await error.getByText('设备密钥无效').waitFor();
    const text = (await error.textContent()) ?? '';
    expect(text).toBe(STAFF_PAGE_MESSAGES.rejectedKey);
    expect(text).toContain('重新发一个“工作人员手机”设置链接');
    expect(text).not.toMatch(/[A-Za-z]/);
    await expect(page.locator('#work').isVisible()).resolves.toBe(false);
    await page.context().close();
  });

  it.each([
    ['a truncated key', 'abc'],
    ['broken percent-encoding', '%E0%A4%A'],
    ['non-Latin-1 characters', encodeURIComponent('密钥')],
  ])('explains a set-up link with %s', async (_, hashKey) => {
    const page = await browser.newPage(PHONE);
    const failures: string[] = [];
    page.on('pageerror', (error) => failures.push(error.message));
    await page.goto(`${url}/v/staff#key=${hashKey}`);
    const error = page.locator('#setupError');
    await error.getByText('设置链接不完整或有误').waitFor();
    expect(await error.textContent()).toBe(STAFF_PAGE_MESSAGES.brokenLink);
    expect(failures).toEqual([]);
    await expect(page.evaluate(() => localStorage.getItem('fk_venue_staff_key'))).resolves.toBeNull();
    await page.context().close();
  });

  it('explains a retired staff phone on submit', async () => {
    const admin = await makeUser(ctx, 'district_admin');
    const { key } = await service.createVenueDevice(ctx, admin, { kind: 'staff_phone', name: '停用手机', operator: '运河公交' });
    const [device] = await service.listVenueDevices(ctx, '运河公交');
    const page = await browser.newPage(PHONE);
    await page.goto(`${url}/v/staff#key=${device.id}.${key}`);
    await page.locator('#todayName').getByText(service.frameColorOf(ctx).name).waitFor();

    await service.retireVenueDevice(ctx, admin, device.id);
    await page.getByLabel('姓名').fill('游客丁');
    await page.getByLabel('手机号（没有身份证号时填写）').fill('10066668888');
    await page.getByRole('button', { name: '登记', exact: true }).click();
    await page.locator('#result').getByText('设备密钥无效').waitFor();
    await expect(page.locator('#result').textContent()).resolves.toBe(STAFF_PAGE_MESSAGES.rejectedKey);
    await expect(page.getByLabel('姓名').inputValue()).resolves.toBe('游客丁');
    await page.context().close();
  });
});
