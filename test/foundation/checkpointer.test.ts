import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_INTERVAL_MS, FALLBACK_CHECKPOINT_PAGES } from '../../src/db/checkpointer.js';
import { openDb, type Db } from '../../src/db/connection.js';

const PAGE_BYTES = 4096;

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

describe('sqlite background checkpoint', () => {
  let dataDir = '';
  let database: Db | undefined;

  afterEach(async () => {
    await database?.close();
    database = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('copies the WAL into the file in the background', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-checkpoint-'));
    database = openDb({ databaseUrl: '', dataDir });
    const file = join(dataDir, 'fangkong.db');

    await sql`create table filler (id integer primary key, text text not null)`.execute(database.db);
    const sizeBefore = statSync(file).size;
    // About 2 MB, far below the writer's own automatic checkpoint, so only the worker copies it.
    await database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 500; i++) await sql`insert into filler (text) values (${'x'.repeat(4000)})`.execute(trx);
    });
    expect(500 * 4000).toBeLessThan(FALLBACK_CHECKPOINT_PAGES * PAGE_BYTES);

    const copied = await waitFor(() => statSync(file).size >= sizeBefore + 500 * 4000, 20 * CHECKPOINT_INTERVAL_MS);
    expect(copied).toBe(true);
    const rows = await sql<{ n: number }>`select count(*) as n from filler`.execute(database.db);
    expect(rows.rows[0].n).toBe(500);
  });

  it('stops the worker on close', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fangkong-checkpoint-'));
    const opened = openDb({ databaseUrl: '', dataDir });
    await sql`create table t (id integer primary key)`.execute(opened.db);
    await sql`insert into t (id) values (1)`.execute(opened.db);

    const started = performance.now();
    await opened.close();
    // The worker stops when asked; it would be terminated only after two seconds.
    expect(performance.now() - started).toBeLessThan(1500);
    // SQLite removes the WAL when the last connection to the file closes, so the worker's is closed too.
    expect(existsSync(join(dataDir, 'fangkong.db-wal'))).toBe(false);
  });
});
