import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import type { PersonKind } from '../../db/schema.js';

/**
 * Read-only figures of one school day for the daily report: the fevers the gate
 * measured, in one or two indexed queries.
 */

export interface DayFever {
  /** Null for a face the gate did not recognise. */
  personId: string | null;
  name: string | null;
  kind: PersonKind | null;
  className: string | null;
  /** Highest reading of the day in degrees Celsius; null when the terminal only flagged a fever. */
  maxTemperature: number | null;
  firstAt: number;
  /** Gate readings at or above the threshold that day. */
  readings: number;
  /** Result of the latest re-check at the observation point, if any. */
  recheck: 'normal' | 'fever' | null;
  recheckTemperature: number | null;
}

/**
 * People the gate denied for fever on a day, one entry per person (per event for an
 * unrecognised face), with the latest re-check of their fever alerts.
 */
export async function listFeversOfDay(ctx: AppContext, schoolId: string, day: string): Promise<DayFever[]> {
  const events = await ctx.db
    .selectFrom('gate_events')
    .leftJoin('persons', 'persons.id', 'gate_events.person_id')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .select(['gate_events.id', 'gate_events.person_id', 'gate_events.occurred_at', 'gate_events.temperature', 'persons.name', 'persons.kind', 'classes.name as class_name'])
    .where('gate_events.school_id', '=', schoolId)
    .where('gate_events.day', '=', day)
    .where('gate_events.reason', '=', 'fever')
    .orderBy('gate_events.occurred_at')
    .execute();
  if (events.length === 0) return [];

  const rechecks = await ctx.db
    .selectFrom('rechecks')
    .innerJoin('alerts', 'alerts.id', 'rechecks.alert_id')
    .select(['alerts.gate_event_id', 'rechecks.result', 'rechecks.temperature', 'rechecks.measured_at'])
    .where('alerts.school_id', '=', schoolId)
    .where('alerts.kind', '=', 'fever')
    .where(
      'alerts.gate_event_id',
      'in',
      events.map((e) => e.id),
    )
    .orderBy('rechecks.measured_at')
    .execute();
  const latestRecheck = new Map<string, { result: string; temperature: number; measuredAt: number }>();
  for (const row of rechecks) if (row.gate_event_id) latestRecheck.set(row.gate_event_id, { result: row.result, temperature: row.temperature, measuredAt: row.measured_at });

  const byKey = new Map<string, DayFever & { recheckAt: number }>();
  for (const event of events) {
    const key = event.person_id ?? `event:${event.id}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        personId: event.person_id,
        name: event.name,
        kind: event.kind,
        className: event.class_name,
        maxTemperature: null,
        firstAt: event.occurred_at,
        readings: 0,
        recheck: null,
        recheckTemperature: null,
        recheckAt: 0,
      };
      byKey.set(key, entry);
    }
    entry.readings += 1;
    if (event.temperature !== null && (entry.maxTemperature === null || event.temperature > entry.maxTemperature)) entry.maxTemperature = event.temperature;
    const recheck = latestRecheck.get(event.id);
    if (recheck && recheck.measuredAt >= entry.recheckAt) {
      entry.recheck = recheck.result === 'normal' ? 'normal' : 'fever';
      entry.recheckTemperature = recheck.temperature;
      entry.recheckAt = recheck.measuredAt;
    }
  }
  return [...byKey.values()].map(({ recheckAt: _recheckAt, ...fever }) => fever);
}
