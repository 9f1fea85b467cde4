import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../shared/logger.js';
import { schoolDay } from '../shared/time.js';

/**
 * The log of one command-line run. Commands log JSON lines (the same redacted pino logger
 * as the server) into `<dataDir>/logs/cli-YYYY-MM-DD.log`, one file per Asia/Shanghai day,
 * so the terminal shows only the command's Chinese output. Warnings and errors are counted
 * by message for the summary printed when the command ends. Opening the log deletes the
 * files of that folder that are older than the retention period.
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

const DAY_MS = 24 * 60 * 60 * 1000;

/** Name of a command-line log file; the day is captured. */
const CLI_LOG_NAME = /^cli-(\d{4}-\d{2}-\d{2})\.log$/;

/** Build the path of the command-line log file for the Asia/Shanghai day of `instantMs`. */
export function cliLogFile(dataDir: string, instantMs: number): string {
  return join(dataDir, 'logs', `cli-${schoolDay(instantMs)}.log`);
}

/**
 * Open the log of a command run, after deleting the log files older than `retentionDays`
 * (see deleteOldCliLogs). With `verbose`, every line is also written to stderr for
 * developers. `level` is a pino level, and 'silent' writes no file but still deletes old ones.
 */
export function openCliLog(options: { dataDir: string; level: string; verbose: boolean; retentionDays: number; now?: number }): CliLog {
  const now = options.now ?? Date.now();
  const file = cliLogFile(options.dataDir, now);
  const destination = new CountingDestination(new LazyFile(file), options.verbose);
  const log = createLogger(options.level, destination, { isoTime: true });

  const cleanup = deleteOldCliLogs(options.dataDir, options.retentionDays, now);
  if (cleanup.deleted.length > 0) {
    log.info({ deleted: cleanup.deleted.length, before: cleanup.cutoffDay, retentionDays: options.retentionDays }, 'old command-line log files deleted');
  }
  for (const failure of cleanup.failed) log.warn({ file: failure.file, reason: failure.reason }, 'old command-line log file not deleted');

  return {
    log,
    file,
    problems: () => destination.problems(),
    fileWritten: () => destination.fileWritten(),
    close: () => destination.close(),
  };
}

/** The outcome of deleteOldCliLogs. */
export interface CliLogCleanup {
  /** Files dated before this day ('YYYY-MM-DD', Asia/Shanghai) are deleted; null when `retentionDays` is 0. */
  cutoffDay: string | null;
  /** Names of the deleted files. */
  deleted: string[];
  /** Files, or the folder, that could not be read or deleted, with the system's reason. */
  failed: Array<{ file: string; reason: string }>;
}

/**
 * Delete the command-line log files of `<dataDir>/logs` dated more than `retentionDays`
 * days before the Asia/Shanghai day of `now`, so 30 keeps today's file and those of the 30
 * days before it. Only regular files named cli-YYYY-MM-DD.log with a real date are
 * deleted, by the date in the name. Other files, folders, symbolic links and subfolders
 * are left alone. 0 keeps every file, and a missing folder is not an error.
 */
export function deleteOldCliLogs(dataDir: string, retentionDays: number, now: number): CliLogCleanup {
  if (retentionDays <= 0) return { cutoffDay: null, deleted: [], failed: [] };
  const folder = join(dataDir, 'logs');
  const cutoffDay = schoolDay(now - retentionDays * DAY_MS);
  const result: CliLogCleanup = { cutoffDay, deleted: [], failed: [] };

  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') result.failed.push({ file: folder, reason: reasonOf(error) });
    return result;
  }

  for (const entry of entries) {
    const day = CLI_LOG_NAME.exec(entry.name)?.[1];
    if (!entry.isFile() || day === undefined || !isRealDay(day) || day >= cutoffDay) continue;
    try {
      unlinkSync(join(folder, entry.name));
      result.deleted.push(entry.name);
    } catch (error) {
      // Another command that started at the same time may have deleted it first.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') result.failed.push({ file: join(folder, entry.name), reason: reasonOf(error) });
    }
  }
  return result;
}

/** True for a 'YYYY-MM-DD' that names a day of the calendar (not 2026-02-30). */
function isRealDay(day: string): boolean {
  const parsed = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
