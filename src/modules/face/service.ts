import type { Kysely } from 'kysely';
import type { AppContext } from '../../context.js';
import type { Database } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { findPerson, getSchoolByIdOrThrow, hasConsent, listConsentedPersonIdsOfSchool } from '../people/service.js';
import { decodeDescriptor, DescriptorError, encodeDescriptor, parseDescriptor } from './descriptor.js';
import { extractDescriptor, extractOptionsFromConfig, type FaceExtraction } from './extract.js';
import { readFaceSettings } from './face-settings.js';
import { decideMatch, FaceGallery, type MatchResult, type MatchThresholds } from './matcher.js';
import { FaceModelError } from './model.js';
import { FaceRejection, isFaceRejection, type FaceRejectionCode } from './rejection.js';
import * as store from './store.js';

/**
 * Face enrolment and identification. Descriptors are stored encrypted; each school's
 * gallery is decrypted once into memory and kept until its revision changes.
 */

/** Photos kept per person: a few angles help, more only slow the gallery down. */
export const MAX_DESCRIPTORS_PER_PERSON = 5;

export type EnrolmentSource = 'api' | 'cli' | 'batch';

export interface EnrolFaceInput {
  schoolId: string;
  personId: string;
  image: Buffer;
  source?: EnrolmentSource;
}

export interface EnrolFaceResult {
  descriptorId: string;
  personId: string;
  /** Detector confidence of the enrolled face. */
  score: number;
  /** Descriptors the person has now. */
  descriptorCount: number;
}

/** Result the gate acts on. `personId` is only set for 'match' and 'ambiguous'. */
export type IdentifyResult = MatchResult & {
  /** Set by identifyImage when the lower face looked covered; such a face is never a 'match'. */
  masked?: boolean;
  /** Set by identifyImage when the photo gave no usable face; the decision is then 'unknown'. */
  rejection?: { code: FaceRejectionCode; message: string };
};

/**
 * Enrol one photo of a person: requires the person's face consent, extracts the
 * descriptor, rejects masked faces and stores the descriptor encrypted. The photo itself
 * is not kept. Throws AppError: NOT_FOUND, FACE_CONSENT_REQUIRED, FACE_LIMIT_REACHED,
 * FACE_REJECTED (details.reason is the rejection code), FACE_MODEL_UNAVAILABLE.
 */
export async function enrollFace(ctx: AppContext, input: EnrolFaceInput): Promise<EnrolFaceResult> {
  const person = await checkEnrolable(ctx, input.schoolId, input.personId);
  const face = await extractOrThrow(ctx, input.image);
  rejectMasked(face);
  return saveDescriptor(ctx, { schoolId: input.schoolId, personId: person.id, descriptor: face.descriptor, score: face.score, source: input.source ?? 'api' });
}

/** Check the person belongs to the school, is active, has face consent and room for another photo. */
export async function checkEnrolable(ctx: AppContext, schoolId: string, personId: string): Promise<{ id: string; name: string }> {
  const person = await findPerson(ctx, personId);
  if (!person || person.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '人员', value: personId });
  if (person.active !== 1) throw new AppError('VALIDATION', { detail: `${person.name} 已停用，不能录入人脸` });
  if (!(await hasConsent(ctx, person.id, 'face'))) throw new AppError('FACE_CONSENT_REQUIRED', { name: person.name });

  const count = await store.countDescriptorsOfPerson(ctx.db, person.id);
  if (count >= MAX_DESCRIPTORS_PER_PERSON) {
    throw new AppError('FACE_LIMIT_REACHED', { name: person.name, count, limit: MAX_DESCRIPTORS_PER_PERSON });
  }
  return { id: person.id, name: person.name };
}

/** Extract the descriptor; rejections and model failures become AppErrors. */
export async function extractOrThrow(ctx: AppContext, image: Buffer): Promise<FaceExtraction> {
  try {
    return await extractDescriptor(image, extractOptionsFromConfig(ctx.config));
  } catch (error) {
    throw toAppError(ctx, error);
  }
}

/** Reject a masked face for enrolment, because its descriptor would not match the person unmasked. */
export function rejectMasked(face: FaceExtraction): void {
  if (face.masked) throw faceRejected(new FaceRejection('FACE_MASKED'));
}

/**
 * Store a descriptor and bump the school's gallery revision in one transaction; `beforeCommit`
 * runs inside it (batch enrolment marks its item done there). Updates this process's
 * cached gallery in place.
 */
