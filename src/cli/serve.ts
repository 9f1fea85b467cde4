import { buildApp } from '../app.js';
import type { Runtime } from '../runtime.js';
import { startWorkers } from '../workers.js';

/**
 * Serve the API and start the background workers until SIGINT or SIGTERM.
 * `onListening` runs after the port is open (the demo prints where to look there).
 */
export async function serve(runtime: Runtime, onListening?: (url: string) => Promise<void> | void): Promise<void> {
  const { ctx } = runtime;
  const app = await buildApp(ctx);
  const url = await app.listen({ port: ctx.config.port, host: ctx.config.host });
  const stopWorkers = await startWorkers(ctx);
  ctx.log.info({ url, database: ctx.dialect, demo: ctx.config.demo }, 'server listening');
  if (onListening) await onListening(url);

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      ctx.log.info({ signal }, 'server stopping');
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });

  await stopWorkers();
  await app.close();
  await runtime.close();
  ctx.log.info('server stopped');
}
