import { sql, type Kysely, type Transaction } from 'kysely';
import { prepareQuery } from '../../db/prepared.js';
import type {
  Database,
  FaceDescriptorTable,
  FaceEnrolmentItemStatus,
  FaceEnrolmentItemTable,
  FaceEnrolmentJobTable,
} from '../../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type DescriptorRow = FaceDescriptorTable;
export type EnrolmentJobRow = FaceEnrolmentJobTable;
export type EnrolmentItemRow = FaceEnrolmentItemTable;

export async function insertDescriptor(db: Executor, row: DescriptorRow): Promise<void> {
  await db.insertInto('face_descriptors').values(row).execute();
}

export async function listDescriptorsOfSchool(db: Executor, schoolId: string): Promise<DescriptorRow[]> {
  return db.selectFrom('face_descriptors').selectAll().where('school_id', '=', schoolId).orderBy('id').execute();
}

export async function countDescriptorsOfPerson(db: Executor, personId: string): Promise<number> {
  const row = await db
    .selectFrom('face_descriptors')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('person_id', '=', personId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function deleteDescriptorsOfPerson(db: Executor, schoolId: string, personId: string): Promise<number> {
  const result = await db.deleteFrom('face_descriptors').where('school_id', '=', schoolId).where('person_id', '=', personId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteDescriptor(db: Executor, id: string): Promise<number> {
  const result = await db.deleteFrom('face_descriptors').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Increment the school's gallery revision (creating it at 1) and return the new value. */
export async function bumpGalleryRevision(db: Executor, schoolId: string, now: number): Promise<number> {
  await db
    .insertInto('face_gallery_revisions')
    .values({ school_id: schoolId, revision: 1, updated_at: now })
    .onConflict((oc) => oc.column('school_id').doUpdateSet({ revision: sql`face_gallery_revisions.revision + 1`, updated_at: now }))
    .execute();
  return getGalleryRevision(db, schoolId);
}

/** Return the school's gallery revision, or 0 when nothing was ever enrolled. */
const galleryRevisionQuery = prepareQuery<{ schoolId: string }, { revision: number }>((db, slot) =>
  db.selectFrom('face_gallery_revisions').select('revision').where('school_id', '=', slot('schoolId')),
);

/** Read the school's gallery revision; the gate reads it on every face decision, so it is prepared. */
export async function getGalleryRevision(db: Executor, schoolId: string): Promise<number> {
  const row = (await galleryRevisionQuery(db, { schoolId })).rows[0];
  return row ? Number(row.revision) : 0;
}

export async function findEnrolmentJob(db: Executor, schoolId: string, sourcePath: string): Promise<EnrolmentJobRow | undefined> {
  return db.selectFrom('face_enrolment_jobs').selectAll().where('school_id', '=', schoolId).where('source_path', '=', sourcePath).executeTakeFirst();
}

export async function insertEnrolmentJob(db: Executor, row: EnrolmentJobRow): Promise<void> {
  await db.insertInto('face_enrolment_jobs').values(row).execute();
}

export async function updateEnrolmentJob(db: Executor, id: string, changes: Partial<EnrolmentJobRow>): Promise<void> {
  await db.updateTable('face_enrolment_jobs').set(changes).where('id', '=', id).execute();
}

export async function listEnrolmentItems(db: Executor, jobId: string): Promise<EnrolmentItemRow[]> {
  return db.selectFrom('face_enrolment_items').selectAll().where('job_id', '=', jobId).orderBy('file_label').execute();
}

export async function insertEnrolmentItems(db: Executor, rows: EnrolmentItemRow[]): Promise<void> {
  // SQLite allows 32,766 bound parameters per statement; 11 columns x 500 rows stays well under.
  for (let start = 0; start < rows.length; start += 500) {
    await db.insertInto('face_enrolment_items').values(rows.slice(start, start + 500)).execute();
  }
}

export async function updateEnrolmentItem(db: Executor, id: string, changes: Partial<EnrolmentItemRow>): Promise<void> {
  await db.updateTable('face_enrolment_items').set(changes).where('id', '=', id).execute();
}

/** Item counts of a job by status. */
export async function countEnrolmentItems(db: Executor, jobId: string): Promise<Record<FaceEnrolmentItemStatus, number>> {
  const rows = await db
    .selectFrom('face_enrolment_items')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('job_id', '=', jobId)
    .groupBy('status')
    .execute();
  const counts: Record<FaceEnrolmentItemStatus, number> = { pending: 0, done: 0, failed: 0 };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}