export async function saveDescriptor(
  ctx: AppContext,
  input: {
    schoolId: string;
    personId: string;
    descriptor: Float32Array;
    score: number;
    source: EnrolmentSource;
    /** An earlier descriptor this one replaces, deleted in the same transaction. */
    replacesDescriptorId?: string | null;
  },
  beforeCommit?: (trx: Kysely<Database>, descriptorId: string) => Promise<void>,
): Promise<EnrolFaceResult> {
  const descriptorId = newId(ctx.now());
  const { revision, count } = await ctx.db.transaction().execute(async (trx) => {
    await store.insertDescriptor(trx, {
      id: descriptorId,
      school_id: input.schoolId,
      person_id: input.personId,
      descriptor_enc: ctx.cipher.encrypt(encodeDescriptor(input.descriptor)),
      source: input.source,
      created_at: ctx.now(),
    });
    if (input.replacesDescriptorId) await store.deleteDescriptor(trx, input.replacesDescriptorId);
    if (beforeCommit) await beforeCommit(trx, descriptorId);
    const revision = await store.bumpGalleryRevision(trx, input.schoolId, ctx.now());
    const count = await store.countDescriptorsOfPerson(trx, input.personId);
    return { revision, count };
  });

  updateCachedGallery(ctx, input.schoolId, revision, (gallery) => {
    if (input.replacesDescriptorId) gallery.removeKey(input.replacesDescriptorId);
    gallery.add(input.personId, input.descriptor, descriptorId);
  });
  ctx.log.info({ schoolId: input.schoolId, personId: input.personId, descriptorId, source: input.source, score: Number(input.score.toFixed(3)) }, 'face enrolled');
  return { descriptorId, personId: input.personId, score: input.score, descriptorCount: count };
}

/** Delete every descriptor of a person (the enrolment); returns how many were deleted. */
export async function deleteFaceEnrolment(ctx: AppContext, input: { schoolId: string; personId: string }): Promise<{ deleted: number }> {
  const person = await findPerson(ctx, input.personId);
  if (!person || person.school_id !== input.schoolId) throw new AppError('NOT_FOUND', { what: '人员', value: input.personId });

  const { deleted, revision } = await ctx.db.transaction().execute(async (trx) => {
    const deleted = await store.deleteDescriptorsOfPerson(trx, input.schoolId, input.personId);
    const revision = deleted > 0 ? await store.bumpGalleryRevision(trx, input.schoolId, ctx.now()) : undefined;
    return { deleted, revision };
  });

  if (revision !== undefined) updateCachedGallery(ctx, input.schoolId, revision, (gallery) => gallery.removePerson(input.personId));
  ctx.log.info({ schoolId: input.schoolId, personId: input.personId, deleted }, 'face enrolment deleted');
  return { deleted };
}

/**
 * Match a descriptor (from a kiosk, or from identifyImage) against the school's gallery.
 * Throws AppError INVALID_DESCRIPTOR when it is not 128 finite numbers in range.
 */
export async function identifyDescriptor(ctx: AppContext, schoolId: string, descriptor: number[] | Float32Array): Promise<IdentifyResult> {
  let query: Float32Array;
  try {
    query = parseDescriptor(descriptor);
  } catch (error) {
    if (error instanceof DescriptorError) throw new AppError('INVALID_DESCRIPTOR', { detail: error.userDetail });
    throw error;
  }
  const cached = await getGallery(ctx, schoolId);
  return decideMatch(cached.gallery.search(query), cached.thresholds);
}

/**
 * Extract the face of a photo and match it. A photo without one usable face gives
 * decision 'unknown' with the rejection; a masked face gives at most 'ambiguous'.
 * Throws AppError FACE_MODEL_UNAVAILABLE when the models cannot load.
 */
export async function identifyImage(ctx: AppContext, schoolId: string, image: Buffer): Promise<IdentifyResult> {
  let face: FaceExtraction;
  try {
    face = await extractDescriptor(image, extractOptionsFromConfig(ctx.config));
  } catch (error) {
    if (isFaceRejection(error)) return { decision: 'unknown', rejection: { code: error.code, message: error.userMessage } };
    throw toAppError(ctx, error);
  }

  const result: IdentifyResult = await identifyDescriptor(ctx, schoolId, face.descriptor);
  if (!face.masked) return result;
  return { ...result, decision: result.decision === 'match' ? 'ambiguous' : result.decision, masked: true };
}

/** Return the size and thresholds of the school's gallery as cached in this process. */
export async function describeGallery(ctx: AppContext, schoolId: string): Promise<{ persons: number; descriptors: number; revision: number; thresholds: MatchThresholds }> {
  const cached = await getGallery(ctx, schoolId);
  return { persons: cached.gallery.personCount, descriptors: cached.gallery.size, revision: cached.revision, thresholds: cached.thresholds };
}

