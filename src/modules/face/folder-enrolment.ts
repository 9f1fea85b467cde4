import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { AppContext } from '../../context.js';
import { maskIdNumber } from '../../shared/crypto.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { findPersonByNumber } from '../people/service.js';
import { checkEnrolable, extractOrThrow, rejectMasked, saveDescriptor } from './service.js';
import * as store from './store.js';

/**
 * Batch enrolment from a folder of photos named by student number, staff number or ID
 * number (XS123.jpg, 33010619900307123X.jpg). One job row per school and folder records
 * every file as an item. Each photo is enrolled in its own transaction, which also marks
 * its item done, so a re-run after a crash skips what was done and continues. A failed
 * item is tried again on the next run, because the consent may have been given since. A
 * photo whose content changed under the same name is enrolled again and replaces its
 * earlier descriptor.
 */

const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export interface FolderProgress {
  /** 1-based position among the items this run processes. */
  index: number;
  count: number;
  file: string;
  status: 'done' | 'failed';
  reason?: string;
}

export interface FolderEnrolmentResult {
  jobId: string;
  /** True when the job existed already (a re-run or a resume). */
  resumed: boolean;
  total: number;
  /** Items enrolled by this run. */
  enrolled: number;
  /** Items done by an earlier run and skipped. */
  skipped: number;
  failed: Array<{ file: string; reasonCode: string; reason: string }>;
}

/** Enrol every photo of the folder for the school; progress goes to `onProgress` per item. */
export async function enrolFolder(
  ctx: AppContext,
  input: { schoolId: string; folder: string; onProgress?: (progress: FolderProgress) => void },
): Promise<FolderEnrolmentResult> {
  const folder = resolve(input.folder);
  const files = listPhotos(folder);
  const { job, resumed } = await openJob(ctx, input.schoolId, folder, files.length);
  const pending = await reconcileItems(ctx, job.id, folder, files);

  ctx.log.info({ schoolId: input.schoolId, jobId: job.id, total: files.length, pending: pending.length, resumed }, 'face folder enrolment started');
  let enrolled = 0;
  for (const [position, item] of pending.entries()) {
    const outcome = await enrolItem(ctx, input.schoolId, folder, item);
    if (outcome.status === 'done') enrolled += 1;
    input.onProgress?.({ index: position + 1, count: pending.length, file: item.label, ...outcome });
    await store.updateEnrolmentJob(ctx.db, job.id, { updated_at: ctx.now() });
  }

  const counts = await store.countEnrolmentItems(ctx.db, job.id);
  await store.updateEnrolmentJob(ctx.db, job.id, { status: 'done', done: counts.done, failed: counts.failed, updated_at: ctx.now(), finished_at: ctx.now() });
  const failedItems = (await store.listEnrolmentItems(ctx.db, job.id)).filter((item) => item.status === 'failed');
  ctx.log.info({ schoolId: input.schoolId, jobId: job.id, enrolled, done: counts.done, failed: counts.failed }, 'face folder enrolment finished');

  return {
    jobId: job.id,
    resumed,
    total: files.length,
    enrolled,
    skipped: files.length - pending.length,
    failed: failedItems.map((item) => ({ file: item.file_label, reasonCode: item.reason_code ?? '', reason: item.reason ?? '' })),
  };
}

/** Photo files directly inside the folder, by name. */
function listPhotos(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    throw new AppError('VALIDATION', { detail: `无法读取文件夹 ${folder}，请确认路径存在且有读取权限` });
  }
  const photos = names.filter((name) => PHOTO_EXTENSIONS.has(extname(name).toLowerCase()) && statSync(join(folder, name)).isFile()).sort();
  if (photos.length === 0) {
    throw new AppError('VALIDATION', { detail: `文件夹 ${folder} 中没有照片（支持 .jpg、.jpeg、.png、.webp）` });
  }
  return photos;
}

