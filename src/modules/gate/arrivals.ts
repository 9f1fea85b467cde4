import type { AppContext } from '../../context.js';
import type { CodeColor } from '../../db/schema.js';

/** A pupil's arrival as the gate recorded it: the first pass of the day with its reading. */
export interface GateArrival {
  personId: string;
  firstPassAt: number;
  late: boolean;
  /**
   * Degrees Celsius read at that pass; null when the lane measured none, or when the pupil
   * was admitted after a re-check (the pass row then holds the fever reading that was denied).
   */
  temperature: number | null;
  /** The code colour the gate saw at that pass. */
  codeColor: CodeColor | null;
}

/**
 * Arrivals of a class on a school day with the temperature and code of each first pass,
 * for the morning check's pre-filled list. One query over attendance (indexed by school
 * and day) joined to the pass that counted.
 */
export async function listClassArrivals(ctx: AppContext, schoolId: string, classId: string, day: string): Promise<Map<string, GateArrival>> {
  const rows = await ctx.db
    .selectFrom('attendance')
    .innerJoin('persons', 'persons.id', 'attendance.person_id')
    .leftJoin('gate_events', 'gate_events.id', 'attendance.gate_event_id')
    .select(['attendance.person_id', 'attendance.first_pass_at', 'attendance.late', 'attendance.source', 'gate_events.temperature', 'gate_events.code_color'])
    .where('attendance.school_id', '=', schoolId)
    .where('attendance.day', '=', day)
    .where('persons.class_id', '=', classId)
    .execute();
  return new Map(
    rows.map((row) => [
      row.person_id,
      { personId: row.person_id, firstPassAt: row.first_pass_at, late: row.late === 1, temperature: row.source === 'recheck' ? null : (row.temperature ?? null), codeColor: row.code_color ?? null },
    ]),
  );
}
