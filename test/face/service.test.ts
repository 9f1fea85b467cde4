import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../src/context.js';
import { openDb, type Db } from '../../src/db/connection.js';
import { decodeDescriptor } from '../../src/modules/face/descriptor.js';
import { enrolFolder, type FolderProgress } from '../../src/modules/face/folder-enrolment.js';
import { deleteFaceEnrolment, enrollFace, identifyDescriptor, identifyImage, saveDescriptor } from '../../src/modules/face/service.js';
import { insertConsent } from '../../src/modules/people/store.js';
import { AppError } from '../../src/shared/errors.js';
import { newId } from '../../src/shared/ids.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool } from '../helpers/factories.js';
import { buildPupil } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/faces');
const photo = (path: string) => readFileSync(join(FIXTURES, path));

const OBAMA = 'face_recognition/obama/obama.jpg';
const OBAMA_2 = 'face_recognition/obama/obama2.jpg';
const BIDEN = 'face_recognition/biden/biden2.jpg';
const ROSE = 'face_recognition/rose_leslie/img1.jpg';
const MASK_PLAIN = 'masked/synthetic-pairs/283.jpg';
const MASK_ON = 'masked/synthetic-pairs/283-with-mask.jpg';
const NO_FACE = 'no-face/inspireface_view.jpg';

async function grantFaceConsent(ctx: AppContext, personId: string): Promise<string> {
  const id = newId();
  await insertConsent(ctx.db, { id, person_id: personId, purpose: 'face', given_by: 'guardian', guardian_id: null, given_at: ctx.now(), revoked_at: null, note: null });
  return id;
}

async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

async function storedDescriptor(ctx: AppContext, personId: string): Promise<Float32Array> {
  const row = await ctx.db.selectFrom('face_descriptors').select('descriptor_enc').where('person_id', '=', personId).executeTakeFirstOrThrow();
  return decodeDescriptor(ctx.cipher.decrypt(row.descriptor_enc));
}