async function openJob(ctx: AppContext, schoolId: string, folder: string, total: number): Promise<{ job: store.EnrolmentJobRow; resumed: boolean }> {
  const existing = await store.findEnrolmentJob(ctx.db, schoolId, folder);
  if (existing) {
    await store.updateEnrolmentJob(ctx.db, existing.id, { status: 'running', total, updated_at: ctx.now(), finished_at: null });
    return { job: { ...existing, status: 'running', total }, resumed: true };
  }
  const job: store.EnrolmentJobRow = {
    id: newId(ctx.now()),
    school_id: schoolId,
    source_path: folder,
    status: 'running',
    total,
    done: 0,
    failed: 0,
    created_at: ctx.now(),
    updated_at: ctx.now(),
    finished_at: null,
  };
  await store.insertEnrolmentJob(ctx.db, job);
  return { job, resumed: false };
}

interface PendingItem {
  id: string;
  name: string;
  label: string;
  /** Descriptor of the last version of this file that was enrolled, replaced when this run succeeds. */
  previousDescriptorId: string | null;
}

/**
 * Record new files, and set back to pending the items whose photo changed or that failed
 * before. Returns the items to process, in file-name order.
 */
async function reconcileItems(ctx: AppContext, jobId: string, folder: string, files: string[]): Promise<PendingItem[]> {
  const existing = new Map((await store.listEnrolmentItems(ctx.db, jobId)).map((item) => [item.file_key, item]));
  const pending: PendingItem[] = [];
  const inserts: store.EnrolmentItemRow[] = [];

  for (const name of files) {
    const key = ctx.cipher.hash(name);
    const hash = createHash('sha256').update(readFileSync(join(folder, name))).digest('hex');
    const label = fileLabel(name);
    const item = existing.get(key);

    if (!item) {
      const id = newId(ctx.now());
      inserts.push({ id, job_id: jobId, file_key: key, file_label: label, content_hash: hash, status: 'pending', person_id: null, descriptor_id: null, reason_code: null, reason: null, updated_at: ctx.now() });
      pending.push({ id, name, label, previousDescriptorId: null });
      continue;
    }
    if (item.status === 'done' && item.content_hash === hash) continue;

    await store.updateEnrolmentItem(ctx.db, item.id, { status: 'pending', content_hash: hash, updated_at: ctx.now() });
    pending.push({ id: item.id, name, label, previousDescriptorId: item.descriptor_id });
  }

  await store.insertEnrolmentItems(ctx.db, inserts);
  return pending.sort((a, b) => compareNames(a.name, b.name));
}

/** Order by UTF-16 code units, the order `Array.prototype.sort` gives strings. */
function compareNames(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

async function enrolItem(ctx: AppContext, schoolId: string, folder: string, item: PendingItem): Promise<{ status: 'done' | 'failed'; reason?: string }> {
  const number = item.name.slice(0, item.name.length - extname(item.name).length);
  try {
    const person = await findPersonByNumber(ctx, schoolId, number);
    if (!person) {
      throw new AppError('NOT_FOUND', { what: '学号、工号或身份证号对应的人员', value: fileLabel(number) });
    }
    await checkEnrolable(ctx, schoolId, person.id);
    const face = await extractOrThrow(ctx, readFileSync(join(folder, item.name)));
    rejectMasked(face);

    const save = { schoolId, personId: person.id, descriptor: face.descriptor, score: face.score, source: 'batch' as const, replacesDescriptorId: item.previousDescriptorId };
    await saveDescriptor(ctx, save, async (trx, descriptorId) => {
      await store.updateEnrolmentItem(trx, item.id, { status: 'done', person_id: person.id, descriptor_id: descriptorId, reason_code: null, reason: null, updated_at: ctx.now() });
    });
    return { status: 'done' };
  } catch (error) {
    if (!isAppError(error)) throw error;
    const reasonCode = error.code === 'FACE_REJECTED' ? String((error.details as { reason?: string } | undefined)?.reason ?? error.code) : error.code;
    await store.updateEnrolmentItem(ctx.db, item.id, { status: 'failed', reason_code: reasonCode, reason: error.userMessage, updated_at: ctx.now() });
    ctx.log.info({ schoolId, itemId: item.id, reasonCode }, 'face folder item failed');
    return { status: 'failed', reason: error.userMessage };
  }
}

/** Return the file name for reports and progress, with any ID number in it masked. */
export function fileLabel(name: string): string {
  return name.replace(/\d{17}[\dXx]/g, (idNumber) => maskIdNumber(idNumber));
}
