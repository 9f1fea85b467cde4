import type { AppContext } from '../../context.js';
import { minuteOfDay, parseClock, schoolDay } from '../../shared/time.js';
import { describeSchoolsOnDays } from '../calendar/service.js';
import { listSchools } from '../people/service.js';
import type { Worker } from '../../workers.js';
import { readSchoolReportSettings } from './report-settings.js';
import { buildScheduledReport } from './service.js';

/** The build check runs every minute. */
const TICK_MS = 60_000;

/**
 * Build today's draft of every school whose set time (default 16:30) has passed, on its
 * school days in the school calendar, unless the school already has a report of today.
 * Safe in several processes: a second build of the same draft rebuilds it, and the
 * notice carries a deterministic key. Returns the number of reports built.
 */
export async function buildDueReports(ctx: AppContext): Promise<number> {
  const now = ctx.now();
  const day = schoolDay(now);
  let built = 0;
  const due = (await listSchools(ctx)).filter((school) => minuteOfDay(now) >= parseClock(readSchoolReportSettings(school.settings).buildAt)!);
  const calendars = await describeSchoolsOnDays(ctx, due, day, day);
  for (const school of due) {
    // No report is expected on a day without school.
    if (!calendars.get(school.id)?.[0]?.isSchoolDay) continue;
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
