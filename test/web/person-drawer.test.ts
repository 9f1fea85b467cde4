import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertConsent } from '../../src/modules/people/store.js';
import { buildStudent } from '../helpers/factories.js';
import { newId } from '../../src/shared/ids.js';
import { parseCsv } from '../../src/modules/people/roster-csv.js';
import { readRosterFile } from '../../src/modules/people/roster-read.js';
import { STUDENT_HEADERS, pupil, studentRow } from '../people/roster-fixtures.js';
import { writeY4mFromPhoto } from './fake-camera.js';
import { BROWSER_ENABLED, BROWSER_SKIP_REASON, launchBrowser, signInThroughPage, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './harness.js';
import { WORLD_PASSWORD, buildConsoleWorld, setCode, type ConsoleWorld } from './world.js';

if (!BROWSER_ENABLED) console.log(`[test/web] ${BROWSER_SKIP_REASON}`);

const FACES = join(import.meta.dirname, '../fixtures/faces');
/** 2026-12-03 01:30 UTC is 09:30 in Beijing. */
const CHANGED_AT = Date.parse('2026-12-03T01:30:00Z');

describe.skipIf(!BROWSER_ENABLED)('person details, consents, face enrolment and code history in Chromium', () => {
  let server: ConsoleServer;
  let browser: ConsoleBrowser;
  let world: ConsoleWorld;

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    world = await buildConsoleWorld(server.ctx, 'drawer', '详情测试小学');
    // 李小红 went from green to yellow on 3 December at 09:30 Beijing time.
    await server.ctx.db
      .insertInto('health_code_changes')
      .values({
        id: newId(),
        school_id: world.school.id,
        person_id: world.classPupils[1].id,
        from_color: 'green',
        to_color: 'yellow',
        changed_at: CHANGED_AT,
        sync_run_id: null,
        bureau_updated_at: null,
        reason: '密接人员',
        notified_at: null,
      })
      .execute();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('downloads the rejected rows of a roster import as CSV', async () => {
    const good = pupil(890_001);
    const bad = pupil(890_002);
    const misspelt = pupil(890_003);
    const lines = [
      STUDENT_HEADERS,
      studentRow(good, '二年级', '二(4)班', 'XS890001'),
      studentRow({ ...bad, idNumber: '330102201801010000' }, '二年级', '二(4)班', 'XS890002'),
      studentRow(misspelt, '二年级', '二(14)班', 'XS890003'),
    ];
    const csv = '\ufeff' + lines.map((row) => row.join(',')).join('\r\n');

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/persons');
    await page.getByTestId('roster-upload').waitFor();
    expect(await page.getByTestId('roster-create-classes').isChecked()).toBe(false);
    await page.locator('input[type="file"]').first().setInputFiles({ name: '二(4)班名单.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await page.getByText('导入完成：新增 1 人，更新 0 人，拒绝 2 行').waitFor();
    const tableRows = page.getByTestId('rejected-rows').locator('.ant-table-tbody tr.ant-table-row');
    const tableCells = await Promise.all((await tableRows.all()).map((row) => row.locator('td').allTextContents()));

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('rejected-download').click()]);
    expect(download.suggestedFilename()).toBe('二(4)班名单-被拒绝的行.csv');
    const text = await readFile((await download.path())!, 'utf8');
    expect(text.startsWith('\ufeff')).toBe(true);
    const rows = text.slice(1).trimEnd().split('\r\n').map((line) => line.split(','));
    expect(rows[0]).toEqual(['行号', '列', '内容', '原因']);
    expect(rows).toHaveLength(3);
    // The file contains exactly what the table shows, and never the full ID number.
    expect(rows.slice(1)).toEqual(tableCells);
    expect(rows[1][0]).toBe('3');
    expect(rows[1][1]).toBe('身份证号');
    expect(rows[2]).toEqual(['4', '班级', '二(14)班', '班级“二(14)班”不存在，请检查拼写，或在导入时勾选“自动新建班级”（本校二年级现有二(3)班、二(4)班）']);
    expect(await page.getByText('1 行因班级不存在未导入（二(14)班）').count()).toBe(1);
    expect(text).not.toContain(bad.idNumber);
    expect(text).not.toContain('330102201801010000');
    await page.context().close();
  });

  it('downloads the rejected rows as Excel with text cells', async () => {
    const good = pupil(890_011);
    const longName = '=HYPERLINK("x","打开")' + '甲'.repeat(50);
    const lines = [
      STUDENT_HEADERS,
      studentRow(good, '二年级', '二(4)班', 'XS890011'),
      studentRow({ ...pupil(890_012), name: longName }, '二年级', '二(4)班', 'XS890012'),
      studentRow({ ...pupil(890_013), idNumber: '330102201801010000' }, '二年级', '二(4)班', 'XS890013'),
    ];
    const csv = '\ufeff' + lines.map((row) => row.map((value) => `"${String(value).replace(/"/g, '""')}"`).join(',')).join('\r\n');

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/persons');
    await page.getByTestId('roster-upload').waitFor();
    await page.locator('input[type="file"]').first().setInputFiles({ name: '二(4)班补录.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await page.getByText('导入完成：新增 1 人，更新 0 人，拒绝 2 行').waitFor();
    const tableRows = page.getByTestId('rejected-rows').locator('.ant-table-tbody tr.ant-table-row');
    const tableCells = await Promise.all((await tableRows.all()).map((row) => row.locator('td').allTextContents()));

    const button = page.getByTestId('rejected-download-xlsx');
    expect(await button.textContent()).toContain('下载 Excel');
    expect(await page.getByTestId('rejected-download').textContent()).toContain('下载 CSV');
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(download.suggestedFilename()).toBe('二(4)班补录-被拒绝的行.xlsx');

    const workbook = await readRosterFile(await readFile((await download.path())!), { maxFileMb: 20 });
    const rows = workbook.sheets[0].rows;
    expect(rows[0].cells[0]).toEqual({ kind: 'text', text: '二(4)班补录 被拒绝的行（共 2 行）' });
    const cellTexts = rows.slice(1).map((row) => row.cells.map((cell) => (cell.kind === 'text' ? cell.text : `<${cell.kind}>`)));
    expect(cellTexts[0]).toEqual(['行号', '列', '内容', '原因']);
    expect(cellTexts).toHaveLength(3);
    // The formula-like name is a text cell, which Excel shows as written and never runs.
    expect(cellTexts[1]).toEqual(['3', '姓名', `${longName.slice(0, 40)}…`, '姓名超过 50 个字']);
    expect(tableCells[0]).toEqual(['3', '姓名', `${longName.slice(0, 40)}…`, '姓名超过 50 个字']);
    expect(cellTexts[2]).toEqual(tableCells[1]);
    expect(cellTexts[2][2]).toBe('330***********0000');

    // The CSV has no cell types, so there the formula-like name keeps an apostrophe in front.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('rejected-download').click()]);
    const csvRows = parseCsv((await readFile((await csvDownload.path())!, 'utf8')).slice(1));
    expect(csvRows[1]).toEqual(['3', '姓名', `'${longName.slice(0, 40)}…`, '姓名超过 50 个字']);
    await page.context().close();
  });

  it('person drawer records consent and enrols a face', async () => {
    const pupilName = world.classPupils[1].name;
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/persons');
    await page.getByPlaceholder('姓名').fill(pupilName);
    await page.getByPlaceholder('姓名').press('Enter');
    const listRow = page.locator('tr.ant-table-row', { hasText: pupilName });
    await listRow.waitFor();
    const maskedInList = (await listRow.locator('td').nth(3).textContent())!;
    expect(maskedInList).toMatch(/\*/);
    await listRow.getByTestId('person-name').click();

    const drawer = page.getByRole('dialog');
    await drawer.getByText('身份证号').waitFor();
    expect(await drawer.textContent()).toContain(maskedInList);
    expect(await drawer.getByTestId('guardians').textContent()).toContain('（母亲）');
    expect(await drawer.getByTestId('guardians').textContent()).toMatch(/1\d{2}\*{4}\d{4}/);

    // The roster's health-code consent, given by the guardian. It was stored without an account.
    const consents = drawer.getByTestId('consents');
    await consents.getByText('健康码查询：已授权').waitFor();
    expect(await consents.getByTestId('consent-item').first().textContent()).toMatch(/监护人 .+于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 授权/);
    expect(await consents.getByTestId('consent-item').first().getByTestId('consent-recorded-by').textContent()).toBe('登记人：—');

    // The code history in Beijing time.
    const history = drawer.getByTestId('code-history');
    await history.getByTestId('code-change').first().waitFor();
    const change = await history.getByTestId('code-change').first().textContent();
    expect(change).toContain('2026-12-03 09:30');
    expect(change).toContain('绿码→ 黄码');
    expect(change).toContain('密接人员');

    // Without a face consent the drawer explains why it offers no enrolment.
    await drawer.getByTestId('face-needs-consent').waitFor();
    expect(await drawer.getByTestId('face-enrolment').count()).toBe(0);

    await consents.getByRole('button', { name: '登记授权' }).click();
    const form = drawer.getByTestId('consent-form');
    await form.getByLabel('人脸识别').check();
    await form.getByLabel('备注').fill('纸质授权书已存档');
    await form.getByRole('button', { name: '保存授权' }).click();
    await page.getByText('授权已登记').waitFor();
    await consents.getByText('人脸识别：已授权').waitFor();
    expect(await consents.textContent()).toContain('备注：纸质授权书已存档');
    const faceConsent = consents.getByTestId('consent-item').filter({ hasText: '人脸识别' });
    expect(await faceConsent.getByTestId('consent-recorded-by').textContent()).toBe(`登记人：李校长（${world.users.principal}）`);

    // A photo without a face is refused with the server's Chinese reason; a real face is enrolled.
    const enrolment = drawer.getByTestId('face-enrolment');
    await enrolment.waitFor();
    const fileInput = enrolment.locator('input[type="file"]');
    await fileInput.setInputFiles(join(FACES, 'no-face/inspireface_view.jpg'));
    await enrolment.getByTestId('face-refusal').waitFor({ timeout: 30_000 });
    expect(await enrolment.getByTestId('face-refusal').textContent()).toContain('照片中未检测到人脸，请正对镜头、露出面部后重拍');
    expect(await enrolment.getByTestId('face-count').textContent()).toBe('0');

    await fileInput.setInputFiles(join(FACES, 'face_recognition/obama/obama.jpg'));
    await page.getByText('人脸录入成功，已录入 1 张').waitFor({ timeout: 30_000 });
    await expect.poll(() => enrolment.getByTestId('face-count').textContent()).toBe('1');
    expect(await enrolment.getByTestId('face-refusal').count()).toBe(0);
    const stored = await server.ctx.db.selectFrom('face_descriptors').select('person_id').where('person_id', '=', world.classPupils[1].id).execute();
    expect(stored).toHaveLength(1);

    // Revoking the face consent removes the photo and the enrolment.
    await consents.getByTestId('consent-item').filter({ hasText: '人脸识别' }).getByRole('button', { name: '撤回' }).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: '撤回' }).click();
    await page.getByText('授权已撤回，已删除 1 张人脸照片').waitFor();
    await drawer.getByTestId('face-needs-consent').waitFor();
    expect(await faceConsent.getByTestId('consent-revoked').textContent()).toMatch(
      new RegExp(`^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} 撤回，操作人：李校长（${world.users.principal}）$`),
    );
    const audit = await server.ctx.db.selectFrom('audit_log').select('action').where('target', '=', world.classPupils[1].id).execute();
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['consent.view', 'consent.grant', 'face.enrol', 'consent.revoke', 'healthcode.history.view']));
    await page.context().close();
  });

  it('opens the code history from the health-code page', async () => {
    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.doctor, WORLD_PASSWORD, '/health-codes');
    const row = page.locator('tr.ant-table-row', { hasText: world.classPupils[1].name });
    await row.getByTestId('code-person').click();
    const drawer = page.getByRole('dialog');
    await drawer.getByText(`${world.classPupils[1].name} · 健康码记录`).waitFor();
    const change = await drawer.getByTestId('code-change').first().textContent();
    expect(change).toContain('2026-12-03 09:30');
    expect(change).toContain('密接人员');
    await page.context().close();
  });

  it('health-code page keeps never-synced codes apart', async () => {
    // One pupil the bureau never returned, one whose green code was fetched two days ago.
    const unsynced = await buildStudent(server.ctx, world.school.id, { grade: 3, classNumber: 1, name: '周未同' });
    const expired = await buildStudent(server.ctx, world.school.id, { grade: 3, classNumber: 1, name: '吴过期' });
    await setCode(server.ctx, world.school.id, expired.person.id, 'green', server.ctx.now() - 48 * 60 * 60_000);

    const page = await browser.newPage();
    await signInThroughPage(page, server.url, world.users.doctor, WORLD_PASSWORD, '/health-codes');
    const rowOf = (name: string) => page.locator('tr.ant-table-row', { hasText: name });
    // Click a filter, wait for its list and its rendering, and return the names the API listed.
    const filterTo = async (label: string, query: string) => {
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`/codes${query}`)),
        page.getByTestId('code-filter').getByText(label, { exact: true }).click(),
      ]);
      await page.locator('.ant-spin-spinning').waitFor({ state: 'detached' });
      return ((await response.json()).items as Array<{ name: string }>).map((item) => item.name);
    };

    const unsyncedRow = rowOf(unsynced.person.name);
    await expect.poll(() => unsyncedRow.textContent()).toContain('未同步');
    expect(await unsyncedRow.textContent()).not.toContain('已过期');
    expect(await unsyncedRow.textContent()).not.toContain('未知');
    expect(await rowOf(expired.person.name).textContent()).toContain('已过期');

    const staleNames = await filterTo('已过期', '?stale=true');
    expect(staleNames).toContain(expired.person.name);
    expect(staleNames).not.toContain(unsynced.person.name);
    await rowOf(expired.person.name).waitFor();
    expect(await rowOf(unsynced.person.name).count()).toBe(0);

    const unsyncedNames = await filterTo('未同步', '?unsynced=true');
    expect(unsyncedNames).toContain(unsynced.person.name);
    expect(unsyncedNames).not.toContain(expired.person.name);
    await rowOf(unsynced.person.name).waitFor();
    expect(await rowOf(expired.person.name).count()).toBe(0);
    expect(await rowOf(world.classPupils[0].name).count()).toBe(0);

    expect(await filterTo('未知', '?color=unknown&unsynced=false')).not.toContain(unsynced.person.name);
    expect(await rowOf(unsynced.person.name).count()).toBe(0);

    // The history drawer names the code the same way.
    await page.getByTestId('code-filter').getByText('全部', { exact: true }).click();
    await rowOf(unsynced.person.name).getByTestId('code-person').click();
    const current = page.getByRole('dialog').getByTestId('code-history');
    await expect.poll(() => current.textContent()).toContain('未同步');
    expect(await current.textContent()).not.toContain('已过期');
    await page.context().close();

    // On a phone the filters are a drop-down list, so the page is no wider than the screen.
    const phone = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(phone, server.url, world.users.doctor, WORLD_PASSWORD, '/health-codes');
    await phone.getByTestId('code-filter').click();
    await Promise.all([
      phone.waitForResponse((r) => r.url().endsWith('/codes?unsynced=true')),
      phone.locator('.ant-select-item-option', { hasText: '未同步' }).click(),
    ]);
    await phone.locator('tr.ant-table-row', { hasText: unsynced.person.name }).waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.context().close();
  });

  it('head teacher drawer is read-only and fits a phone', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await signInThroughPage(page, server.url, world.users.headTeacher, WORLD_PASSWORD, '/persons');
    const row = page.locator('tr.ant-table-row', { hasText: world.classPupils[0].name });
    await row.getByTestId('person-name').click();
    const drawer = page.getByRole('dialog');
    await drawer.getByTestId('consents').getByText('健康码查询：已授权').waitFor();
    await drawer.getByTestId('code-history').waitFor();
    expect(await drawer.getByRole('button', { name: '登记授权' }).count()).toBe(0);
    expect(await drawer.getByRole('button', { name: '撤回' }).count()).toBe(0);
    expect(await drawer.getByText('人脸录入').count()).toBe(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Once the drawer has slid in, it covers the screen and no wider.
    await expect.poll(async () => {
      const box = await drawer.boundingBox();
      return box ? [box.x, box.width] : null;
    }).toEqual([0, 390]);

    // The API refuses the pupil of another class to the head teacher.
    const status = await page.evaluate(async (url) => (await fetch(url)).status, `/api/schools/${world.school.code}/persons/${world.otherPupil.id}/consents`);
    expect(status).toBe(403);
    await page.context().close();
  });

  it('enrols a face taken with the camera', async () => {
    const pupilId = world.classPupils[2].id;
    await insertConsent(server.ctx.db, { id: newId(), person_id: pupilId, purpose: 'face', given_by: 'self', guardian_id: null, given_at: server.ctx.now(), revoked_at: null, note: null });
    const videoDir = await mkdtemp(join(tmpdir(), 'fangkong-drawer-'));
    const video = join(videoDir, 'face.y4m');
    // A frame as large as a laptop camera's, so the face is as large as a sitter's in front of it.
    await writeY4mFromPhoto(join(FACES, 'face_recognition/biden/biden.jpg'), video, { width: 1280, height: 960 });
    const cameraBrowser = await launchBrowser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
    try {
      const page = await cameraBrowser.newPage(undefined, ['camera']);
      await signInThroughPage(page, server.url, world.users.principal, WORLD_PASSWORD, '/persons');
      await page.locator('tr.ant-table-row', { hasText: world.classPupils[2].name }).getByTestId('person-name').click();
      const enrolment = page.getByRole('dialog').getByTestId('face-enrolment');
      await enrolment.getByRole('button', { name: '用摄像头拍照' }).click();
      await expect.poll(() => enrolment.getByTestId('face-video').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
      await enrolment.getByTestId('face-capture').click();
      const success = page.getByText('人脸录入成功，已录入 1 张');
      await success.or(enrolment.getByTestId('face-refusal')).first().waitFor({ timeout: 30_000 });
      expect(await enrolment.getByTestId('face-refusal').count(), (await enrolment.textContent()) ?? '').toBe(0);
      const stored = await server.ctx.db.selectFrom('face_descriptors').select('person_id').where('person_id', '=', pupilId).execute();
      expect(stored).toHaveLength(1);
    } finally {
      await cameraBrowser.close();
      await rm(videoDir, { recursive: true, force: true });
    }
  });
});
