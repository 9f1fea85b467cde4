import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoGate } from '../../src/demo/gate.js';
import { formatDemoGateLine, summarizeDemoGate } from '../../src/demo/gate-summary.js';
import { DEMO_SCHOOL, seedDemo } from '../../src/demo/seed.js';
import { createDevice, setDeviceActive } from '../../src/modules/gate/devices.js';
import { getSchoolByCodeOrThrow } from '../../src/modules/people/service.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildStudent } from '../helpers/factories.js';

/**
 * The demo banner's gate line after a restart: the seeded school with a lane added on
 * 设备 and pupils imported later, who have no face data.
 */
describe.each(DIALECTS)('%s: demo gate summary', (dialect) => {
  let t: TestDb;
  let seededPeople: number;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    const seeded = await seedDemo(t.ctx);
    seededPeople = seeded.pupils + seeded.staff;
    await ensureDemoGate(t.ctx);
  }, 200_000);

  afterAll(async () => {
    await t.close();
  });

  it('states the seeded gate as it is', async () => {
    const summary = await summarizeDemoGate(t.ctx, await ensureDemoGate(t.ctx));

    expect(summary).toEqual({ devices: 6, disabledDevices: 0, lanes: ['东门', '南门'], people: seededPeople, withFaceData: seededPeople });
    expect(formatDemoGateLine(summary, 6)).toBe(
      `  校门通道：6 个（东门、南门）；全员 ${seededPeople} 人已录入演示人脸特征值；模拟终端为 6 个演示通道每 30 秒发送一次心跳，保持在线`,
    );
  });

  it('counts lanes and pupils added later', async () => {
    const school = await getSchoolByCodeOrThrow(t.ctx, DEMO_SCHOOL.code);
    for (const name of ['北门 1 号通道', '北门 2 号通道']) await createDevice(t.ctx, { schoolCode: school.code, kind: 'api', name, lane: '北门', direction: 'in' });
    const { device: disabled } = await createDevice(t.ctx, { schoolCode: school.code, kind: 'api', name: '西门 1 号通道', lane: '西门', direction: 'in' });
    await setDeviceActive(t.ctx, disabled, false);
    for (let i = 0; i < 3; i++) await buildStudent(t.ctx, school.id, { grade: 2, classNumber: 3 });

    // After a restart ensureDemoGate returns every device and enrols nobody new.
    const summary = await summarizeDemoGate(t.ctx, await ensureDemoGate(t.ctx));

    expect(summary).toEqual({ devices: 8, disabledDevices: 1, lanes: expect.arrayContaining(['东门', '南门', '北门']), people: seededPeople + 3, withFaceData: seededPeople });
    expect(summary.lanes).toHaveLength(3);
    const line = formatDemoGateLine(summary, 6);
    expect(line).toMatch(/^ {2}校门通道：8 个（(东门|南门|北门)、(东门|南门|北门)、(东门|南门|北门)），另有 1 个已停用；/);
    expect(line).toContain(`；${seededPeople} 人已录入演示人脸特征值，3 人没有人脸数据（可在“人员”页录入）；`);
    expect(line).toContain('；另外登记的 2 个通道没有模拟终端，设备不上报时显示离线');
    expect(line).not.toContain('全员');
  });
});
