import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, demoDataDir, loadConfig, type Config } from './config.js';
import pino from 'pino';
import { openRuntime, type Runtime } from './runtime.js';
import { createLogger } from './shared/logger.js';
import { AppError } from './shared/errors.js';
import { CliError, UsageError, type CliArgs, type Command } from './cli/command.js';
import { commands } from './cli/commands.js';

/** Options that never take a value, so `--staff FILE` leaves FILE a positional. */
const BOOLEAN_FLAGS = new Set(['json', 'help', 'staff', 'messy', 'picture', 'password-stdin', 'create-classes']);

/** Split argv into options and positionals; a flag, or `--name` without a value, is true. */
export function parseArgs(argv: string[]): CliArgs {
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (inline !== undefined) {
        options[key] = inline;
      } else if (!BOOLEAN_FLAGS.has(key) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
        options[key] = argv[++i];
      } else {
        options[key] = true;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { options, positionals };
}

function findCommand(positionals: string[]): { command: Command; rest: string[] } | undefined {
  const sorted = [...commands].sort((a, b) => b.name.length - a.name.length);
  for (const command of sorted) {
    if (command.name.every((word, i) => positionals[i] === word)) {
      return { command, rest: positionals.slice(command.name.length) };
    }
  }
  return undefined;
}

function printHelp(): void {
  const lines = ['fangkong：智慧防控平台命令行', '', '命令：'];
  for (const command of commands) lines.push(`  ${command.usage.padEnd(58)} ${command.summary}`);
  lines.push('', '设置来自 FANGKONG_* 环境变量，详见 README.zh-CN.md。凡输出报告的命令都支持 --json，输出一个 JSON 对象。');
  process.stdout.write(lines.join('\n') + '\n');
}

/** Run one command; returns the process exit code. */
export async function runCli(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.positionals.length === 0 || args.options.help === true) {
    printHelp();
    if (args.positionals.length === 0) process.exitCode = args.options.help === true ? 0 : 2;
    return;
  }

  const found = findCommand(args.positionals);
  if (!found) {
    process.stderr.write(`未知命令“${args.positionals.join(' ')}”：运行 fangkong --help 查看全部命令\n`);
    process.exitCode = 2;
    return;
  }

  let runtime: Runtime | undefined;
  try {
    if (found.command.needsRuntime !== false) {
      // Logs go to stderr, so stdout carries only the command's output (one object with --json).
      const config = commandConfig();
      runtime = await openRuntime({ config, log: createLogger(config.logLevel, pino.destination(2)) });
    }
    const code = await found.command.run({ options: args.options, positionals: found.rest }, runtime);
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    process.exitCode = reportCliError(error, found.command);
  } finally {
    if (runtime) await runtime.close();
  }
}

/**
 * The configuration of a command. In demo mode (no bureau configured) with no
 * FANGKONG_DATA_DIR set, commands work on the demo server's SQLite data, as `npm start`
 * does, once that exists; they say so on stderr.
 */
function commandConfig(): Config {
  const config = loadConfig();
  const dataDir = demoDataDir(config);
  const usesDemoData = config.demo && process.env.FANGKONG_DATA_DIR === undefined && config.databaseUrl === '' && existsSync(join(dataDir, 'fangkong.db'));
  if (!usesDemoData) return config;
  process.stderr.write(`演示模式：使用演示数据目录 ${dataDir}（配置 FANGKONG_BUREAU_URL 后使用正式数据目录）\n`);
  return Object.freeze({ ...config, dataDir });
}

function reportCliError(error: unknown, command: Command): number {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n用法：fangkong ${command.usage}\n`);
    return 2;
  }
  if (error instanceof CliError) {
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  if (error instanceof AppError) {
    process.stderr.write(`${error.userMessage}\n`);
    return 1;
  }
  process.stderr.write(`命令执行失败：${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env.FANGKONG_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('设置 FANGKONG_DEBUG=1 可查看详细的错误堆栈。\n');
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runCli(process.argv.slice(2));
}
