import type { AppContext } from '../../context.js';
import { audit, type AuditActor } from '../auth/index.js';
import { getSchoolByCodeOrThrow, updateSchoolSettings, type SchoolSummary } from '../people/service.js';
import { readGateSettings } from './gate-settings.js';
import { forgetSchoolGateSettings } from './service.js';
import { applyThresholdUpdate, thresholdChanges, type GateThresholds } from './thresholds.js';

/** A school's gate thresholds with the installation-wide values the console shows beside them. */
export interface GateThresholdsView {
  thresholds: GateThresholds;
  installation: {
    /** Stale age used while the school's codeStaleHours is null, in hours (may be fractional). */
    codeStaleHours: number;
    /** Venue check-ins are deleted after this many days (FANGKONG_VENUE_RETENTION_DAYS), district-wide. */
    venueCheckinRetentionDays: number;
  };
}

function thresholdsOf(school: SchoolSummary): GateThresholds {
  const gate = readGateSettings(school.settings);
  return {
    feverThresholdC: gate.feverThresholdC,
    sensorMinC: gate.sensorMinC,
    sensorMaxC: gate.sensorMaxC,
    staleGreenCode: gate.staleGreenCode,
    missingTemperature: gate.missingTemperature,
    codeStaleHours: school.settings.codeStaleHours ?? null,
    snapshotRetentionDays: gate.snapshotRetentionDays,
    deviceOfflineMinutes: gate.deviceOfflineMinutes,
  };
}

function viewOf(ctx: AppContext, thresholds: GateThresholds): GateThresholdsView {
  return {
    thresholds,
    installation: {
      codeStaleHours: ctx.config.bureau.staleAfterMinutes / 60,
      venueCheckinRetentionDays: ctx.config.venues.retentionDays,
    },
  };
}

export async function getGateThresholds(ctx: AppContext, schoolCode: string): Promise<GateThresholdsView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  return viewOf(ctx, thresholdsOf(school));
}

/**
 * Validate and store a partial update of a school's gate thresholds. The settings and
 * the audit entry (who, and each changed field with its old and new value) commit in
 * one transaction. Other keys of the school's settings, such as entry windows, are kept.
 */
export async function updateGateThresholds(
  ctx: AppContext,
  schoolCode: string,
  input: unknown,
  actor: { user: AuditActor; ip: string | null },
): Promise<GateThresholdsView> {
  const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
  const before = thresholdsOf(school);
  const after = applyThresholdUpdate(before, input);
  const changes = thresholdChanges(before, after);
  if (Object.keys(changes).length === 0) return viewOf(ctx, after);

  const { codeStaleHours, ...gateFields } = after;
  const storedGate = (school.settings as { gate?: Record<string, unknown> }).gate ?? {};
  const settings = { ...school.settings, codeStaleHours, gate: { ...storedGate, ...gateFields } };
  await ctx.db.transaction().execute(async (trx) => {
    await updateSchoolSettings({ ...ctx, db: trx }, school.id, settings);
    await audit(ctx, actor.user, 'gate.settings.update', school.code, { changes }, { db: trx, ip: actor.ip, schoolId: school.id });
  });
  forgetSchoolGateSettings(ctx, school.id);
  ctx.log.info({ schoolId: school.id, fields: Object.keys(changes) }, 'gate thresholds changed');
  return viewOf(ctx, after);
}
