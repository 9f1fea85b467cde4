import { Kysely } from 'kysely';

/**
 * Face recognition: enrolled descriptors (encrypted), a per-school gallery revision that
 * tells every process when to reload its in-memory gallery, and resumable batch
 * enrolment from a folder of photos.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('face_descriptors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    .addColumn('descriptor_enc', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('face_descriptors_school').on('face_descriptors').column('school_id').execute();
  await db.schema.createIndex('face_descriptors_person').on('face_descriptors').column('person_id').execute();

  await db.schema
    .createTable('face_gallery_revisions')
    .addColumn('school_id', 'text', (c) => c.primaryKey().references('schools.id'))
    .addColumn('revision', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('face_enrolment_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('school_id', 'text', (c) => c.notNull().references('schools.id'))
    .addColumn('source_path', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull())
    .addColumn('failed', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addUniqueConstraint('face_enrolment_jobs_school_path', ['school_id', 'source_path'])
    .execute();

  await db.schema
    .createTable('face_enrolment_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('job_id', 'text', (c) => c.notNull().references('face_enrolment_jobs.id'))
    .addColumn('file_key', 'text', (c) => c.notNull())
    .addColumn('file_label', 'text', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text')
    .addColumn('descriptor_id', 'text')
    .addColumn('reason_code', 'text')
    .addColumn('reason', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('face_enrolment_items_job_file', ['job_id', 'file_key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('face_enrolment_items').execute();
  await db.schema.dropTable('face_enrolment_jobs').execute();
  await db.schema.dropTable('face_gallery_revisions').execute();
  await db.schema.dropTable('face_descriptors').execute();
}
