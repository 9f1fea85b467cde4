import pg from 'pg';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.js';
import { createLogger } from '../../src/shared/logger.js';
import { PG_ADMIN_URL } from '../helpers/db.js';

const PG_ENABLED = process.env.FANGKONG_TEST_PG === '1';

describe.skipIf(!PG_ENABLED)('PostgreSQL pool', () => {
  it('survives the server ending an idle connection', async () => {
    const database = openDb({ databaseUrl: PG_ADMIN_URL, dataDir: '', poolSize: 2, log: createLogger('silent') });
    try {
      const first = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db);
      const pid = first.rows[0]!.pid;

      // Another session ends the pool's idle connection, as a restart or an administrator would.
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await admin.end();
      await new Promise((resolve) => setTimeout(resolve, 200));

      const next = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db);
      expect(next.rows[0]!.pid).not.toBe(pid);
    } finally {
      await database.close();
    }
  });
});
