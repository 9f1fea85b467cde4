import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from './config.js';
import { openRuntime, type Runtime } from './runtime.js';
import { AppError } from './shared/errors.js';
import { CliError, UsageError, type CliArgs, type Command } from './cli/command.js';
import { commands } from './cli/commands.js';

/** Split argv into options and positionals; `--flag` without a value is true. */
export function parseArgs(argv: string[]): CliArgs {
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (inline !== undefined) {
        options[key] = inline;
      } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
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
  const lines = ['fangkong: 智慧防控平台 command line', '', 'Commands:'];
  for (const command of commands) lines.push(`  ${command.usage.padEnd(58)} ${command.summary}`);
  lines.push('', 'Settings come from FANGKONG_* environment variables; see README.md.');
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
    process.stderr.write(`unknown command "${args.positionals.join(' ')}"; run \`fangkong --help\` for the list\n`);
    process.exitCode = 2;
    return;
  }

  let runtime: Runtime | undefined;
  try {
    if (found.command.needsRuntime !== false) runtime = await openRuntime({ config: loadConfig() });
    const code = await found.command.run({ options: args.options, positionals: found.rest }, runtime);
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    process.exitCode = reportCliError(error, found.command);
  } finally {
    if (runtime) await runtime.close();
  }
}

function reportCliError(error: unknown, command: Command): number {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\nusage: fangkong ${command.usage}\n`);
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
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runCli(process.argv.slice(2));
}
