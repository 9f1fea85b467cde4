import type { RouteModule } from '../app.js';
import type { DemoEnvironment } from './environment.js';
import { replayMorning } from './morning.js';

/** Routes that exist only while serving in demo mode. */
export function demoRoutes(demo: DemoEnvironment): RouteModule {
  return async (app, ctx) => {
    app.post('/demo/morning', { schema: { tags: ['demo'], summary: 'Replay a school morning on the demo school (demo mode only)' } }, async () => {
      return replayMorning(ctx, demo);
    });
  };
}