describe.each(DIALECTS)('%s: face enrolment and identification', (dialect) => {
  let t: TestDb;
  let schoolId: string;
  let obama: string;
  let biden: string;
  let masked: string;
  let noConsent: string;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    schoolId = (await buildSchool(t.ctx)).id;
    obama = (await buildPupil(t.ctx, schoolId)).person.id;
    biden = (await buildPupil(t.ctx, schoolId)).person.id;
    masked = (await buildPupil(t.ctx, schoolId)).person.id;
    noConsent = (await buildPupil(t.ctx, schoolId)).person.id;
    for (const id of [obama, biden, masked]) await grantFaceConsent(t.ctx, id);
  });

  afterAll(async () => {
    await t.close();
  });

  it('requires face consent', async () => {
    const error = await appErrorOf(enrollFace(t.ctx, { schoolId, personId: noConsent, image: photo(OBAMA) }));
    expect(error.code).toBe('FACE_CONSENT_REQUIRED');
    expect(error.status).toBe(409);
    expect(error.userMessage).toContain('尚未授权人脸识别');
  });

  it('rejects a person of another school', async () => {
    const other = (await buildSchool(t.ctx)).id;
    const error = await appErrorOf(enrollFace(t.ctx, { schoolId: other, personId: obama, image: photo(OBAMA) }));
    expect(error.code).toBe('NOT_FOUND');
  });

  it('stores the descriptor encrypted and not the photo', async () => {
    const result = await enrollFace(t.ctx, { schoolId, personId: obama, image: photo(OBAMA) });
    expect(result.descriptorCount).toBe(1);

    const rows = await t.ctx.db.selectFrom('face_descriptors').selectAll().where('person_id', '=', obama).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: result.descriptorId, school_id: schoolId, source: 'api' });
    const descriptor = await storedDescriptor(t.ctx, obama);
    expect(descriptor).toHaveLength(128);
    // Neither the numbers nor the plain base64 of the float bytes appear in the column.
    const column = rows[0].descriptor_enc;
    expect(column.startsWith('v1:')).toBe(true);
    expect(column).not.toContain(descriptor[0].toFixed(4).slice(2));
    expect(column).not.toContain(Buffer.from(descriptor.buffer).toString('base64').slice(0, 16));
    expect(column.length).toBeLessThan(1000);
  });

  it('identifies the same person and not another', async () => {
    await enrollFace(t.ctx, { schoolId, personId: biden, image: photo(BIDEN) });

    const same = await identifyImage(t.ctx, schoolId, photo(OBAMA_2));
    expect(same).toMatchObject({ decision: 'match', personId: obama, secondPersonId: biden });
    expect(same.distance).toBeLessThan(0.5);
    expect(same.margin).toBeGreaterThan(0.05);

    const stranger = await identifyImage(t.ctx, schoolId, photo(ROSE));
    expect(stranger.decision).toBe('unknown');
    expect(stranger.personId).toBeUndefined();

    const byDescriptor = await identifyDescriptor(t.ctx, schoolId, Array.from(await storedDescriptor(t.ctx, biden)));
    expect(byDescriptor).toMatchObject({ decision: 'match', personId: biden, distance: 0 });
  });

  it('answers a photo without a face with the rejection', async () => {
    const result = await identifyImage(t.ctx, schoolId, photo(NO_FACE));
    expect(result).toEqual({ decision: 'unknown', rejection: { code: 'NO_FACE', message: '照片中未检测到人脸，请正对镜头、露出面部后重拍' } });
  });

  it('rejects a masked enrolment photo and never matches a masked face', async () => {
    const error = await appErrorOf(enrollFace(t.ctx, { schoolId, personId: masked, image: photo(MASK_ON) }));
    expect(error.code).toBe('FACE_REJECTED');
    expect(error.status).toBe(422);
    expect(error.details).toEqual({ reason: 'FACE_MASKED' });
    expect(error.userMessage).toBe('检测到口罩或面部遮挡，请摘下口罩、露出完整面部后重拍');

    await enrollFace(t.ctx, { schoolId, personId: masked, image: photo(MASK_PLAIN) });
    const result = await identifyImage(t.ctx, schoolId, photo(MASK_ON));
    expect(result.masked).toBe(true);
    expect(result.decision).not.toBe('match');
  });

  it('validates a descriptor sent by a client', async () => {
    const short = await appErrorOf(identifyDescriptor(t.ctx, schoolId, [0.1, 0.2]));
    expect(short.code).toBe('INVALID_DESCRIPTOR');
    expect(short.status).toBe(400);
    expect(short.userMessage).toBe('人脸特征值无效：应有 128 个数字，实际为 2 个');

    const notFinite = await appErrorOf(identifyDescriptor(t.ctx, schoolId, [...new Array(127).fill(0), Number.POSITIVE_INFINITY]));
    expect(notFinite.userMessage).toContain('第 128 个值不是有限数字');
  });

  it('sees changes made by another process', async () => {
    const url = t.ctx.config.databaseUrl;
    const second: Db = openDb({ databaseUrl: url, dataDir: t.dataDir });
    const other = createContext({ config: t.ctx.config, database: second, cipher: t.ctx.cipher, log: t.ctx.log, now: t.ctx.now });
    try {
      const bidenDescriptor = await storedDescriptor(t.ctx, biden);
      expect((await identifyDescriptor(other, schoolId, bidenDescriptor)).personId).toBe(biden);

      // A new person enrolled through the first process, with a descriptor close to Biden's.
      const twin = (await buildPupil(t.ctx, schoolId)).person.id;
      await grantFaceConsent(t.ctx, twin);
      const near = Float32Array.from(bidenDescriptor, (v, i) => v + (i % 2 === 0 ? 0.004 : -0.004));
      await saveDescriptor(t.ctx, { schoolId, personId: twin, descriptor: near, score: 1, source: 'api' });

      const seen = await identifyDescriptor(other, schoolId, near);
      expect(seen.personId).toBe(twin);
      expect(seen.decision).toBe('ambiguous');
      expect(seen.secondPersonId).toBe(biden);

      await deleteFaceEnrolment(t.ctx, { schoolId, personId: twin });
      expect((await identifyDescriptor(other, schoolId, near)).personId).toBe(biden);
    } finally {
      await second.close();
    }
  });

  it('leaves out people whose consent was revoked', async () => {
    const person = (await buildPupil(t.ctx, schoolId)).person.id;
    const consentId = await grantFaceConsent(t.ctx, person);
    const descriptor = Float32Array.from({ length: 128 }, (_, i) => (i % 7) * 0.05 - 0.15);
    await saveDescriptor(t.ctx, { schoolId, personId: person, descriptor, score: 1, source: 'api' });
    expect((await identifyDescriptor(t.ctx, schoolId, descriptor)).personId).toBe(person);

    await t.ctx.db.updateTable('consents').set({ revoked_at: t.ctx.now() }).where('id', '=', consentId).execute();
    // A process that loads the gallery afterwards leaves the person out.
    const second: Db = openDb({ databaseUrl: t.ctx.config.databaseUrl, dataDir: t.dataDir });
    try {
      const fresh = createContext({ config: t.ctx.config, database: second, cipher: t.ctx.cipher, log: t.ctx.log, now: t.ctx.now });
      const result = await identifyDescriptor(fresh, schoolId, descriptor);
      expect(result.personId).not.toBe(person);
    } finally {
      await second.close();
    }
  });

  it('deletes an enrolment', async () => {
    const descriptor = await storedDescriptor(t.ctx, biden);
    expect(await deleteFaceEnrolment(t.ctx, { schoolId, personId: biden })).toEqual({ deleted: 1 });
    expect(await deleteFaceEnrolment(t.ctx, { schoolId, personId: biden })).toEqual({ deleted: 0 });
    const result = await identifyDescriptor(t.ctx, schoolId, descriptor);
    expect(result.personId).not.toBe(biden);
    expect(await t.ctx.db.selectFrom('face_descriptors').select('id').where('person_id', '=', biden).execute()).toEqual([]);
  });

  it('enrols a folder, resumes after a crash and skips what is done', async () => {
    const folderSchool = (await buildSchool(t.ctx)).id;
    const pupils = [];
    for (let i = 0; i < 3; i++) {
      const built = await buildPupil(t.ctx, folderSchool);
      await grantFaceConsent(t.ctx, built.person.id);
      pupils.push(built);
    }
    const folder = join(t.dataDir, `photos-${dialect}`);
    mkdirSync(folder);
    copyFileSync(join(FIXTURES, OBAMA), join(folder, `${pupils[0].person.student_number}.jpg`));
    copyFileSync(join(FIXTURES, BIDEN), join(folder, `${pupils[1].person.student_number}.jpg`));
    copyFileSync(join(FIXTURES, ROSE), join(folder, `${pupils[2].idNumber}.jpg`));
    copyFileSync(join(FIXTURES, OBAMA_2), join(folder, 'XS999999.jpg'));
    writeFileSync(join(folder, 'notes.txt'), 'not a photo');

    // The first run dies after its first photo, as a killed process would.
    const crash = new Error('simulated crash');
    await expect(
      enrolFolder(t.ctx, {
        schoolId: folderSchool,
        folder,
        onProgress: () => {
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const afterCrash = await t.ctx.db.selectFrom('face_enrolment_items').select(['status', 'file_label']).execute();
    expect(afterCrash.map((i) => i.status).sort()).toEqual(['done', 'pending', 'pending', 'pending']);

    const progress: FolderProgress[] = [];
    const resumed = await enrolFolder(t.ctx, { schoolId: folderSchool, folder, onProgress: (p) => progress.push(p) });
    expect(resumed).toMatchObject({ resumed: true, total: 4, enrolled: 2, skipped: 1 });
    expect(progress.map((p) => [p.index, p.count, p.status])).toEqual([
      [1, 3, 'done'],
      [2, 3, 'done'],
      [3, 3, 'failed'],
    ]);
    expect(resumed.failed).toEqual([{ file: 'XS999999.jpg', reasonCode: 'NOT_FOUND', reason: '未找到学号、工号或身份证号对应的人员：XS999999' }]);
    // The ID number in the file name is masked in reports and never stored in the clear.
    const labels = (await t.ctx.db.selectFrom('face_enrolment_items').select('file_label').execute()).map((r) => r.file_label);
    expect(labels).toContain(`${pupils[2].idNumber.slice(0, 3)}***********${pupils[2].idNumber.slice(-4)}.jpg`);
    expect(JSON.stringify(labels)).not.toContain(pupils[2].idNumber);

    const counts = await t.ctx.db.selectFrom('face_descriptors').select('person_id').where('school_id', '=', folderSchool).execute();
    expect(counts.map((r) => r.person_id).sort()).toEqual(pupils.map((p) => p.person.id).sort());

    // A third run changes nothing but tries the failed photo again.
    const again = await enrolFolder(t.ctx, { schoolId: folderSchool, folder });
    expect(again).toMatchObject({ enrolled: 0, skipped: 3, total: 4 });
    expect(again.failed).toHaveLength(1);

    // A photo replaced under the same name is enrolled again and replaces the old descriptor.
    copyFileSync(join(FIXTURES, OBAMA_2), join(folder, `${pupils[0].person.student_number}.jpg`));
    const replaced = await enrolFolder(t.ctx, { schoolId: folderSchool, folder });
    expect(replaced).toMatchObject({ enrolled: 1, skipped: 2 });
    const ofFirst = await t.ctx.db.selectFrom('face_descriptors').select('id').where('person_id', '=', pupils[0].person.id).execute();
    expect(ofFirst).toHaveLength(1);

    const job = await t.ctx.db.selectFrom('face_enrolment_jobs').selectAll().where('school_id', '=', folderSchool).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'done', total: 4, done: 3, failed: 1 });
  });
});
