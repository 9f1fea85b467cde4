import type { AppContext } from '../../context.js';

/**
 * Another module's record that pupils were present on a school day without a gate pass,
 * such as a class check that marked them present. Returns person id → the first instant
 * (epoch ms) they were recorded present. The attendance view counts these pupils as
 * arrived, as the daily report does.
 */
export type PresenceProvider = (ctx: AppContext, schoolId: string, day: string) => Promise<Map<string, number>>;

/**
 * Presence providers the attendance view calls. Modules add theirs here, because the
 * gate module must not import the modules that build on it (the class checks do). After
 * storing a change, a module calls publishPresenceChange (live.ts), so that open consoles
 * refetch their arrival figures.
 */
export const PRESENCE_PROVIDERS: PresenceProvider[] = [];

/** Merge every provider's record of a school day, keeping each pupil's earliest instant. */
export async function collectPresence(ctx: AppContext, schoolId: string, day: string, providers = PRESENCE_PROVIDERS): Promise<Map<string, number>> {
  const present = new Map<string, number>();
  for (const provider of providers) {
    for (const [personId, at] of await provider(ctx, schoolId, day)) {
      const earlier = present.get(personId);
      if (earlier === undefined || at < earlier) present.set(personId, at);
    }
  }
  return present;
}
