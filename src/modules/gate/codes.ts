import type { AppContext } from '../../context.js';
import type { CodeColor } from '../../db/schema.js';
import { getCurrentCode } from '../healthcode/service.js';

/** A person's current health code as the entry policy needs it. */
export interface GateCode {
  color: CodeColor;
  isStale: boolean;
}

/**
 * Read a person's current code, stale after `staleAfterMinutes` (the school's setting); a
 * person never synced reads as unknown and stale.
 */
export async function currentCodeOf(ctx: AppContext, personId: string, staleAfterMinutes: number): Promise<GateCode> {
  const code = await getCurrentCode(ctx, personId, staleAfterMinutes);
  return { color: code.color, isStale: code.isStale };
}
