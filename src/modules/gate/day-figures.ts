import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import type { PersonKind } from '../../db/schema.js';

/**
 * Read-only figures of one school day for the daily report: attendance counted per
 * grade and the fevers the gate measured. Each is one or two indexed queries, so a
 * report of a 3,000-pupil school reads no more than that day's rows.
 */

export interface GradeArrivals {
  /** Null for pupils in no class. */
  grade: number | null;
  /** Active pupils of the grade. */
  expected: number;
  /** Of those, pupils with an attendance row for the day (a gate pass or a normal re-check). */
  arrived: number;
  late: number;
}

/** Count active pupils, arrivals and late arrivals of a day per grade, in grade order. */
export async function countArrivalsByGrade(ctx: AppContext, schoolId: string, day: string): Promise<GradeArrivals[]> {
  const rows = await ctx.db
    .selectFrom('persons')
    .leftJoin('classes', 'classes.id', 'persons.class_id')
    .leftJoin('attendance', (join) => join.onRef('attendance.person_id', '=', 'persons.id').on('attendance.day', '=', day))
    .select([
      'classes.grade',
      sql<number>`count(*)`.as('expected'),
      sql<number>`count(attendance.person_id)`.as('arrived'),
      sql<number>`sum(case when attendance.late = 1 then 1 else 0 end)`.as('late'),
    ])
    .where('persons.school_id', '=', schoolId)
    .where('persons.kind', '=', 'student')
    .where('persons.active', '=', 1)
    .groupBy('classes.grade')
    .execute();

  return rows
    .map((row) => ({ grade: row.grade ?? null, expected: Number(row.expected), arrived: Number(row.arrived), late: Number(row.late ?? 0) }))
    .sort((a, b) => (a.grade ?? 99) - (b.grade ?? 99));
}

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
