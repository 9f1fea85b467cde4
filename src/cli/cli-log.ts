import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../shared/logger.js';
import { schoolDay } from '../shared/time.js';

/**
 * The log of one command-line run. Commands log JSON lines (the same redacted pino logger
 * as the server) into `<dataDir>/logs/cli-YYYY-MM-DD.log`, one file per Asia/Shanghai day,
 * so the terminal shows only the command's Chinese output. Warnings and errors are counted
 * by message for the summary printed when the command ends.
 */
export interface CliLog {
  log: Logger;
  /** Path of the log file, named by the day the command started. The file is created at the first line. */
  file: string;
  /** Warnings and errors logged so far, grouped by message. */
  problems(): CliLogProblem[];
  /** True once a line reached the file. */
  fileWritten(): boolean;
  close(): void;
}

export interface CliLogProblem {
  level: 'warn' | 'error';
  /** The log line's `msg`. */
  message: string;
  count: number;
}

/** pino's numeric levels. */
const WARN_LEVEL = 40;
const ERROR_LEVEL = 50;

/** Build the path of the command-line log file for the Asia/Shanghai day of `instantMs`. */
export function cliLogFile(dataDir: string, instantMs: number): string {
  return join(dataDir, 'logs', `cli-${schoolDay(instantMs)}.log`);
}

/**
 * Open the log of a command run. With `verbose`, every line is also written to stderr for
 * developers. `level` is a pino level, and 'silent' writes no file.
 */
export function openCliLog(options: { dataDir: string; level: string; verbose: boolean; now?: number }): CliLog {
  const file = cliLogFile(options.dataDir, options.now ?? Date.now());
  const destination = new CountingDestination(new LazyFile(file), options.verbose);
  return {
    log: createLogger(options.level, destination, { isoTime: true }),
    file,
    problems: () => destination.problems(),
    fileWritten: () => destination.fileWritten(),
    close: () => destination.close(),
  };
}

/**
 * An append-only file opened at the first write, so a run that logs nothing leaves no
 * file. When the file cannot be opened (a read-only data directory, say), the lines go to
 * stderr after one Chinese note, because losing them would hide the command's failures.
 */
class LazyFile {
  private fd: number | undefined;
  private failed = false;
  written = false;

  constructor(readonly path: string) {}

  write(line: string): void {
    if (this.fd === undefined && !this.failed) this.open();
    if (this.fd === undefined) {
      process.stderr.write(line);
      return;
    }
    writeSync(this.fd, line);
    this.written = true;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.path, 'a', 0o600);
    } catch (error) {
      this.failed = true;
      const reason = error instanceof Error ? error.message : String(error);
      process.stderr.write(`无法写入日志文件 ${this.path}（${reason}），日志改为输出到标准错误\n`);
    }
  }
}

/** The pino destination: writes each line to the file (and stderr when verbose) and counts warnings and errors. */
class CountingDestination {
  private readonly counts = new Map<string, CliLogProblem>();

  constructor(
    private readonly file: LazyFile,
    private readonly verbose: boolean,
  ) {}

  write(line: string): void {
    this.file.write(line);
    if (this.verbose) process.stderr.write(line);
    this.count(line);
  }

  problems(): CliLogProblem[] {
    return [...this.counts.values()];
  }

  fileWritten(): boolean {
    return this.file.written;
  }

  close(): void {
    this.file.close();
  }

  private count(line: string): void {
    // pino writes the level first, so most lines are skipped without parsing them.
    const level = Number(/^\{"level":(\d+)/.exec(line)?.[1]);
    if (!(level >= WARN_LEVEL)) return;
    let message = '';
    try {
      message = String((JSON.parse(line) as { msg?: unknown }).msg ?? '');
    } catch {
      // A line that is not JSON still counts, under an empty message.
    }
    const kind = level >= ERROR_LEVEL ? 'error' : 'warn';
    const key = `${kind}\u0000${message}`;
    const entry = this.counts.get(key) ?? { level: kind, message, count: 0 };
    entry.count += 1;
    this.counts.set(key, entry);
  }
}
