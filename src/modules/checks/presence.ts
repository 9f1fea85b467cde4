import { PRESENCE_PROVIDERS, type PresenceProvider } from '../gate/presence.js';
import { listChecks } from './store.js';

/** Pupils a class check of the day marked present (either session), with the time the check was saved. */
export const checkedPresent: PresenceProvider = async (ctx, schoolId, day) => {
  const present = new Map<string, number>();
  for (const check of await listChecks(ctx.db, { schoolId, day })) {
    if (check.status !== 'present') continue;
    const earlier = present.get(check.person_id);
    if (earlier === undefined || check.updated_at < earlier) present.set(check.person_id, check.updated_at);
  }
  return present;
};

// Registered once when the checks module loads; the gate cannot import this module.
if (!PRESENCE_PROVIDERS.includes(checkedPresent)) PRESENCE_PROVIDERS.push(checkedPresent);
