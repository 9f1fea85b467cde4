import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { openDb, migrateToLatest, type DialectName, type Db } from '../../src/db/connection.js';
import { createContext, type AppContext } from '../../src/context.js';
import { createFieldCipher } from '../../src/shared/crypto.js';
import { createLogger } from '../../src/shared/logger.js';

/** Admin connection for creating throwaway databases; `npm test` checks it is reachable. */
export const PG_ADMIN_URL = process.env.FANGKONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Dialects the store tests loop over. PostgreSQL is included when scripts/test.mjs found
 * it (FANGKONG_TEST_PG=1); under CI it is required.
 */
export const DIALECTS: DialectName[] = process.env.FANGKONG_TEST_PG === '1' ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDb {
  ctx: AppContext;
  database: Db;
  dataDir: string;
  /** Move the test clock; `ctx.now()` returns this value. */
  setNow(ms: number): void;
  close(): Promise<void>;
}

const TEST_KEY = Buffer.alloc(32, 7);

/**
 * A fresh, migrated database of the dialect: a temporary SQLite file, or a new
 * PostgreSQL database dropped on close. Each test file gets its own.
 */
export async function createTestDb(dialect: DialectName, overrides: Partial<Config> = {}): Promise<TestDb> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-test-'));
  let databaseUrl = '';
  let dropDatabase: (() => Promise<void>) | undefined;

  if (dialect === 'postgres') {
    const name = `fk_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    };
  }

  const base = loadConfig({ FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: databaseUrl });
  const config = Object.freeze({ ...base, ...overrides, dataDir, databaseUrl });
  const database = openDb({ databaseUrl, dataDir });
  await migrateToLatest(database.db);

  let now = Date.parse('2026-12-07T00:00:00Z');
  const ctx = createContext({
    config,
    database,
    cipher: createFieldCipher(TEST_KEY),
    log: createLogger(process.env.FANGKONG_TEST_LOG ?? 'silent'),
    now: () => now,
  });

  return {
    ctx,
    database,
    dataDir,
    setNow: (ms) => {
      now = ms;
    },
    close: async () => {
      await database.close();
      if (dropDatabase) await dropDatabase();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
