import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CalendarDayTable, Database } from '../../db/schema.js';

type Db = Kysely<Database> | Transaction<Database>;
export type CalendarDayRow = Selectable<CalendarDayTable>;

/** List every entry of a district in [from, to]: the district's own and those of each of its schools. */
export async function listDistrictEntries(db: Db, districtId: string, from: string, to: string): Promise<CalendarDayRow[]> {
  return db.selectFrom('calendar_days').selectAll().where('district_id', '=', districtId).where('day', '>=', from).where('day', '<=', to).orderBy('day').execute();
}

/** List the entries of one scope (a district or a school) in [from, to], by day. */
export async function listScopeEntries(db: Db, scope: CalendarDayTable['scope'], scopeId: string, from: string, to: string): Promise<CalendarDayRow[]> {
  return db.selectFrom('calendar_days').selectAll().where('scope', '=', scope).where('scope_id', '=', scopeId).where('day', '>=', from).where('day', '<=', to).orderBy('day').execute();
}

/** List the district's entries and one school's entries in [from, to]. */
export async function listSchoolEntries(db: Db, districtId: string, schoolId: string, from: string, to: string): Promise<CalendarDayRow[]> {
  return db
    .selectFrom('calendar_days')
    .selectAll()
    .where('district_id', '=', districtId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .where((eb) => eb.or([eb('scope', '=', 'district'), eb.and([eb('scope', '=', 'school'), eb('scope_id', '=', schoolId)])]))
    .orderBy('day')
    .execute();
}

/** Insert or replace the entry of a scope's day. */
export async function upsertEntry(db: Db, row: CalendarDayRow): Promise<void> {
  await db
    .insertInto('calendar_days')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['scope', 'scope_id', 'day']).doUpdateSet({
        is_school_day: row.is_school_day,
        reason: row.reason,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
        updated_by_name: row.updated_by_name,
      }),
    )
    .execute();
}

/** Delete a scope's entries in [from, to]; returns how many there were. */
export async function deleteEntries(db: Db, scope: CalendarDayTable['scope'], scopeId: string, from: string, to: string): Promise<number> {
  const result = await db.deleteFrom('calendar_days').where('scope', '=', scope).where('scope_id', '=', scopeId).where('day', '>=', from).where('day', '<=', to).executeTakeFirst();
  return Number(result.numDeletedRows);
}
