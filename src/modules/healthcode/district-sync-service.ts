import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { audit, type AuditActor } from '../auth/index.js';
import { resolveCalendarDistrict } from '../calendar/service.js';
import * as store from './store.js';

/**
 * 全区每天同步: a district-wide switch that makes every school of the district run its
 * scheduled health-code syncs every day, school day or not, as during an outbreak. It is stored once per district. A school's own 每天同步 (`syncEveryDay`) still
 * applies while the district switch is off. The scheduler reads the switch at each
 * decision, so a change takes effect without a restart.
 */

/** Audit actions of the switch, one for each direction. */
export const DISTRICT_EVERY_DAY_ON = 'healthcode.district_every_day.on';
export const DISTRICT_EVERY_DAY_OFF = 'healthcode.district_every_day.off';

/** The district admin who switches and their address, for the audit log. */
export interface DistrictSyncActor {
  user: AuditActor;
  /** The display name stored beside the switch and shown to schools. */
  name: string;
  ip: string | null;
}

/** The district switch as the school's 同步时间 tab shows it; null on a school whose district has it off. */
export interface DistrictEveryDayNotice {
  /** Time it was switched on (epoch ms) and the user who did it; null only for a row written outside the API. */
  enabledAt: number | null;
  enabledByName: string | null;
}

/** The district switch as the district admin's 全区设置 shows it. */
export interface DistrictSyncSettingsView {
  districtId: string;
  everyDay: boolean;
  /** Time of the last change (epoch ms) and the user who made it; null before the first change. */
  changedAt: number | null;
  changedByName: string | null;
  /** How many schools the district has. */
  schoolCount: number;
  /** Schools that sync every day by their own setting, which keeps applying when the district switch is off. */
  ownEveryDaySchools: Array<{ code: string; name: string }>;
}

/** Return the district switch for a school's schedule view, or null while it is off. */
export async function districtEveryDayNotice(ctx: AppContext, districtId: string): Promise<DistrictEveryDayNotice | null> {
  const row = await store.findDistrictSettings(ctx.db, districtId);
  if (!row || row.sync_every_day !== 1) return null;
  return { enabledAt: row.sync_every_day_changed_at, enabledByName: row.sync_every_day_changed_by_name };
}

/** True while 全区每天同步 is on for the district. */
export async function districtSyncsEveryDay(ctx: AppContext, districtId: string): Promise<boolean> {
  return (await districtEveryDayNotice(ctx, districtId)) !== null;
}

/** Read the district's switch; `districtId` defaults to the district of the first school. */
export async function getDistrictSyncSettings(ctx: AppContext, districtId: string | undefined): Promise<DistrictSyncSettingsView> {
  const { districtId: id, schools } = await resolveCalendarDistrict(ctx, districtId);
  const row = await store.findDistrictSettings(ctx.db, id);
  return {
    districtId: id,
    everyDay: row?.sync_every_day === 1,
    changedAt: row?.sync_every_day_changed_at ?? null,
    changedByName: row?.sync_every_day_changed_by_name ?? null,
    schoolCount: schools.length,
    ownEveryDaySchools: schools.filter((school) => school.settings.syncEveryDay).map((school) => ({ code: school.code, name: school.name })),
  };
}

/**
 * Turn 全区每天同步 on or off. A request that repeats the current state changes nothing,
 * so the switch keeps the name and time of the user who last changed it. A change is written to the
 * audit log in the same transaction.
 */
export async function setDistrictSyncEveryDay(
  ctx: AppContext,
  actor: DistrictSyncActor,
  districtId: string | undefined,
  everyDay: unknown,
): Promise<DistrictSyncSettingsView & { changed: boolean }> {
  if (typeof everyDay !== 'boolean') {
    throw new AppError('VALIDATION', { detail: `全区每天同步（everyDay）应为 true 或 false，收到 ${JSON.stringify(everyDay) ?? 'undefined'}` });
  }
  const before = await getDistrictSyncSettings(ctx, districtId);
  if (before.everyDay === everyDay) return { ...before, changed: false };

  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await store.upsertDistrictSyncEveryDay(trx, {
      district_id: before.districtId,
      sync_every_day: everyDay ? 1 : 0,
      sync_every_day_changed_at: now,
      sync_every_day_changed_by: actor.user?.id ?? null,
      sync_every_day_changed_by_name: actor.name,
    });
    await audit(ctx, actor.user, everyDay ? DISTRICT_EVERY_DAY_ON : DISTRICT_EVERY_DAY_OFF, before.districtId, { everyDay, schools: before.schoolCount }, { db: trx, ip: actor.ip });
  });
  ctx.log.info({ districtId: before.districtId, everyDay, userId: actor.user?.id ?? null }, 'district every-day sync switched');
  return { ...before, everyDay, changedAt: now, changedByName: actor.name, changed: true };
}
