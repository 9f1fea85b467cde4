import type { AppContext } from '../../context.js';
import { identifyDescriptor, identifyImage } from '../face/service.js';
import type { ResolvedIdentity } from './service.js';

/** A face matched against the school's gallery, in the gate's terms. */
export interface FaceIdentity {
  identity: ResolvedIdentity;
  distance: number | null;
  margin: number | null;
}

type FaceResult = Awaited<ReturnType<typeof identifyDescriptor>>;

function toFaceIdentity(result: FaceResult): FaceIdentity {
  const face = { distance: result.distance ?? null, margin: result.margin ?? null };
  if (result.decision === 'match' && result.personId) return { identity: { status: 'identified', personId: result.personId }, ...face };
  if (result.decision === 'ambiguous') return { identity: { status: 'ambiguous', personId: result.personId }, ...face };
  return { identity: { status: 'unknown' }, ...face };
}

/** Match a descriptor in the school's gallery; a weak or close match is ambiguous. */
export async function identifyFaceDescriptor(ctx: AppContext, schoolId: string, descriptor: Float32Array): Promise<FaceIdentity> {
  return toFaceIdentity(await identifyDescriptor(ctx, schoolId, descriptor));
}

/** Detect the face in a JPEG and match it in the school's gallery. */
export async function identifyFaceImage(ctx: AppContext, schoolId: string, image: Buffer): Promise<FaceIdentity> {
  return toFaceIdentity(await identifyImage(ctx, schoolId, image));
}