interface CachedGallery {
  gallery: FaceGallery;
  revision: number;
  thresholds: MatchThresholds;
  thresholdsReadAt: number;
}

/** Caches by database, so several databases in one process (tests) never share a gallery. */
const caches = new WeakMap<Kysely<Database>, Map<string, Promise<CachedGallery>>>();

/** School settings (the thresholds) are read again after this many milliseconds. */
const THRESHOLDS_TTL_MS = 5000;

/**
 * Return the school's gallery: loaded from the database on first use, and reloaded when
 * the stored revision differs because another process enrolled or deleted. One
 * primary-key read per call keeps every process current without a message bus.
 */
async function getGallery(ctx: AppContext, schoolId: string): Promise<CachedGallery> {
  let schools = caches.get(ctx.db);
  if (!schools) {
    schools = new Map();
    caches.set(ctx.db, schools);
  }

  const pending = schools.get(schoolId);
  if (pending) {
    const cached = await pending.catch(() => undefined);
    if (cached && cached.revision === (await store.getGalleryRevision(ctx.db, schoolId))) {
      if (performance.now() - cached.thresholdsReadAt > THRESHOLDS_TTL_MS) {
        cached.thresholds = readFaceSettings((await getSchoolByIdOrThrow(ctx, schoolId)).settings);
        cached.thresholdsReadAt = performance.now();
      }
      return cached;
    }
    if (schools.get(schoolId) !== pending) return getGallery(ctx, schoolId);
  }

  const loading = loadGallery(ctx, schoolId);
  schools.set(schoolId, loading);
  loading.catch(() => {
    if (schools.get(schoolId) === loading) schools.delete(schoolId);
  });
  return loading;
}

/**
 * Load the school's descriptors of persons with an active face consent.
 * NOTE: revoking a consent does not change the gallery revision, so a process that already
 * holds the gallery keeps the person until the next enrolment change of the school; the
 * people module should call deleteFaceEnrolment when it records a face-consent revocation.
 */
async function loadGallery(ctx: AppContext, schoolId: string): Promise<CachedGallery> {
  const started = performance.now();
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const revision = await store.getGalleryRevision(ctx.db, schoolId);
  const rows = await store.listDescriptorsOfSchool(ctx.db, schoolId);
  const consented = new Set(await listConsentedPersonIdsOfSchool(ctx, schoolId, 'face'));

  const gallery = new FaceGallery({ initialCapacity: Math.max(256, rows.length) });
  let withoutConsent = 0;
  let unreadable = 0;
  for (const row of rows) {
    if (!consented.has(row.person_id)) {
      withoutConsent += 1;
      continue;
    }
    try {
      gallery.add(row.person_id, decodeDescriptor(ctx.cipher.decrypt(row.descriptor_enc)), row.id);
    } catch (error) {
      unreadable += 1;
      ctx.log.error({ schoolId, descriptorId: row.id, err: error }, 'face descriptor unreadable; left out of the gallery');
    }
  }

  ctx.log.info(
    { schoolId, revision, descriptors: gallery.size, persons: gallery.personCount, withoutConsent, unreadable, ms: Math.round(performance.now() - started) },
    'face gallery loaded',
  );
  return { gallery, revision, thresholds: readFaceSettings(school.settings), thresholdsReadAt: performance.now() };
}

/**
 * Apply a change made by this process to its cached gallery when the cache is exactly one
 * revision behind. Otherwise drop the cache, so the next search reloads it.
 */
function updateCachedGallery(ctx: AppContext, schoolId: string, revision: number, change: (gallery: FaceGallery) => void): void {
  const schools = caches.get(ctx.db);
  const pending = schools?.get(schoolId);
  if (!schools || !pending) return;

  const updated = pending.then((cached) => {
    if (cached.revision !== revision - 1) throw new Error(`gallery cache at revision ${cached.revision} cannot take revision ${revision}`);
    change(cached.gallery);
    cached.revision = revision;
    return cached;
  });
  schools.set(schoolId, updated);
  updated.catch(() => {
    if (schools.get(schoolId) === updated) schools.delete(schoolId);
  });
}

function faceRejected(rejection: FaceRejection): AppError {
  return new AppError('FACE_REJECTED', { detail: rejection.userMessage }, { reason: rejection.code });
}

function toAppError(ctx: AppContext, error: unknown): unknown {
  if (isFaceRejection(error)) return faceRejected(error);
  if (error instanceof FaceModelError) {
    ctx.log.error({ err: error }, 'face models unavailable');
    return new AppError('FACE_MODEL_UNAVAILABLE');
  }
  return error;
}
