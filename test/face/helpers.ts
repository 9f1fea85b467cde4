import type { AppContext } from '../../src/context.js';
import { buildStudent } from '../helpers/factories.js';

/**
 * Build a pupil, retrying when the factory's random ID number repeats one already in the
 * school: its sequence part has only 1,000 values, so with several pupils a clash happens
 * in about one run of a hundred and the unique index rejects the insert.
 */
export async function buildPupil(ctx: AppContext, schoolId: string): ReturnType<typeof buildStudent> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await buildStudent(ctx, schoolId);
    } catch (error) {
      if (attempt >= 5 || !/unique|duplicate/i.test(String(error))) throw error;
    }
  }
}
