import type { AppContext } from '../../context.js';
import { getBureauClient } from '../healthcode/service.js';
import type { VisitorCode } from './visitor-rules.js';

/**
 * A visitor's health code, asked from the health-code bureau at the gate through the
 * client that sync uses (one per process, so visitors share the bureau's rate limit).
 * Visitors are not synced ahead like pupils, so the answer is fetched live, and the guard
 * waits at most the venue check-in deadline (FANGKONG_VENUE_BUREAU_DEADLINE_MS). A
 * timeout, an error or a missing bureau is 'unknown', never green. Never throws.
 */
export async function lookupVisitorCode(ctx: AppContext, idNumber: string): Promise<VisitorCode> {
  if (!ctx.config.bureau.url) return { color: 'unknown', source: 'unavailable' };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<VisitorCode>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ color: 'unknown', source: 'unavailable' });
    }, ctx.config.venues.bureauDeadlineMs);
  });

  const query = (async (): Promise<VisitorCode> => {
    try {
      const outcome = await getBureauClient(ctx).queryBatch([idNumber], controller.signal);
      if (!outcome.ok) {
        ctx.log.warn({ kind: outcome.kind, attempts: outcome.attempts }, 'visitor code lookup failed; the code counts as unknown');
        return { color: 'unknown', source: 'unavailable' };
      }
      const found = outcome.results.find((code) => code.idNumber === idNumber);
      if (found) return { color: found.color, source: 'bureau' };
      return { color: 'unknown', source: 'not_found' };
    } catch (error) {
      ctx.log.error({ err: error }, 'visitor code lookup threw; the code counts as unknown');
      return { color: 'unknown', source: 'unavailable' };
    }
  })();

  try {
    return await Promise.race([query, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
