import type { AppContext } from '../../context.js';
import type { EntryHold } from './entry-policy.js';
import type { GatePerson } from './store.js';

/**
 * Another module's reason to keep a person out at the gate, checked on every entry of an
 * identified person. Return null to let the other checks decide. Providers must be fast
 * (one indexed query at most): they run while the lane waits.
 */
export type EntryHoldProvider = (ctx: AppContext, person: GatePerson, day: string) => Promise<EntryHold | null>;

/**
 * Hold providers the gate calls, in order. Modules add theirs here. For example, the
 * illness-absence follow-up would add one that keeps out a pupil who still owes a
 * return-to-school certificate.
 */
export const ENTRY_HOLD_PROVIDERS: EntryHoldProvider[] = [];

/** Collect the holds on a person today from every registered provider. */
export async function collectHolds(ctx: AppContext, person: GatePerson, day: string, providers = ENTRY_HOLD_PROVIDERS): Promise<EntryHold[]> {
  const holds: EntryHold[] = [];
  for (const provider of providers) {
    const hold = await provider(ctx, person, day);
    if (hold) holds.push(hold);
  }
  return holds;
}
