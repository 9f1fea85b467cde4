import type { AppContext } from '../../context.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { enqueueNotice } from '../notify/outbox.js';
import { listSchools } from '../people/service.js';
import { schoolGateSettings } from './service.js';
import { deleteSnapshot } from './snapshots.js';
import * as store from './store.js';
import { newId } from '../../shared/ids.js';

/**
 * The gate's periodic work: device silence, snapshot retention. Each is safe to run in
 * several processes at once: alerts and notices carry deterministic keys, and deleting
 * a snapshot twice deletes it once.
 */

export interface SilenceCheckResult {
  raised: number;
  closed: number;
}

/**
 * Raise a device_offline alert, once per silence, for each active device silent for
 * longer than its school's deviceOfflineMinutes. A device never heard from counts from
 * its registration. The alert closes when the device is heard from again.
 */
export async function checkDeviceSilence(ctx: AppContext): Promise<SilenceCheckResult> {
  const now = ctx.now();
  const result: SilenceCheckResult = { raised: 0, closed: 0 };

  for (const device of await store.listActiveDevices(ctx.db)) {
    const { settings } = await schoolGateSettings(ctx, device.school_id);
    const lastHeard = device.last_seen_at ?? device.created_at;
    const isSilent = now - lastHeard >= settings.deviceOfflineMinutes * 60_000;

    if (!isSilent) {
      if (device.offline_alerted_at !== null) result.closed += await closeOfflineAlerts(ctx, device);
      continue;
    }
    if (device.offline_alerted_at !== null && device.offline_alerted_at >= lastHeard) continue;

    const title = `设备离线：${device.name}`;
    // Names often start with their lane ("东门 1 号通道"); the lane is added only when missing.
    const where = device.lane && !device.name.startsWith(device.lane) ? `${device.lane} ${device.name}` : device.name;
    const detail = device.last_seen_at
      ? `${where} 自 ${formatLocalDateTime(device.last_seen_at)} 起未上报数据，请检查设备电源和网络。`
      : `${where} 登记后从未上报数据，请检查设备配置。`;
    const dedupeKey = `device_offline:${device.id}:${lastHeard}`;
    await ctx.db.transaction().execute(async (trx) => {
      const isNew = await store.insertAlert(trx, {
        id: newId(now),
        school_id: device.school_id,
        person_id: null,
        device_id: device.id,
        gate_event_id: null,
        kind: 'device_offline',
        status: 'open',
        title,
        detail,
        dedupe_key: dedupeKey,
        created_at: now,
        acknowledged_at: null,
        acknowledged_note: null,
        acknowledged_by: null,
        closed_at: null,
        closed_note: null,
      });
      await store.updateDevice(trx, device.id, { offline_alerted_at: now });
      if (isNew) {
        await enqueueNotice(trx, { schoolId: device.school_id, channel: 'inbox', kind: 'device_offline', recipientRole: 'school_admin', title, body: detail, idempotencyKey: dedupeKey }, now);
        result.raised += 1;
      }
    });
    ctx.log.warn({ deviceId: device.id, schoolId: device.school_id, lastSeenAt: device.last_seen_at }, 'device offline');
  }
  return result;
}

async function closeOfflineAlerts(ctx: AppContext, device: store.DeviceRow): Promise<number> {
  const open = await store.listOpenDeviceAlerts(ctx.db, device.id);
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    for (const alert of open) await store.updateAlert(trx, alert.id, { status: 'closed', closed_at: now, closed_note: '设备已恢复在线' });
    await store.updateDevice(trx, device.id, { offline_alerted_at: null });
  });
  if (open.length > 0) ctx.log.info({ deviceId: device.id }, 'device back online');
  return open.length;
}

const RETENTION_BATCH = 500;

/** Delete denial snapshots older than each school's retention; returns how many went. */
export async function purgeExpiredSnapshots(ctx: AppContext): Promise<number> {
  let deleted = 0;
  for (const school of await listSchools(ctx)) {
    const { settings } = await schoolGateSettings(ctx, school.id);
    const before = ctx.now() - settings.snapshotRetentionDays * 24 * 60 * 60 * 1000;
    for (;;) {
      const batch = await store.listSnapshotsReceivedBefore(ctx.db, school.id, before, RETENTION_BATCH);
      for (const item of batch) {
        try {
          await deleteSnapshot(ctx, item.snapshot_path);
          await store.setSnapshotPath(ctx.db, item.id, null);
          deleted += 1;
        } catch (error) {
          ctx.log.error({ err: error, gateEventId: item.id }, 'snapshot delete failed');
          return deleted;
        }
      }
      if (batch.length < RETENTION_BATCH) break;
    }
  }
  if (deleted > 0) ctx.log.info({ deleted }, 'expired gate snapshots deleted');
  return deleted;
}
