import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider, type SqliteDatabase } from 'kysely';
import pg from 'pg';
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
 * `fangkong.db` in `dataDir` (WAL mode).
 */
export function openDb(options: { databaseUrl: string; dataDir: string; sqliteFile?: string; poolSize?: number }): Db {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }

  const file = options.sqliteFile ?? join(options.dataDir, 'fangkong.db');
  if (file !== ':memory:') mkdirSync(options.dataDir, { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Wrap a better-sqlite3 database so `prepare` reuses statements by SQL text. Kysely
 * prepares every query afresh, and preparing was about 40% of SQLite time in a profile
 * of the gate's hot path. Reuse is safe because Kysely runs one query at a time on its
 * single SQLite connection, and SQLite re-prepares a statement after a schema change.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        // Move to the end, so the map's first entry is the least recently used.
        cache.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
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
