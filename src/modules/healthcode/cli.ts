import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../context.js';
import { loadConfig } from '../../config.js';
import { findRunningDemoBureau, type DemoBureauMissing } from '../../demo/environment.js';
import { CliError, UsageError, optionalOption, printJson, requireOption, wantsJson, type CliArgs, type Command } from '../../cli/command.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import { SYNC_PRESETS } from '../people/school-settings.js';
import { startBureauSimulator } from '../../../tools/simulators/bureau.js';
import { colorName } from './notice-text.js';
import * as service from './service.js';

const STATUS_NAMES: Record<string, string> = { succeeded: '成功', partial: '部分失败', failed: '失败', interrupted: '中断', running: '进行中' };

function readNumber(args: CliArgs, name: string, fallback: number): number {
  const raw = optionalOption(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} “${raw}” 应为不小于 0 的数`);
  return value;
}

const DEMO_SERVER_HINT = '请先在另一个终端运行 npm start（或 npx fangkong serve）启动演示服务器，再执行本命令；也可以运行 npx fangkong demo morning 重放同步';

/** The Chinese reason and next step for each way the demo server's simulated bureau was not found. */
const DEMO_BUREAU_PROBLEMS: Record<DemoBureauMissing, string> = {
  no_file: `没有找到正在运行的演示服务器（未配置 FANGKONG_BUREAU_URL 时，同步使用演示服务器中的模拟大数据局）。${DEMO_SERVER_HINT}`,
  no_credentials: '演示服务器由旧版本启动，没有记录模拟大数据局的密钥。请重新启动演示服务器（npm start）后再执行本命令',
  not_running: `演示服务器中的模拟大数据局没有响应，演示服务器可能已停止。${DEMO_SERVER_HINT}`,
};

/**
 * Return the context `sync` queries the bureau with. With no bureau configured (demo mode)
 * that is the running demo server's simulated bureau, found through data/demo/simulators.json
 * and given the demo's request rate, as `serve` configures it. Throws a CliError in Chinese
 * when no demo server is running.
 */
async function syncContext(ctx: AppContext): Promise<AppContext> {
  if (ctx.config.bureau.url || !ctx.config.demo) return ctx;

  const lookup = await findRunningDemoBureau(loadConfig());
  if (!lookup.found) throw new CliError(`无法同步健康码：${DEMO_BUREAU_PROBLEMS[lookup.reason]}`);

  const { bureau } = lookup;
  const config = Object.freeze({ ...ctx.config, bureau: { ...ctx.config.bureau, url: bureau.url, appKey: bureau.appKey, appSecret: bureau.appSecret, requestsPerSecond: bureau.requestsPerSecond } });
  return { ...ctx, config };
}

/** `sync`, `codes`, `schedule` and `simulate bureau`. */
export const healthcodeCommands: Command[] = [
  {
    name: ['sync'],
    usage: 'sync --school C [--json]',
    summary: '立即同步该校健康码；通知只写入待发队列',
    run: async (args, runtime) => {
      const school = await getSchoolByCodeOrThrow(runtime!.ctx, requireOption(args, 'school'));
      const ctx = await syncContext(runtime!.ctx);
      try {
        const result = await service.runSync(ctx, school.id, 'cli');
        if (wantsJson(args)) {
          printJson(result);
        } else {
          const { counts } = result;
          process.stdout.write(
            [
              `${school.name} 健康码同步${STATUS_NAMES[result.status]}（记录 ${result.runId}）`,
              `共 ${result.total} 人：绿码 ${counts.green}，黄码 ${counts.yellow}，红码 ${counts.red}，无记录 ${counts.unknown}，已过期 ${counts.stale}`,
              `变化 ${result.changes} 人，失败 ${result.failed} 人（${result.failedBatches}/${result.batches} 批）`,
              ...(result.error ? [`失败原因：${result.error}`] : []),
            ].join('\n') + '\n',
          );
        }
        return result.status === 'succeeded' ? 0 : 1;
      } finally {
        await service.closeBureauClient(ctx);
      }
    },
  },
  {
    name: ['codes'],
    usage: 'codes --school C [--json]',
    summary: '列出每人当前的健康码（身份证号脱敏）',
    run: async (args, runtime) => {
      const ctx = runtime!.ctx;
      const entries = await service.listSchoolCodes(ctx, requireOption(args, 'school'));
      if (wantsJson(args)) {
        printJson({ items: entries });
        return;
      }
      const lines = ['班级\t姓名\t身份证号\t健康码\t状态\t更新时间'];
      for (const e of entries) {
        // A code the bureau never returned is 未同步, neither a colour nor expired.
        const fetchedAt = e.fetchedAt;
        const color = fetchedAt === null ? '未同步' : colorName(e.color);
        let state = '-';
        if (fetchedAt !== null) state = e.isStale ? '已过期' : '有效';
        const fetched = fetchedAt === null ? '从未' : formatLocalDateTime(fetchedAt);
        lines.push([e.className ?? (e.kind === 'staff' ? '教职工' : '-'), e.name, e.idNumberMasked ?? '-', color, state, fetched].join('\t'));
      }
      process.stdout.write(lines.join('\n') + '\n');
    },
  },
  {
    name: ['schedule'],
    usage: 'schedule --school C (--preset P | --cron "M H D M W[;...]") [--json]',
    summary: `设置学校的全量同步时间（预设：${Object.keys(SYNC_PRESETS).join('、')}；北京时间）`,
    run: async (args, runtime) => {
      const preset = optionalOption(args, 'preset');
      const cron = optionalOption(args, 'cron');
      if ((preset === undefined) === (cron === undefined)) throw new UsageError('请在 --preset 和 --cron 中二选一');
      const crons = cron?.split(';').map((c) => c.trim()).filter(Boolean);
      const schedule = await service.setSyncSchedule(runtime!.ctx, requireOption(args, 'school'), { preset, crons });
      if (wantsJson(args)) {
        printJson(schedule);
        return;
      }
      const next = schedule.nextRuns.slice(0, 3).map(formatLocalDateTime).join('、');
      process.stdout.write(`已设置同步时间：${schedule.crons.join('；')}${schedule.preset ? `（方案 ${schedule.preset}）` : ''}\n接下来：${next}\n`);
    },
  },
  {
    name: ['simulate', 'bureau'],
    usage: 'simulate bureau [--port N] [--app-key K] [--app-secret S] [--latency MS] [--rps N] [--error-rate R] [--json]',
    summary: '在 127.0.0.1 上运行大数据局健康码接口模拟器，按 Ctrl-C 停止',
    needsRuntime: false,
    run: async (args) => {
      const simulator = await startBureauSimulator({
        port: readNumber(args, 'port', 0),
        host: '127.0.0.1',
        appKey: optionalOption(args, 'app-key') ?? 'fangkong-sim',
        appSecret: optionalOption(args, 'app-secret') ?? randomBytes(16).toString('hex'),
        latencyMs: readNumber(args, 'latency', 0),
        requestsPerSecond: readNumber(args, 'rps', 0),
        faults: { errorRate: readNumber(args, 'error-rate', 0) },
      });
      if (wantsJson(args)) {
        printJson({ url: simulator.url, appKey: simulator.appKey, appSecret: simulator.appSecret });
      } else {
        process.stdout.write(
          [
            `健康码接口模拟器已启动：${simulator.url}`,
            `FANGKONG_BUREAU_URL=${simulator.url}`,
            `FANGKONG_BUREAU_APP_KEY=${simulator.appKey}`,
            `FANGKONG_BUREAU_APP_SECRET=${simulator.appSecret}`,
            `统计：GET ${simulator.url}/_sim/stats；设置颜色：POST ${simulator.url}/_sim/codes {"idNumber","color"}`,
            '按 Ctrl-C 停止',
          ].join('\n') + '\n',
        );
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await simulator.close();
    },
  },
];
