import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { seedDemoVenues } from '../demo/venues.js';
import { buildApp, type RouteModule } from '../app.js';
import { CliError } from './command.js';
import { loadConfig } from '../config.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { startWorkers } from '../workers.js';
import { seedDemo } from '../demo/seed.js';
import { ensureDemoGate } from '../demo/gate.js';
import { DEMO_PASSWORD, seedDemoAccounts } from '../demo/accounts.js';
import { startDemoEnvironment, type DemoEnvironment } from '../demo/environment.js';
import { demoRoutes } from '../demo/routes.js';
import { seedDemoVisitors } from '../demo/visitors.js';
import { seedDemoCalendar } from '../demo/calendar.js';
import { seedDemoChecks } from '../demo/checks.js';
import { seedDemoReports } from '../demo/reports.js';
import { startDemoLaneTerminals } from '../demo/lane-terminals.js';
import { formatDemoGateLine, summarizeDemoGate } from '../demo/gate-summary.js';
import { createLogger } from '../shared/logger.js';

export interface ServeOptions {
  /** In demo mode, write the JSON log to stdout as outside demo mode, not to the log file. */
  verbose?: boolean;
}

/** Return the file the demo server writes its JSON log to unless started with --verbose. */
export function demoServerLogFile(dataDir: string): string {
  return join(dataDir, 'logs', 'server.log');
}

/**
 * Open the demo server's logger: every line to `file`, and warnings and errors also to stderr,
 * so the terminal keeps the banner readable and still shows what goes wrong.
 * NOTE: the file is appended to and never rotated, which suits a demo and not a production server.
 */
function openDemoServerLog(file: string, level: string): Logger {
  mkdirSync(join(file, '..'), { recursive: true });
  const streams = pino.multistream([
    { level: level as pino.Level, stream: pino.destination({ dest: file, append: true, sync: true }) },
    { level: 'warn', stream: process.stderr },
  ]);
  return createLogger(level, streams, { isoTime: true });
}

/**
 * Serve the API and start the background workers until SIGINT or SIGTERM. In demo mode
 * (no bureau configured) start the simulators first, use data/demo and seed it, and keep
 * the JSON log off stdout (see openDemoServerLog) unless `verbose`, so the banner printed
 * once the server listens is the last thing on the terminal. Outside demo mode the JSON
 * log goes to stdout for log collectors.
 */
export async function serveCommand(options: ServeOptions = {}): Promise<void> {
  const base = loadConfig();
  let demo: DemoEnvironment | undefined;
  let runtime: Runtime;
  // The demo's banner, given the number of lanes with a simulated terminal once they have started.
  let banner = (_simulatedLanes: number) => '';

  if (base.demo) {
    demo = await startDemoEnvironment(base);
    const logFile = options.verbose || base.logLevel === 'silent' ? undefined : demoServerLogFile(demo.config.dataDir);
    runtime = await openRuntime({ config: demo.config, log: logFile ? openDemoServerLog(logFile, base.logLevel) : undefined });
    // Seeding a new demo folder takes a while, and with the log in a file the terminal would stay blank.
    if (logFile) process.stdout.write('演示模式：正在准备演示数据，首次启动需要一些时间……\n');
    const seeded = await seedDemo(runtime.ctx);
    const accounts = await seedDemoAccounts(runtime.ctx);
    const devices = await ensureDemoGate(runtime.ctx);
    const madeSchoolDay = await seedDemoCalendar(runtime.ctx);
    await seedDemoVisitors(runtime.ctx);
    await seedDemoChecks(runtime.ctx);
    await seedDemoReports(runtime.ctx);
    await seedDemoVenues(runtime.ctx);
    const gate = await summarizeDemoGate(runtime.ctx, devices);
    const dataDir = demo.config.dataDir;
    const { bureau, dingtalk } = demo;
    banner = (simulatedLanes) =>
      [
        '演示模式：未配置大数据局接口（FANGKONG_BUREAU_URL），使用模拟器和演示数据。',
        `  数据目录：${dataDir}`,
        `  演示学校：示范区实验小学（代码 demo-primary），学生 ${seeded.pupils} 名，教职工 ${seeded.staff} 名${seeded.created ? '（本次新建）' : ''}`,
        `  模拟大数据局：${bureau.url}（统计：${bureau.url}/_sim/stats）`,
        `  模拟钉钉：${dingtalk.url}（收到的工作通知：${dingtalk.url}/_sim/messages）`,
        formatDemoGateLine(gate, simulatedLanes),
        ...(madeSchoolDay ? ['  今天本不是上学日，演示学校的校历已把今天设为上学日（设置 › 校历）'] : []),
        `  演示账号（密码均为 ${DEMO_PASSWORD}）：`,
        ...accounts.map((a) => `    ${a.username.padEnd(10)} ${a.label}`),
        ...(logFile ? [`  服务日志（JSON）：${logFile}；警告和错误同时显示在终端，加 --verbose 可在终端显示全部日志`] : []),
        '',
      ].join('\n');
  } else {
    runtime = await openRuntime({ config: base });
  }

  const extra: RouteModule[] = demo ? [demoRoutes(demo)] : [];
  try {
    await serve(runtime, extra, async (url) => {
      demo?.recordServerUrl(url);
      // The seeded lanes heartbeat like real ones, so a lane last heard on a replayed morning is not reported offline.
      const laneTerminals = demo ? await startDemoLaneTerminals(runtime.ctx, url) : undefined;
      process.stdout.write(banner(laneTerminals?.lanes ?? 0));
      process.stdout.write(`智慧防控平台已启动：${url}\n  健康检查：${url}/api/health\n  API 文档：${url}/api/openapi.json\n`);
      if (demo) process.stdout.write('  重放学校早晨：npx fangkong demo morning\n');
      return laneTerminals?.stop;
    });
  } catch (error) {
    await runtime.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`端口 ${runtime.ctx.config.port}（${runtime.ctx.config.host}）已被占用：请停止占用该端口的程序，或把 FANGKONG_PORT 设为其他端口`);
    }
    throw error;
  } finally {
    await demo?.close();
  }
}

/** Work started once the server listens; the function it may return runs first on shutdown. */
export type OnListening = (url: string) => Promise<(() => Promise<void>) | void> | (() => Promise<void>) | void;

/**
 * Serve until a signal arrives. `onListening` runs after the port is open, and the stop
 * function it returns runs before the workers and the server stop.
 */
export async function serve(runtime: Runtime, extraModules: RouteModule[] = [], onListening?: OnListening): Promise<void> {
  const { ctx } = runtime;
  const app = await buildApp(ctx, extraModules);
  const url = await app.listen({ port: ctx.config.port, host: ctx.config.host });
  const stopWorkers = await startWorkers(ctx);
  ctx.log.info({ url, database: ctx.dialect, demo: ctx.config.demo }, 'server listening');
  const stopOnListening = onListening ? await onListening(url) : undefined;

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      ctx.log.info({ signal }, 'server stopping');
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });

  if (stopOnListening) await stopOnListening();
  await stopWorkers();
  await app.close();
  await runtime.close();
  ctx.log.info('server stopped');
}
