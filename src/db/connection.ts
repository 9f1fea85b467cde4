import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider, type SqliteDatabase, type SqliteStatement } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { FALLBACK_CHECKPOINT_PAGES, startCheckpointer } from './checkpointer.js';
import type { Database } from './schema.js';
import { migrations } from './migrations/index.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  db: Kysely<Database>;
  dialect: DialectName;
  close(): Promise<void>;
}

// BIGINT (int8) columns hold epoch milliseconds, well below 2^53, so numbers are safe.
pg.types.setTypeParser(20, (value) => Number(value));
// NUMERIC stays text in pg; temperatures are stored as REAL/DOUBLE, which pg parses itself.

/**
 * Open the database: PostgreSQL when `databaseUrl` is set, otherwise the SQLite file
 * `fangkong.db` in `dataDir` (WAL mode, checkpointed in a worker thread). `log` receives
 * failures of that worker.
 */
export function openDb(options: {
  databaseUrl: string;
  dataDir: string;
  sqliteFile?: string;
  poolSize?: number;
  log?: Logger;
  /** False for a second connection to a SQLite file whose server connection already checkpoints it. */
  backgroundCheckpoint?: boolean;
}): Db {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle connection that the server ends (a restart, an administrator's terminate) is an
    // 'error' event on the pool; without a listener Node would crash the process. The pool
    // drops that connection and opens a new one for the next query.
    pool.on('error', (error) => options.log?.warn({ err: error }, 'idle PostgreSQL connection closed by the server; it will be replaced'));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    pgPools.set(db, pool);
    return { db, dialect: 'postgres', close: () => closeWithHooks(db) };
  }

  const file = options.sqliteFile ?? join(options.dataDir, 'fangkong.db');
  if (file !== ':memory:') mkdirSync(options.dataDir, { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  if (file === ':memory:') return { db, dialect: 'sqlite', close: () => closeWithHooks(db) };

  sqliteFiles.set(db, file);
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  const checkpointer = options.backgroundCheckpoint === false ? undefined : startCheckpointer(file, options.log);
  return {
    db,
    dialect: 'sqlite',
    close: async () => {
      await closeWithHooks(db);
      await checkpointer?.stop();
    },
  };
}

const sqliteFiles = new WeakMap<Kysely<Database>, string>();
const pgPools = new WeakMap<Kysely<Database>, pg.Pool>();

/**
 * Return the pool of a PostgreSQL database opened by `openDb`, for a hot path that runs
 * named (server-side prepared) statements, which Kysely does not offer. Undefined for SQLite.
 */
export function pgPoolOf(db: Kysely<Database>): pg.Pool | undefined {
  return pgPools.get(db);
}
const closeHooks = new WeakMap<Kysely<Database>, Array<() => Promise<void>>>();

/** Return the file of a SQLite database opened by `openDb`; undefined for PostgreSQL and `:memory:`. */
export function sqliteFileOf(db: Kysely<Database>): string | undefined {
  return sqliteFiles.get(db);
}

/**
 * Run `hook` when the database is closed, before its connections go. Modules that keep
 * their own connection or thread for a database (the check-in writer) close it here.
 */
export function onDbClose(db: Kysely<Database>, hook: () => Promise<void>): void {
  const hooks = closeHooks.get(db) ?? [];
  hooks.push(hook);
  closeHooks.set(db, hooks);
}

async function closeWithHooks(db: Kysely<Database>): Promise<void> {
  const hooks = closeHooks.get(db) ?? [];
  closeHooks.delete(db);
  for (const hook of hooks) await hook();
  await db.destroy();
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Rows for a SQLite INSERT to run once each, given as the statement's only parameter:
 * `db.executeQuery(CompiledQuery.raw('insert into t (a, b) values (?, ?)', [new SqliteRowBatch(rows)]))`.
 * The rows run inside a savepoint, so the batch, like one statement, inserts all rows or
 * none. For a 3,000-row roster this took about two thirds of the time of one
 * INSERT ... SELECT over a JSON array (json_each), because SQLite then skips building and
 * parsing the JSON text. PostgreSQL has no such parameter.
 */
export class SqliteRowBatch {
  constructor(readonly rows: ReadonlyArray<ReadonlyArray<unknown>>) {}
}

/**
 * Wrap a better-sqlite3 database so `prepare` reuses statements by SQL text. Kysely
 * prepares every query afresh, and preparing was about 40% of SQLite time in a profile
 * of the gate's hot path. Reuse is safe because Kysely runs one query at a time on its
 * single SQLite connection, and SQLite re-prepares a statement after a schema change.
 * Writing statements also accept a SqliteRowBatch.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  const runRows = sqlite.transaction((statement: SQLite.Statement, rows: ReadonlyArray<ReadonlyArray<unknown>>) => {
    let changes = 0;
    let lastInsertRowid: number | bigint = 0;
    for (const row of rows) {
      const result = statement.run(row);
      changes += Number(result.changes);
      lastInsertRowid = result.lastInsertRowid;
    }
    return { changes, lastInsertRowid };
  });

  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        // Move to the end, so the map's first entry is the least recently used.
        cache.delete(text);
      } else {
        statement = acceptRowBatches(sqlite.prepare(text), runRows);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

type RowRunner = (statement: SQLite.Statement, rows: ReadonlyArray<ReadonlyArray<unknown>>) => { changes: number; lastInsertRowid: number | bigint };

/** Let a writing statement take a SqliteRowBatch; statements that return rows stay as they are. */
function acceptRowBatches(statement: SQLite.Statement, runRows: RowRunner): SqliteStatement {
  if (statement.reader) return statement;
  return {
    reader: false,
    all: (parameters) => statement.all(parameters),
    iterate: (parameters) => statement.iterate(parameters),
    run(parameters) {
      const batch = parameters.length === 1 ? parameters[0] : undefined;
      if (batch instanceof SqliteRowBatch) return runRows(statement, batch.rows);
      return statement.run(parameters);
    },
  };
}

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/** Bring the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const name = failed ? ` "${failed.migrationName}"` : '';
    throw new Error(`migration${name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
