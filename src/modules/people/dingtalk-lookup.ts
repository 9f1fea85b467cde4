import type { AppContext } from '../../context.js';
import { isDingTalkConfigured } from '../../config.js';
import { createDingTalkClient } from '../notify/dingtalk-client.js';
import type { DingTalkLookup } from './roster-service.js';

/**
 * Create the DingTalk user-by-mobile lookup for roster imports. Returns undefined when
 * DingTalk is not configured, and the import then skips lookups and reports `dingtalk: null`.
 */
export function createDingTalkLookup(ctx: AppContext): DingTalkLookup | undefined {
  if (!isDingTalkConfigured(ctx.config)) return undefined;
  const client = createDingTalkClient(ctx.config.dingtalk, ctx.log, { timeoutMs: ctx.config.bureau.timeoutMs, now: ctx.now });
  return (mobile) => client.getUserIdByMobile(mobile);
}
