/**
 * Console labels of the `trigger` of a health-code sync run (GET /api/schools/:code/sync-runs).
 * The server's list is SYNC_TRIGGERS in src/modules/healthcode/sync.ts, and a test checks
 * that each one has a label here.
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
