/**
 * What started a health-code sync run (the `trigger` of GET /api/schools/:code/sync-runs),
 * as the console labels it. The server's list is SYNC_TRIGGERS in
 * src/modules/healthcode/sync.ts; a test checks that every one has a label here.
 */
export const SYNC_TRIGGER_LABELS: Record<string, string> = {
  schedule: '定时',
  poll: '轮询',
  'catch-up': '补同步',
  manual: '手动',
  cli: '命令行',
  demo: '演示',
  resume: '续跑',
};
