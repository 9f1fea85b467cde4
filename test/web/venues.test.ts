import { tmpdir } from 'node:os';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/modules/auth/service.js';
import { createSchool } from '../../src/modules/people/service.js';
import { recordCheckin } from '../../src/modules/venues/checkin.js';
import * as venueService from '../../src/modules/venues/service.js';
import * as venueStore from '../../src/modules/venues/store.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { makeIdNumber } from '../../src/shared/synthetic.js';
import { formatLocalDateTime } from '../../src/shared/time.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const PASSWORD = 'venue-page-password';
/** Where the phone-width test saves its screenshots for a person to look at. */
const SCREENSHOT_DIR = process.env.FANGKONG_SCREENSHOT_DIR ?? tmpdir();

describe.skipIf(!BROWSER_ENABLED)('venue code page in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let admin: AuthUser;
  const passenger = { name: '周小雨', idNumber: makeIdNumber(7301, '1990-05-06') };

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    const account = await createUser(server.ctx, { username: 'venueadmin', displayName: '区交通专员', role: 'district_admin', password: PASSWORD }, null);
    await createUser(server.ctx, { username: 'tracer', displayName: '流调专员', role: 'task_force', password: PASSWORD }, null);
    admin = { id: account.id, username: 'venueadmin', displayName: '区交通专员', role: 'district_admin', schoolId: null, classId: null, personId: null, sessionId: 'test' };

    // A bus of line K88 with one check-in an hour ago, found later by tracing.
    const [bus] = await venueService.createVenues(server.ctx, admin, [{ kind: 'bus', name: '8801 号车', operator: '城西公交', line: 'K88', plate: '浙A·88001' }]);
    const venue = await venueStore.findVenue(server.ctx.db, bus.id);
    const at = Date.now() - 60 * 60_000;
    await recordCheckin({ ...server.ctx, now: () => at }, { venue: venue!, method: 'scan', identity: passenger });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('registers a bus and offers its poster', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    await page.getByRole('tab', { name: '场所与场所码' }).waitFor();

    await page.getByRole('button', { name: '登记场所' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: /登\s*记/ }).click();
    // The browser checks the form before anything is sent.
    await dialog.getByText('请填写场所名称').waitFor();
    await dialog.getByText('公交车请填写线路').waitFor();

    await dialog.getByLabel('名称').fill('8802 号车');
    await dialog.getByLabel('运营单位').fill('城西公交');
    // Typed as people say it: the line is stored as K88 and shown with one 路.
    await dialog.getByLabel('线路').fill('K88路');
    await dialog.getByLabel('车牌').fill('ABC');
    await dialog.getByRole('button', { name: /登\s*记/ }).click();
    await dialog.getByText('车牌号“ABC”格式不对，应为省份简称、一个字母，再加 5 位字母或数字（新能源车 6 位），例如 浙A·10101').waitFor();
    await dialog.getByLabel('车牌').fill('浙A·88002');
    await dialog.getByRole('button', { name: /登\s*记/ }).click();
    await page.getByText('已登记场所“8802 号车”').waitFor();

    const row = page.getByRole('row', { name: /8802 号车/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('K88路 浙A·88002');
    expect(await row.textContent()).not.toContain('路路');
    const poster = await row.getByRole('link', { name: '海报' }).getAttribute('href');
    expect(poster).toMatch(/^\/api\/venues\/\w+\/poster$/);
    const response = await page.request.get(server.url + poster);
    expect(response.status()).toBe(200);
    expect(await response.text()).toContain('K88路 浙A·88002');
    await page.context().close();
  });

  it('shows why a duplicate bus is rejected', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    await page.getByRole('button', { name: '登记场所' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('名称').fill('8809 号车');
    await dialog.getByLabel('运营单位').fill('城西公交');
    await dialog.getByLabel('线路').fill('K88');
    await dialog.getByLabel('车牌').fill('浙A88001');
    await dialog.getByRole('button', { name: /登\s*记/ }).click();

    await dialog.getByText('车牌“浙A88001”已属于在用车辆“8801 号车”（公交车，K88路 浙A·88001，城西公交）').waitFor();
    expect(await dialog.textContent()).toContain('请先停用它的场所码');
    const stored = await venueStore.listVenues(server.ctx.db, { search: '8809', limit: 10, offset: 0 });
    expect(stored.total).toBe(0);
    await page.context().close();
  });

  it('registers a staff phone and disables it', async () => {
    const page = await browser.newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    await page.getByRole('row', { name: /8801 号车/ }).getByText('设备', { exact: true }).click();
    const drawer = page.getByRole('dialog', { name: '读卡器与工作人员手机 · 8801 号车' });
    await drawer.getByText('还没有登记设备').waitFor();

    await drawer.getByRole('button', { name: '登记设备' }).click();
    const form = page.getByRole('dialog', { name: '登记设备：8801 号车' });
    await form.getByRole('button', { name: /登\s*记/ }).click();
    await form.getByText('请输入设备名称').waitFor();
    await form.getByLabel('设备名称').fill('司机手机');
    await form.getByRole('button', { name: /登\s*记/ }).click();

    const keyDialog = page.getByRole('dialog', { name: '已登记“司机手机”' });
    const credential = (await keyDialog.getByTestId('device-key-value').textContent())!.trim();
    expect(credential).toMatch(/^[0-9A-Z]{26}\.[\w-]{43}$/);
    await keyDialog.getByTestId('device-key-value').locator('.ant-typography-copy').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(credential);
    const setupUrl = (await keyDialog.getByTestId('device-setup-url').textContent())!.trim();
    expect(setupUrl).toBe(`${server.ctx.config.venues.publicUrl}/v/staff#key=${credential}`);
    await keyDialog.getByRole('button', { name: '我已保存密钥' }).click();

    // The key is shown once: the device list and the page no longer contain it.
    const row = drawer.getByRole('row', { name: /司机手机/ });
    await row.getByText('在用').waitFor();
    expect(await page.locator('body').textContent()).not.toContain(credential.split('.')[1]);

    // The staff page takes the key from the set-up link and works with it.
    const phone = await browser.newPage({ width: 390, height: 844 });
    await phone.goto(`${server.url}/v/staff#key=${credential}`);
    // The header names the venue; the operator and the device come second.
    await expect.poll(() => phone.locator('#venueName').textContent()).toBe('K88路 浙A·88001');
    await expect.poll(() => phone.locator('#device').textContent()).toBe('城西公交 · 司机手机');
    await expect.poll(() => phone.locator('#frameHint').textContent()).toBe('乘客出示的页面边框不是这个颜色、或时钟不走，就不是当场核验的页面。');

    // A second active device of the same name at this venue is rejected by name.
    await drawer.getByRole('button', { name: '登记设备' }).click();
    await form.getByLabel('设备名称').fill('司机手机');
    await form.getByRole('button', { name: /登\s*记/ }).click();
    await form.getByText('场所“8801 号车”已有在用设备“司机手机”（工作人员手机）', { exact: false }).waitFor();
    await form.getByRole('button', { name: /取\s*消/ }).click();

    await row.getByRole('button', { name: /停\s*用/ }).click();
    await page.getByRole('tooltip').getByRole('button', { name: /停\s*用/ }).click();
    await page.getByText('已停用“司机手机”，其密钥不再有效').waitFor();
    await row.getByText('已停用').waitFor();
    expect(await row.getByRole('button', { name: '更换密钥' }).count()).toBe(0);

    // The phone keeps the key, and the staff page now says it was rejected.
    await phone.reload();
    await expect.poll(() => phone.locator('#setupError').textContent()).toContain('这台手机保存的设备密钥无效，或设备已被停用');
    expect(await phone.locator('#work').getAttribute('class')).toBe('hidden');
    await phone.context().close();
    await page.context().close();
  });

  it('rotates a venue device key', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    await page.getByRole('row', { name: /8801 号车/ }).getByText('设备', { exact: true }).click();
    const drawer = page.getByRole('dialog', { name: '读卡器与工作人员手机 · 8801 号车' });
    await drawer.getByRole('button', { name: '登记设备' }).click();
    const form = page.getByRole('dialog', { name: '登记设备：8801 号车' });
    await form.getByLabel('设备类型').click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: '读卡器' }).click();
    await form.getByLabel('设备名称').fill('前门读卡器');
    await form.getByRole('button', { name: /登\s*记/ }).click();
    const first = (await page.getByRole('dialog', { name: '已登记“前门读卡器”' }).getByTestId('device-key-value').textContent())!.trim();
    expect(await page.getByTestId('device-setup-url').count()).toBe(0);
    await page.getByRole('button', { name: '我已保存密钥' }).click();

    const row = drawer.getByRole('row', { name: /前门读卡器/ });
    await row.getByRole('button', { name: '更换密钥' }).click();
    await page.getByRole('tooltip').getByRole('button', { name: /更\s*换/ }).click();
    const keyDialog = page.getByRole('dialog', { name: '“前门读卡器”的新密钥' });
    await keyDialog.getByText('旧密钥已失效').waitFor();
    const second = (await keyDialog.getByTestId('device-key-value').textContent())!.trim();
    expect(second).not.toBe(first);
    await keyDialog.getByRole('button', { name: '我已保存密钥' }).click();

    const me = (credential: string) => fetch(`${server.url}/api/venue-devices/me`, { headers: { authorization: `Bearer ${credential}` } });
    expect((await me(first)).status).toBe(401);
    expect((await me(second)).status).toBe(200);
    await page.context().close();
  });

  it('names venue kinds in Chinese', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    const busRow = page.getByRole('row', { name: /8801 号车/ });
    await busRow.waitFor();
    expect(await busRow.textContent()).toContain('公交车');

    await page.getByRole('combobox', { name: '类型' }).click();
    const filterOptions = page.locator('.ant-select-dropdown:visible .ant-select-item-option');
    await filterOptions.first().waitFor();
    expect(await filterOptions.allTextContents()).toEqual(['公交车', '商铺', '校门', '场馆', '其他场所']);
    await page.keyboard.press('Escape');

    await page.getByRole('button', { name: '登记场所' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('类型').click();
    const formOptions = page.locator('.ant-select-dropdown:visible .ant-select-item-option');
    await formOptions.first().waitFor();
    expect(await formOptions.allTextContents()).toEqual(['公交车', '商铺', '校门', '场馆', '其他场所']);
    expect(await page.locator('body').innerText()).not.toMatch(/school_gate|\bbus\b|\bshop\b|\bhall\b/);
    await page.context().close();
  });

  it('offers a school admin only school venue kinds', async () => {
    const school = await createSchool(server.ctx, { code: 'VK01', name: '场所类型小学' });
    await createUser(server.ctx, { username: 'venueprincipal', displayName: '钱校长', role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'venueprincipal', PASSWORD, '/venues');
    await page.getByRole('button', { name: '登记场所' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('类型').click();
    const options = page.locator('.ant-select-dropdown:visible .ant-select-item-option');
    await options.first().waitFor();
    expect(await options.allTextContents()).toEqual(['校门', '场馆', '其他场所']);
    await options.filter({ hasText: '校门' }).click();

    // The kind the form offers first is one the server accepts from a school admin.
    await dialog.getByLabel('名称').fill('南门');
    await dialog.getByLabel('运营单位').fill('场所类型小学');
    await dialog.getByRole('button', { name: /登\s*记/ }).click();
    await page.getByText('已登记场所“南门”').waitFor();
    expect(await page.getByRole('row', { name: /南门/ }).textContent()).toContain('校门');
    await page.context().close();
  });

  it('reissues a code with a reason', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    const row = page.getByRole('row', { name: /8801 号车/ });
    await row.getByText('换码').click();
    const dialog = page.getByRole('dialog');
    // Wait for the form and the end of the opening animation before submitting it empty.
    await dialog.getByLabel('换码原因').waitFor();
    await expect.poll(() => dialog.evaluate((el) => el.getAnimations({ subtree: true }).length)).toBe(0);
    await dialog.getByRole('button', { name: /换\s*码/ }).click();
    await dialog.getByText('请填写换码原因').waitFor();
    await dialog.getByLabel('换码原因').fill('海报被涂改');
    await dialog.getByRole('button', { name: /换\s*码/ }).click();
    await page.getByText('已换发第 2 版场所码').waitFor();
    await expect.poll(() => row.textContent()).toContain('第 2 版');
    await page.context().close();
  });

  it('traces a bus line and exports it', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'tracer', PASSWORD);
    // The task force starts on this page and sees only its own tabs.
    await page.waitForURL(/\/venues$/);
    await page.getByRole('tab', { name: '流调查询' }).waitFor();
    expect(await page.getByRole('tab', { name: '场所与场所码' }).count()).toBe(0);

    await page.getByRole('textbox', { name: /线路/ }).fill('K88');
    await page.getByRole('button', { name: /查\s*询/ }).click();
    await page.getByText('请填写查询目的').waitFor();
    await page.getByLabel('查询目的').fill('密接排查演练');
    await page.getByRole('button', { name: /查\s*询/ }).click();

    await expect.poll(() => page.getByTestId('trace-summary').textContent()).toContain('共 1 条登记');
    const row = page.getByRole('row', { name: new RegExp(passenger.name) });
    expect(await row.textContent()).toContain(passenger.idNumber);
    expect(await row.textContent()).toContain('8801 号车');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出 Excel' }).click()]);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile((await download.path())!);
    const cells = workbook.worksheets[0].getSheetValues().flat().map(String);
    expect(cells).toContain(passenger.idNumber);

    const audit = await server.ctx.db.selectFrom('audit_log').select(['action', 'detail']).where('action', 'like', 'venue.trace%').execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['venue.trace.venue', 'venue.trace.venue.export']);
    expect(audit.every((a) => String(a.detail).includes('密接排查演练'))).toBe(true);
    await page.context().close();
  });

  it('finds a check-in made just now by default', async () => {
    const [bus] = await venueService.createVenues(server.ctx, admin, [{ kind: 'bus', name: '7701 号车', operator: '城西公交', line: 'K77', plate: '浙A·77001' }]);
    const venue = await venueStore.findVenue(server.ctx.db, bus.id);
    const rider = { name: '吴晓晨', idNumber: makeIdNumber(7302, '1988-09-10') };
    await recordCheckin(server.ctx, { venue: venue!, method: 'scan', identity: rider });

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'tracer', PASSWORD);
    await page.getByRole('tab', { name: '流调查询' }).waitFor();
    await page.getByRole('textbox', { name: /线路/ }).fill('K77');
    await page.getByLabel('查询目的').fill('密接排查演练');
    const [request] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/api/venue-tracing/venue')), page.getByRole('button', { name: /查\s*询/ }).click()]);

    // The period is left as the form sets it, and its end lies after the check-in.
    const body = request.postDataJSON() as { from: string; to: string };
    expect(body.to > formatLocalDateTime(Date.now())).toBe(true);
    await expect.poll(() => page.getByTestId('trace-summary').textContent()).toContain('共 1 条登记');
    expect(await page.getByRole('row', { name: new RegExp(rider.name) }).textContent()).toContain('7701 号车');
    await page.context().close();
  });

  it('fits the tracing form on a phone', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, 'tracer', PASSWORD);
    await page.getByRole('tab', { name: '流调查询' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Export with the form empty shows what is missing and sends nothing.
    await page.getByRole('button', { name: '导出 Excel' }).click();
    await page.getByText('请填写查询目的').waitFor();
    await page.context().close();
  });

  it('checks the purpose length before sending', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, 'tracer', PASSWORD);
    await page.getByRole('tab', { name: '流调查询' }).waitFor();
    await page.getByRole('textbox', { name: /线路/ }).fill('K88');
    // Four characters with the spaces, two without: the server trims and counts two.
    await page.getByLabel('查询目的').fill(' 排查 ');
    const requests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/venue-tracing/')) requests.push(request.url());
    });
    await page.getByRole('button', { name: /查\s*询/ }).click();

    await page.getByText('查询目的至少 4 个字（不含首尾空格），现在只有 2 个字').waitFor();
    expect(requests).toEqual([]);
    expect(await page.getByTestId('trace-summary').count()).toBe(0);
    await page.context().close();
  });

  it('scrolls wide tables sideways on a phone', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, 'venueadmin', PASSWORD, '/venues');
    const retire = page.getByRole('row', { name: /8801 号车/ }).getByText('停用', { exact: true });
    await retire.waitFor();
    await page.screenshot({ path: `${SCREENSHOT_DIR}/venues-390.png` });
    // The actions column stays at the right edge, in view before any scrolling.
    const retireBox = await retire.boundingBox();
    expect(retireBox!.x).toBeGreaterThanOrEqual(0);
    expect(retireBox!.x + retireBox!.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    // The other columns scroll sideways inside the table.
    const operator = page.getByRole('row', { name: /8801 号车/ }).getByText('城西公交');
    await operator.scrollIntoViewIfNeeded();
    const operatorBox = await operator.boundingBox();
    expect(operatorBox!.x).toBeGreaterThanOrEqual(0);
    expect(operatorBox!.x + operatorBox!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/venues-390-scrolled.png` });
    await page.context().close();

    const tracer = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(tracer, server.url, 'tracer', PASSWORD);
    await tracer.getByRole('textbox', { name: /线路/ }).fill('K88');
    await tracer.getByLabel('查询目的').fill('密接排查演练');
    await tracer.getByRole('button', { name: /查\s*询/ }).click();
    const row = tracer.getByRole('row', { name: new RegExp(passenger.name) });
    await row.waitFor();
    const lastCell = row.locator('td').last();
    await lastCell.scrollIntoViewIfNeeded();
    const cellBox = await lastCell.boundingBox();
    expect(cellBox!.x).toBeGreaterThanOrEqual(0);
    expect(cellBox!.x + cellBox!.width).toBeLessThanOrEqual(390);
    expect(await tracer.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await tracer.screenshot({ path: `${SCREENSHOT_DIR}/trace-390-scrolled.png`, fullPage: true });
    await tracer.context().close();
  });
});
