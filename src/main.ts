import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, demoDataDir, loadConfig, type Config } from './config.js';
import pino from 'pino';
import { openRuntime, type Runtime } from './runtime.js';
import { AppError } from './shared/errors.js';
import { CliError, UsageError, type CliArgs, type Command } from './cli/command.js';
import { commands } from './cli/commands.js';
import { openCliLog, type CliLog } from './cli/cli-log.js';
import { ignoreClosedOutput } from './cli/closed-output.js';
import { formatLogSummary } from './cli/log-summary.js';
import { describeUnknownSchool } from './cli/school-hint.js';

/** Options that never take a value, so `--staff FILE` leaves FILE a positional. */
const BOOLEAN_FLAGS = new Set(['json', 'help', 'verbose', 'staff', 'messy', 'picture', 'password-stdin', 'create-classes', 'create-class']);

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
  lines.push(
    '',
    '设置来自 FANGKONG_* 环境变量，详见 README.zh-CN.md。凡输出报告的命令都支持 --json，输出一个 JSON 对象。',
    '',
    '日志：命令的运行日志（JSON 行，时间为 UTC）写入数据目录下的 logs/cli-YYYY-MM-DD.log（按北京时间每天一个文件），',
    '终端只显示命令结果；运行中有警告或错误时，结束时用中文列出条数和日志文件位置。',
    '  --verbose                同时把 JSON 日志输出到标准错误（供开发人员排查）',
    '  FANGKONG_LOG_LEVEL       日志级别（默认 info；silent 不写日志）',
    '  FANGKONG_CLI_LOG_RETENTION_DAYS',
    '                           命令行日志保留天数 N（默认 30，0 表示全部保留）：保留今天及之前 N 天的 cli-YYYY-MM-DD.log，',
    '                           更早的在每次运行命令时删除（按文件名中的日期）；logs 目录中的其他文件不会被删除',
    'serve 的日志输出到标准输出；演示模式下写入演示数据目录的 logs/server.log（警告和错误同时输出到标准错误），加 --verbose 则输出到标准输出。',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

/** Run one command; returns the process exit code. */
export async function runCli(argv: string[]): Promise<void> {
  ignoreClosedOutput();
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

  const commandName = found.command.name.join(' ');
  const started = Date.now();
  let runtime: Runtime | undefined;
  let cliLog: CliLog | undefined;
  try {
    // Logs go to the command-line log file (and stderr with --verbose), so the terminal
    // shows only the command's Chinese output and stdout only its result.
    const config = found.command.needsRuntime !== false ? commandConfig() : undefined;
    cliLog = openCommandLog(found.command, config, args.options.verbose === true);
    const log = cliLog?.log ?? SILENT_LOG;
    log.info({ command: commandName, options: Object.keys(args.options) }, 'command started');
    if (config) runtime = await openRuntime({ config, log });
    const code = await found.command.run({ options: args.options, positionals: found.rest }, runtime, log);
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    logCommandError(cliLog, commandName, error);
    const schoolHint = runtime ? await describeUnknownSchoolOf(runtime, error, cliLog) : undefined;
    if (schoolHint) {
      process.stderr.write(`${schoolHint}\n`);
      process.exitCode = 1;
    } else {
      process.exitCode = reportCliError(error, found.command, cliLog?.fileWritten() ? cliLog.file : undefined);
    }
  } finally {
    if (runtime) await runtime.close();
    if (cliLog) finishCommandLog(cliLog, commandName, started);
  }
}

const SILENT_LOG = pino({ level: 'silent' });

/**
 * The command line's message for a school code that matches no school, naming existing codes,
 * or undefined for any other error. A failed lookup of the codes falls back to the usual message.
 */
async function describeUnknownSchoolOf(runtime: Runtime, error: unknown, cliLog: CliLog | undefined): Promise<string | undefined> {
  if (!(error instanceof AppError) || error.code !== 'SCHOOL_NOT_FOUND') return undefined;
  try {
    return await describeUnknownSchool(runtime.ctx, String(error.params.code ?? ''));
  } catch (listError) {
    cliLog?.log.warn({ err: listError }, 'listing school codes for the not-found message failed');
    return undefined;
  }
}

/**
 * Open the log file of a command: under the data directory it works on, or the one its
 * `logDataDir` names. Undefined for commands that do not log (simulators, `serve`).
 */
function openCommandLog(command: Command, config: Readonly<Config> | undefined, verbose: boolean): CliLog | undefined {
  if (config) return openCliLog({ dataDir: config.dataDir, level: config.logLevel, verbose, retentionDays: config.cliLogRetentionDays });
  if (!command.logDataDir) return undefined;
  const base = loadConfig();
  return openCliLog({ dataDir: command.logDataDir(base), level: base.logLevel, verbose, retentionDays: base.cliLogRetentionDays });
}

/** Log a failed command: an expected failure (bad usage, a Chinese message for the user) at info, any other at error. */
function logCommandError(cliLog: CliLog | undefined, command: string, error: unknown): void {
  if (!cliLog) return;
  const expected = error instanceof UsageError || error instanceof CliError || error instanceof ConfigError || error instanceof AppError;
  if (expected) cliLog.log.info({ command, error: error instanceof AppError ? error.code : error.constructor.name }, 'command rejected');
  else cliLog.log.error({ command, err: error }, COMMAND_FAILED);
}

/** The log message of an unexpected command failure, which reportCliError already shows, so the summary leaves it out. */
const COMMAND_FAILED = 'command failed';

/** Log the end of the run, print the Chinese summary of its warnings and errors, and close the file. */
function finishCommandLog(cliLog: CliLog, command: string, started: number): void {
  cliLog.log.info({ command, exitCode: Number(process.exitCode ?? 0), durationMs: Date.now() - started }, 'command finished');
  const summary = formatLogSummary(cliLog.problems().filter((problem) => problem.message !== COMMAND_FAILED), cliLog.file);
  if (summary) process.stderr.write(summary);
  cliLog.close();
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

/** Print a failed command's Chinese message. `logFile` is where an unexpected error's stack was logged. */
function reportCliError(error: unknown, command: Command, logFile: string | undefined): number {
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
  else if (logFile) process.stderr.write(`错误详情（含堆栈）已写入日志文件 ${logFile}；设置 FANGKONG_DEBUG=1 可直接显示。\n`);
  else process.stderr.write('设置 FANGKONG_DEBUG=1 可查看详细的错误堆栈。\n');
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runCli(process.argv.slice(2));
}
