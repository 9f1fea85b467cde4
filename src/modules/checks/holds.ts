import { ENTRY_HOLD_PROVIDERS, type EntryHoldProvider } from '../gate/holds.js';
import { findOpenFollowUpForGate } from './store.js';

/** The gate's reason code and lane prompt for a pupil who owes a return-to-school certificate. */
export const CERTIFICATE_HOLD = {
  reason: 'return_certificate_missing',
  prompt: '因病缺勤未销假，请到校医处登记复课证明',
} as const;

/**
 * Keep a pupil out at the gate while their illness-absence follow-up is open, that is
 * until the school doctor records the return-to-school certificate. Staff are not
 * followed up, so they cost no query. One lookup on a unique index otherwise. `day` is
 * the event's school day, so events from before the absence began pass this check.
 */
export const certificateHold: EntryHoldProvider = async (ctx, person, day) => {
  if (person.kind !== 'student') return null;
  const open = await findOpenFollowUpForGate(ctx.db, person.id);
  // An event of a day before the absence began (a terminal replaying old events) is not held.
  return open && open.absence_began_on <= day ? { ...CERTIFICATE_HOLD } : null;
};

// Registered once when the checks module loads; the gate cannot import this module.
if (!ENTRY_HOLD_PROVIDERS.includes(certificateHold)) ENTRY_HOLD_PROVIDERS.push(certificateHold);
