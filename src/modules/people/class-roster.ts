import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import * as store from './store.js';

/** A pupil as a class list shows them: no personal data beyond the name and number. */
export interface ClassPupil {
  id: string;
  name: string;
  studentNumber: string | null;
}

export interface ClassRoster {
  klass: store.ClassRow;
  /** Active pupils, by student number then name. */
  pupils: ClassPupil[];
}

/** A class of the school with its active pupils, or NOT_FOUND naming the class id. */
export async function getClassRoster(ctx: AppContext, schoolId: string, classId: string): Promise<ClassRoster> {
  const klass = await store.findClassById(ctx.db, classId);
  if (!klass || klass.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '班级', value: classId });
  const pupils = await ctx.db
    .selectFrom('persons')
    .select(['id', 'name', 'student_number'])
    .where('class_id', '=', classId)
    .where('kind', '=', 'student')
    .where('active', '=', 1)
    .orderBy('student_number')
    .orderBy('name')
    .execute();
  return { klass, pupils: pupils.map((p) => ({ id: p.id, name: p.name, studentNumber: p.student_number })) };
}

/** Classes by id, for labelling lists across a school or the district. */
export async function getClassesByIds(ctx: AppContext, classIds: string[]): Promise<Map<string, store.ClassRow>> {
  if (classIds.length === 0) return new Map();
  const rows = await ctx.db.selectFrom('classes').selectAll().where('id', 'in', [...new Set(classIds)]).execute();
  return new Map(rows.map((row) => [row.id, row]));
}

/** Names of persons by id. */
export async function getPersonNames(ctx: AppContext, personIds: string[]): Promise<Map<string, string>> {
  if (personIds.length === 0) return new Map();
  const rows = await ctx.db.selectFrom('persons').select(['id', 'name']).where('id', 'in', [...new Set(personIds)]).execute();
  return new Map(rows.map((row) => [row.id, row.name]));
}
