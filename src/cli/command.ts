import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Runtime } from '../runtime.js';

/** Parsed command-line options: `--name value` pairs, flags as true, and positionals. */
export interface CliArgs {
  options: Record<string, string | boolean>;
  positionals: string[];
}

export interface Command {
  /** Words that select the command, for example ['school', 'add']. */
  name: string[];
  usage: string;
  /** One line for `--help`, in Chinese like everything a user sees. */
  summary: string;
  /** False for commands that must not open the database (simulators). */
  needsRuntime?: boolean;
  /**
   * For a command without a runtime that logs: the data directory whose `logs/` folder
   * receives its log file. Without it such a command gets a silent logger (the
   * simulators, and `serve`, which logs on stdout itself).
   */
  logDataDir?: (config: Readonly<Config>) => string;
  /** `log` writes to the command-line log file (see cli-log.ts), as the runtime's logger does. */
  run(args: CliArgs, runtime: Runtime | undefined, log: Logger): Promise<number | void>;
}

export class UsageError extends Error {}

export function requireOption(args: CliArgs, name: string): string {
  const value = args.options[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`缺少 --${name}`);
  return value;
}

export function optionalOption(args: CliArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' ? value : undefined;
}

export function wantsJson(args: CliArgs): boolean {
  return args.options.json === true;
}

/** Print one JSON object on stdout, the contract of every `--json` command. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** A failure whose message is complete for the user: printed alone, exit code 1. */
export class CliError extends Error {}
