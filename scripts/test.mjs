#!/usr/bin/env node
// The test command: checks which real components are present (PostgreSQL, Chromium),
// says which suites it skips and how to enable them, then runs Vitest. Under CI
// (CI=true) a missing component is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';

const isCi = process.env.CI === 'true' || process.env.CI === '1';
const pgUrl = process.env.FANGKONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const chromiumPath = process.env.FANGKONG_CHROMIUM ?? '/usr/bin/chromium';
const missing = [];

async function postgresReachable() {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const env = { ...process.env };
if (await postgresReachable()) {
  env.FANGKONG_TEST_PG = '1';
} else {
  missing.push(`PostgreSQL at ${pgUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')} is not reachable: the PostgreSQL half of every store test is skipped. Start PostgreSQL 15+ with a "test" database (or set FANGKONG_TEST_PG_URL) to enable it.`);
}

if (existsSync(chromiumPath)) {
  env.FANGKONG_TEST_BROWSER = '1';
  env.FANGKONG_CHROMIUM = chromiumPath;
} else {
  missing.push(`Chromium not found at ${chromiumPath}: browser tests are skipped. Install it with \`apt-get install -y chromium\` (or set FANGKONG_CHROMIUM) to enable them.`);
}

for (const line of missing) console.log(`[npm test] skipped: ${line}`);
if (missing.length > 0 && isCi) {
  console.error('[npm test] CI=true and a required component is missing; failing.');
  process.exit(1);
}

const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
