import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCheckSettings, listChecksForDay, listOpenFollowUps, saveClassCheck } from '../../src/modules/checks/service.js';
import { schoolDay } from '../../src/shared/time.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, openSchoolToday, postGateEvent, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const PHONE = { width: 390, height: 844 };
const shanghaiToday = () => schoolDay(Date.now());

describe.skipIf(!BROWSER_ENABLED)('check, follow-up and cluster pages in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'checks', '晨检测试小学');
    // Checks are saved on the real today; on a weekend the school opens for the test.
    await openSchoolToday(server.ctx, world.school.code);
    await postGateEvent(server.url, world.device, world.classPupils[0].id, 36.6);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('yellow code marked present warns', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/checks');
    await page.getByTestId('checks-page').waitFor();
    await page.getByText('晨检', { exact: true }).first().click();

    // 李小红 has a yellow code, which the gate rejects, but the teacher may know she is in class.
    const yellow = world.classPupils[1]!;
    const row = page.getByTestId(`check-row-${yellow.name}`);
    await expect.poll(() => row.textContent()).toContain('黄码');
    expect(await page.getByTestId('code-warning').count()).toBe(0);
    await row.getByText('在校', { exact: true }).click();

    const rowWarning = row.getByTestId('code-warning');
    await rowWarning.waitFor();
    expect(await rowWarning.textContent()).toContain(`${yellow.name} 当前为黄码`);
    expect(await rowWarning.textContent()).toContain('联系校医');
    const summary = page.getByTestId('check-code-warnings');
    expect(await summary.textContent()).toContain(`${yellow.name}（黄码）标为在校，请联系校医`);
    // The warning does not reject the check, so the save button stays enabled.
    expect(await page.getByTestId('check-save').isEnabled()).toBe(true);
    // The green pupils get no warning.
    expect(await page.getByTestId('code-warning').count()).toBe(1);

    await row.getByText('缺勤', { exact: true }).click();
    await rowWarning.waitFor({ state: 'detached' });
    expect(await summary.count()).toBe(0);
    await page.context().close();
  });

  it('head teacher saves the morning check on a phone', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/checks');
    await page.getByTestId('checks-page').waitFor();
    await page.getByRole('button', { name: '晨检' }).or(page.getByText('晨检', { exact: true })).first().click();

    const [arrived, ill, other] = world.classPupils;
    const arrivedRow = page.getByTestId(`check-row-${arrived!.name}`);
    await expect.poll(() => arrivedRow.textContent()).toContain('36.6℃');
    expect(await arrivedRow.textContent()).toContain('入校');

    // 李小红 has not arrived, so the row starts absent; mark the absence as illness with fever.
    const illRow = page.getByTestId(`check-row-${ill!.name}`);
    expect(await illRow.textContent()).toContain('未入校');
    await illRow.getByText('因病', { exact: true }).click();
    await illRow.getByRole('button', { name: '症状' }).click();
    await illRow.getByText('发热', { exact: true }).click();
    const totals = page.getByTestId('check-totals');
    await expect.poll(() => totals.textContent()).toContain('因病 1');
    // An absent pupil with a symptom counts under 有症状 too.
    expect(await totals.textContent()).toContain('有症状 1');

    // A pupil with two symptoms counts once.
    await arrivedRow.getByRole('button', { name: '症状' }).click();
    await arrivedRow.locator('.fk-symptom', { hasText: '发热' }).click();
    await arrivedRow.locator('.fk-symptom', { hasText: '咳嗽' }).click();
    await expect.poll(() => totals.textContent()).toContain('有症状 2');
    await arrivedRow.locator('.fk-symptom', { hasText: '发热' }).click();
    await arrivedRow.locator('.fk-symptom', { hasText: '咳嗽' }).click();
    await expect.poll(() => totals.textContent()).toContain('有症状 1');

    // 王小刚 is in class although the gate missed him.
    await page.getByTestId(`check-row-${other!.name}`).getByText('在校', { exact: true }).click();

    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.getByTestId('check-save').click();
    await page.getByText('新开缺勤追踪 1 人').waitFor();
    await expect.poll(() => page.getByTestId('check-saved').textContent()).toBe('已保存 3/3');

    const open = await listOpenFollowUps(server.ctx, world.school.id);
    expect(open.map((f) => f.name)).toEqual([ill!.name]);
    expect(open[0]!.symptoms).toEqual(['fever']);
    await page.context().close();
  });

  it('noon list starts from the morning check', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/checks');
    await page.getByTestId('checks-page').waitFor();
    await page.getByText('午检', { exact: true }).first().click();

    // The morning check of the test before marked 王小刚 present although the gate never saw him.
    const [arrived, ill, other] = world.classPupils;
    const otherRow = page.getByTestId(`check-row-${other!.name}`);
    await expect.poll(() => otherRow.textContent()).toContain('晨午检在校');
    expect(await otherRow.locator('.ant-segmented-item-selected').first().textContent()).toBe('在校');
    const arrivedRow = page.getByTestId(`check-row-${arrived!.name}`);
    expect(await arrivedRow.textContent()).toMatch(/\d\d:\d\d 入校/);
    expect(await arrivedRow.locator('.ant-segmented-item-selected').first().textContent()).toBe('在校');
    const illRow = page.getByTestId(`check-row-${ill!.name}`);
    expect(await illRow.textContent()).toContain('未入校');
    expect(await illRow.locator('.ant-segmented-item-selected').first().textContent()).toBe('缺勤');

    // The morning's illness absence and its symptom carry over, marked as taken from 晨检.
    expect(await illRow.locator('.ant-segmented-item-selected').nth(1).textContent()).toBe('因病');
    expect(await illRow.getByTestId('from-morning').textContent()).toBe('沿用晨检');
    // The symptom panel opens with the carried symptom ticked.
    expect(await illRow.locator('.fk-symptom.ant-tag-checkable-checked').allTextContents()).toEqual(['发热']);
    expect(await otherRow.getByTestId('from-morning').count()).toBe(1);
    const totals = await page.getByTestId('check-totals').textContent();
    expect(totals).toContain('缺勤 1');
    expect(totals).toContain('因病 1');
    expect(totals).toContain('有症状 1');

    // Saving noon unchanged records the morning's values and opens no second follow-up.
    await page.getByTestId('check-save').click();
    await page.getByText('已保存（新增 3，更正 0）').waitFor();
    await expect.poll(() => page.getByTestId('check-saved').textContent()).toBe('已保存 3/3');
    expect(await page.getByTestId('from-morning').count()).toBe(0);
    const noon = (await listChecksForDay(server.ctx, world.school.id, shanghaiToday())).filter((c) => c.session === 'noon');
    expect(noon.find((c) => c.personId === ill!.id)).toMatchObject({ status: 'absent', absenceReason: 'illness', symptoms: ['fever'] });
    expect(noon.find((c) => c.personId === other!.id)).toMatchObject({ status: 'present', absenceReason: null });
    expect((await listOpenFollowUps(server.ctx, world.school.id)).map((f) => f.name)).toEqual([ill!.name]);
    await page.context().close();
  });

  it('expected return warns on a Sunday', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.doctor, WORLD_PASSWORD, '/follow-ups');
    const ill = world.classPupils[1]!;
    const card = page.getByTestId(`follow-up-${ill.name}`);
    await card.waitFor();

    // The first Sunday after today, and the Monday after it; the test world marks no holidays then.
    const today = new Date(`${shanghaiToday()}T00:00:00Z`);
    const sunday = new Date(today.getTime() + (7 - today.getUTCDay()) * 86_400_000).toISOString().slice(0, 10);
    const monday = new Date(Date.parse(`${sunday}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

    await card.getByRole('button', { name: '诊断与返校' }).click();
    const dialog = page.getByRole('dialog');
    const returnOn = dialog.getByLabel('预计返校日期');
    const warning = dialog.getByText(`${sunday} 是周日，不是上学日，请确认预计返校日期`);
    await returnOn.click();
    await returnOn.fill(sunday);
    await returnOn.press('Enter');
    await warning.waitFor();

    // A school day takes the warning away, and the Sunday brings it back.
    await returnOn.click();
    await returnOn.fill(monday);
    await returnOn.press('Enter');
    await warning.waitFor({ state: 'detached' });
    expect(await returnOn.inputValue()).toBe(monday);
    await returnOn.click();
    await returnOn.fill(sunday);
    await returnOn.press('Enter');
    await warning.waitFor();

    // The warning does not stop the save.
    await dialog.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('已保存', { exact: true }).waitFor();
    const open = await listOpenFollowUps(server.ctx, world.school.id);
    expect(open.find((f) => f.name === ill.name)?.expectedReturnOn).toBe(sunday);
    await page.context().close();
  });

  it('school doctor records the certificate', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.doctor, WORLD_PASSWORD, '/follow-ups');
    const ill = world.classPupils[1]!;
    const card = page.getByTestId(`follow-up-${ill.name}`);
    await card.waitFor();
    expect(await card.textContent()).toContain('发热');

    await card.getByRole('button', { name: '登记复课证明' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('证明开具日期').click();
    await page.locator('.ant-picker-dropdown .ant-picker-cell-today').click();
    await dialog.getByPlaceholder('例如：区人民医院').fill('区人民医院');
    await dialog.getByRole('button', { name: /保\s*存/ }).click();
    await page.getByText('已登记复课证明，该生可正常入校').waitFor();
    await page.getByText('没有未结案的因病缺勤').waitFor();
    expect(await listOpenFollowUps(server.ctx, world.school.id)).toEqual([]);

    // The closed follow-up stays readable under 已销假, with its certificate.
    await page.getByText('已销假', { exact: true }).click();
    await expect.poll(() => card.textContent()).toContain('复课证明');
    expect(await card.textContent()).toContain('区人民医院');
    expect(await card.getByRole('button', { name: '登记复课证明' }).count()).toBe(0);
    await page.context().close();
  });

  it('district sees the cluster alert with its cases', async () => {
    const page = await browser.newPage(PHONE);
    await signInThroughPage(page, server.url, world.users.district, WORLD_PASSWORD, '/cluster-alerts');
    await page.getByText('近 30 天没有聚集性预警').waitFor();

    // Two more pupils of the class with fever make three cases sharing a symptom.
    const [first, , third] = world.classPupils;
    const day = shanghaiToday();
    const saved = await saveClassCheck(server.ctx, { userId: 'test', name: '王老师' }, world.school.id, world.classId, {
      day,
      session: 'morning',
      entries: [first!, third!].map((p) => ({ personId: p.id, status: 'present' as const, temperature: 37.9, symptoms: ['fever'] })),
    });
    expect(saved.clusterAlertsRaised).toBe(1);

    await page.reload();
    const alert = page.getByTestId('cluster-alert');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('晨检测试小学');
    expect(text).toContain('发热 3 人');
    expect(text).toContain('同一班级同一上课日内 3 名及以上学生');
    for (const pupil of world.classPupils) expect(text).toContain(pupil.name);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

    // The district starts handling the alert, then closes it.
    await alert.getByRole('button', { name: '开始处置' }).click();
    await expect.poll(() => alert.textContent()).toContain('处置中');
    await alert.getByRole('button', { name: /关\s*闭/ }).click();
    await page.getByRole('button', { name: '关闭预警' }).click();
    await expect.poll(() => alert.textContent()).toContain('已关闭');
    expect(await alert.getByRole('button', { name: /关\s*闭/ }).count()).toBe(0);
    await page.context().close();
  });

  it('principal edits the symptom list and thresholds', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=checks');
    const panel = page.getByTestId('check-settings');
    await panel.waitFor();
    await panel.getByLabel('新症状').fill('头痛');
    await panel.getByRole('button', { name: '添加症状' }).click();
    await panel.getByLabel('同一天同班病例数').fill('4');
    await panel.getByRole('button', { name: '保存晨午检设置' }).click();
    await page.getByText('晨午检设置已保存').waitFor();

    const settings = await getCheckSettings(server.ctx, world.school.id);
    expect(settings.clusterSameDayThreshold).toBe(4);
    expect(settings.symptoms.map((s) => s.label)).toContain('头痛');
    // 其他 stays last, after the new symptom.
    expect(settings.symptoms.at(-1)!.code).toBe('other');
    await page.context().close();
  });

  it('threshold fields keep typed values', async () => {
    const before = await getCheckSettings(server.ctx, world.school.id);
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/settings?tab=checks');
    const panel = page.getByTestId('check-settings');
    await panel.waitFor();

    // An InputNumber with a max would clamp to it on blur, but the form must keep what the principal typed.
    const sameDayInput = panel.getByLabel('同一天同班病例数');
    await sameDayInput.fill('365');
    await sameDayInput.blur();
    expect(await sameDayInput.inputValue()).toBe('365');
    const windowInput = panel.getByLabel('连续上学日内同班病例数');
    await windowInput.fill('2.5');
    await windowInput.blur();
    expect(await windowInput.inputValue()).toBe('2.5');
    const daysInput = panel.getByLabel('连续上学日', { exact: true });
    await daysInput.fill('1');
    await daysInput.blur();
    expect(await daysInput.inputValue()).toBe('1');

    await panel.getByRole('button', { name: '保存晨午检设置' }).click();
    await panel.getByText('同一天同班病例数应为 2 到 50 人之间的整数，填写的是 365').waitFor();
    await panel.getByText('连续上学日内同班病例数应为 2 到 100 人之间的整数，填写的是 2.5').waitFor();
    await panel.getByText('连续上学日应为 2 到 10 天之间的整数，填写的是 1').waitFor();
    expect(await panel.textContent()).not.toContain('填写的是 50');
    expect(await page.getByText('晨午检设置已保存').count()).toBe(0);
    expect(await getCheckSettings(server.ctx, world.school.id)).toEqual(before);

    await sameDayInput.fill('50');
    await windowInput.fill('100');
    await daysInput.fill('10');
    await panel.getByRole('button', { name: '保存晨午检设置' }).click();
    await page.getByText('晨午检设置已保存').waitFor();
    const saved = await getCheckSettings(server.ctx, world.school.id);
    expect(saved.clusterSameDayThreshold).toBe(50);
    expect(saved.clusterWindowThreshold).toBe(100);
    expect(saved.clusterWindowSchoolDays).toBe(10);
    await page.context().close();
  });
});
