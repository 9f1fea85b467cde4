import type { AppContext } from '../../context.js';
import { newId } from '../../shared/ids.js';
import { checkinWriter } from './checkin-writer.js';
import * as store from './store.js';

/**
 * Check-in retention: check-ins older than `retentionDays` are deleted, with the review
 * flags of the same age, and each run is recorded with its counts. Safe in several
 * processes at once: a row deleted twice is deleted once, and each run records only
 * what it deleted itself.
 */

/** Rows deleted per statement, so a large backlog never holds one long lock. */
const DELETE_BATCH = 5_000;

export interface RetentionResult {
  cutoff: number;
  checkinsDeleted: number;
  flagsDeleted: number;
  durationMs: number;
}

export async function purgeExpiredCheckins(ctx: AppContext): Promise<RetentionResult> {
  const started = performance.now();
  const days = ctx.config.venues.retentionDays;
  const cutoff = ctx.now() - days * 86_400_000;

  // Venue by venue, through the (venue_id, checked_in_at) index: the table has no index
  // on time alone, because every index slows each check-in's insert.
  let checkinsDeleted = 0;
  for (const venueId of await store.listVenueIds(ctx.db)) {
    for (;;) {
      const deleted = await store.deleteVenueCheckinsBefore(ctx.db, venueId, cutoff, DELETE_BATCH);
      checkinsDeleted += deleted;
      if (deleted < DELETE_BATCH) break;
    }
  }
  // The writer's in-memory recent check-ins (SQLite) must not name deleted rows.
  if (checkinsDeleted > 0) checkinWriter(ctx).forgetRecent();
  const flagsDeleted = await store.deleteFlagsBefore(ctx.db, cutoff);
  const durationMs = Math.round(performance.now() - started);

  await store.insertRetentionRun(ctx.db, {
    id: newId(ctx.now()),
    ran_at: ctx.now(),
    cutoff,
    retention_days: days,
    checkins_deleted: checkinsDeleted,
    flags_deleted: flagsDeleted,
    duration_ms: durationMs,
  });
  ctx.log.info({ cutoff, retentionDays: days, checkinsDeleted, flagsDeleted, durationMs }, 'venue check-in retention ran');
  return { cutoff, checkinsDeleted, flagsDeleted, durationMs };
}
