import type { AppContext } from '../../context.js';
import { minuteOfDay, parseClock, schoolDay, weekday } from '../../shared/time.js';
import { readGateSettings } from '../gate/gate-settings.js';
import { listSchools } from '../people/service.js';
import type { Worker } from '../../workers.js';
import { readSchoolReportSettings } from './report-settings.js';
import { buildScheduledReport } from './service.js';

/** The build check runs every minute. */
const TICK_MS = 60_000;

/**
 * Build today's draft of every school whose set time (default 16:30) has passed, on its
 * school days, unless the school already has a report of today. Safe in several
 * processes: a second build of the same draft rebuilds it, and the notice carries a
 * deterministic key. Returns the number of reports built.
 */
export async function buildDueReports(ctx: AppContext): Promise<number> {
  const now = ctx.now();
  const day = schoolDay(now);
  let built = 0;
  for (const school of await listSchools(ctx)) {
    const { buildAt } = readSchoolReportSettings(school.settings);
    if (!readGateSettings(school.settings).schoolWeekdays.includes(weekday(now))) continue;
    if (minuteOfDay(now) < parseClock(buildAt)!) continue;
    try {
      if (await buildScheduledReport(ctx, school, day)) built += 1;
    } catch (error) {
      ctx.log.error({ err: error, schoolId: school.id, day }, 'scheduled daily report failed');
    }
  }
  return built;
}

/** The reports module's background work in `serve`: the daily build at each school's set time. */
export const reportWorker: Worker = {
  name: 'reports',
  start(ctx: AppContext) {
    let running: Promise<void> | undefined;
    const timer = setInterval(() => {
      if (running) return;
      running = buildDueReports(ctx)
        .then(() => undefined)
        .catch((error: unknown) => ctx.log.error({ err: error }, 'daily report worker tick failed'))
        .finally(() => (running = undefined));
    }, TICK_MS);
    return async () => {
      clearInterval(timer);
      await running;
    };
  },
};
