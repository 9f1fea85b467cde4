import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateDevice, createDevice } from '../../src/modules/gate/devices.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';

describe.each(DIALECTS)('%s: device key check', (dialect) => {
  let t: TestDb;
  let schoolCode: string;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    schoolCode = (await buildSchool(t.ctx)).code;
  });
  afterAll(async () => {
    await t.close();
  });

  it('rejects wrong keys after a right one', async () => {
    const { device, key } = await createDevice(t.ctx, { schoolCode, kind: 'api', name: '东门' });

    expect((await authenticateDevice(t.ctx, device.id, key))?.id).toBe(device.id);
    expect((await authenticateDevice(t.ctx, device.id, key))?.id).toBe(device.id);

    const sameLength = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(await authenticateDevice(t.ctx, device.id, sameLength)).toBeUndefined();
    expect(await authenticateDevice(t.ctx, device.id, `${key}x`)).toBeUndefined();
    expect(await authenticateDevice(t.ctx, device.id, key.slice(1))).toBeUndefined();
  });

  it('rejects the remembered key once the stored hash changes', async () => {
    const first = await createDevice(t.ctx, { schoolCode, kind: 'api', name: '西门' });
    const other = await createDevice(t.ctx, { schoolCode, kind: 'api', name: '北门' });
    expect(await authenticateDevice(t.ctx, first.device.id, first.key)).toBeDefined();

    // Give the first device the other device's key hash, as a key change would.
    await t.ctx.db.updateTable('devices').set({ key_hash: other.device.key_hash }).where('id', '=', first.device.id).execute();
    t.setNow(t.ctx.now() + 60_000);

    expect(await authenticateDevice(t.ctx, first.device.id, first.key)).toBeUndefined();
    expect(await authenticateDevice(t.ctx, first.device.id, other.key)).toBeDefined();
  });
});
