import type { AppContext } from '../context.js';
import { UNKNOWN_REASON_UNAUTHORIZED } from '../modules/healthcode/code-change.js';
import type { BureauSimulator } from '../../tools/simulators/bureau.js';

/**
 * Set in the simulated bureau the codes that the school's data last fetched, for every
 * ID number that still has the simulator's default code. Returns how many codes it set.
 *
 * The simulator keeps its codes in memory only. A new one (after a server restart, or
 * the one `demo morning` starts in its own process) returns every pupil that an earlier
 * replay turned yellow or red as green since the simulator started. The replay's sync
 * backdated to 21:00 would then record those pupils as changes, with a bureau time from
 * after 21:00, in the 21:00 notices. Codes set in the simulator are kept, because they
 * are as new as the stored ones or newer.
 */
export async function restoreBureauCodes(ctx: AppContext, schoolId: string, bureau: BureauSimulator): Promise<number> {
  const rows = await ctx.db
    .selectFrom('health_codes')
    .innerJoin('persons', 'persons.id', 'health_codes.person_id')
    .select(['persons.id_number_enc', 'health_codes.color', 'health_codes.bureau_updated_at', 'health_codes.fetched_at', 'health_codes.reason'])
    .where('health_codes.school_id', '=', schoolId)
    .where('health_codes.fetched_at', 'is not', null)
    .where('persons.id_number_enc', 'is not', null)
    .execute();

  let restored = 0;
  for (const row of rows) {
    const idNumber = ctx.cipher.decrypt(row.id_number_enc!);
    if (!bureau.hasDefaultCode(idNumber)) continue;

    if (row.color === 'unknown') {
      bureau.setUnknown([idNumber], row.reason === UNKNOWN_REASON_UNAUTHORIZED ? 'unauthorized' : 'not_found');
    } else {
      bureau.setCode(idNumber, row.color, { reason: row.reason ?? undefined, at: row.bureau_updated_at ?? row.fetched_at! });
    }
    restored += 1;
  }
  if (restored > 0) ctx.log.info({ schoolId, restored }, 'demo bureau simulator given the stored health codes');
  return restored;
}
