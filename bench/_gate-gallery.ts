import type { AppContext } from '../src/context.js';
import { saveDescriptor } from '../src/modules/face/service.js';
import { newId } from '../src/shared/ids.js';

/**
 * Enrol synthetic descriptors through the face service, after recording each person's
 * face consent (the gallery holds consenting people only). One saveDescriptor call per
 * person, as a real enrolment does.
 */
export async function enrollSyntheticDescriptors(ctx: AppContext, schoolId: string, persons: Array<{ id: string; descriptor: number[] }>): Promise<void> {
  for (let i = 0; i < persons.length; i += 500) {
    const chunk = persons.slice(i, i + 500);
    await ctx.db
      .insertInto('consents')
      .values(chunk.map((p) => ({ id: newId(), person_id: p.id, purpose: 'face' as const, given_by: 'guardian' as const, guardian_id: null, given_at: ctx.now(), revoked_at: null, note: null })))
      .execute();
  }
  for (const person of persons) {
    await saveDescriptor(ctx, { schoolId, personId: person.id, descriptor: Float32Array.from(person.descriptor), score: 0.99, source: 'batch' });
  }
}
