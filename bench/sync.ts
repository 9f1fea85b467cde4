/**
 * Health-code sync benchmark: a district of 200,000 consenting people in 200 schools,
 * synced against the bureau simulator (20 ms latency, 50 requests/second server limit,
 * run in a child process) on SQLite and on PostgreSQL. 2,000 batches at 50 requests a
 * second cannot take less than 40 s; the target is at most 1.15 times that.
 *
 *   node --import tsx bench/sync.ts [--dialect sqlite|postgres|both] [--people N]
 *        [--schools N] [--no-baseline]
 *
 * PostgreSQL runs in a throwaway database on FANGKONG_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test). It prints one JSON line per measurement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Insertable } from 'kysely';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config.js';
import { createContext, type AppContext } from '../src/context.js';
import { migrateToLatest, openDb, type Db, type DialectName } from '../src/db/connection.js';
import type { ConsentTable } from '../src/db/schema.js';
import { BureauClient, MAX_BATCH_SIZE } from '../src/modules/healthcode/bureau-client.js';
import { runSync, type SyncRunResult } from '../src/modules/healthcode/service.js';
import { buildPersonRow, createSchool, type SchoolSummary } from '../src/modules/people/service.js';
import { createFieldCipher } from '../src/shared/crypto.js';
import { newId } from '../src/shared/ids.js';
import { createLogger } from '../src/shared/logger.js';
import { makeIdNumber, makeName } from '../src/shared/synthetic.js';

const LATENCY_MS = 20;
const RPS = 50;
const SCHOOL_CONCURRENCY = 8;
// Requests in flight: 50 per second at 20 ms needs one, and eight absorb slow round trips
// on a busy machine (FANGKONG_BUREAU_CONCURRENCY in production).
const BUREAU_CONCURRENCY = 8;
const PG_ADMIN_URL = process.env.FANGKONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const PEOPLE = Number(option('people', '200000'));
const SCHOOLS = Number(option('schools', '200'));
const DIALECT = option('dialect', 'both');
const BASELINE = !process.argv.includes('--no-baseline');

interface Simulator {
  url: string;
  appKey: string;
  appSecret: string;
  child: ChildProcess;
}

/** Start `fangkong simulate bureau` in its own process, so its memory is not counted. */
async function startSimulator(): Promise<Simulator> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', 'simulate', 'bureau', '--port', '0', '--latency', String(LATENCY_MS), '--rps', String(RPS), '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { ...(JSON.parse(line) as Omit<Simulator, 'child'>), child };
}

async function simulatorStats(simulator: Simulator) {
  return (await fetch(`${simulator.url}/_sim/stats`)).json() as Promise<{ requests: number; byStatus: Record<string, number> }>;
}

async function resetStats(simulator: Simulator): Promise<void> {
  await fetch(`${simulator.url}/_sim/stats/reset`, { method: 'POST' });
}

/** Samples the resident set size every 100 ms and keeps the maximum. */
function sampleMemory(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

function idNumberOf(index: number): string {
  const day = new Date(Date.UTC(2008, 0, 1) + Math.floor(index / 1000) * 86_400_000).toISOString().slice(0, 10);
  return makeIdNumber(index, day);
}

async function openBenchDb(dialect: DialectName): Promise<{ database: Db; cleanup(): Promise<void>; config: Readonly<Config> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-bench-'));
  let databaseUrl = '';
  let drop = async () => {};
  if (dialect === 'postgres') {
    const name = `fk_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    drop = async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    };
  }
  const config = loadConfig({ FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: databaseUrl, FANGKONG_BUREAU_CONCURRENCY: String(BUREAU_CONCURRENCY) });
  const database = openDb({ databaseUrl, dataDir });
  await migrateToLatest(database.db);
  return {
    database,
    config,
    cleanup: async () => {
      await database.close();
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Seed schools, one manager each, and people with consent, with multi-row inserts. */
async function seed(ctx: AppContext): Promise<SchoolSummary[]> {
  const schools: SchoolSummary[] = [];
  for (let i = 0; i < SCHOOLS; i++) schools.push(await createSchool(ctx, { code: `B${String(i).padStart(4, '0')}`, name: `基准第${i + 1}学校` }));

  const perSchool = Math.ceil(PEOPLE / SCHOOLS);
  const chunk = 1000;
  let persons: ReturnType<typeof buildPersonRow>[] = [];
  let consents: Insertable<ConsentTable>[] = [];
  const flush = async () => {
    if (persons.length === 0) return;
    await ctx.db.insertInto('persons').values(persons).execute();
    await ctx.db.insertInto('consents').values(consents).execute();
    persons = [];
    consents = [];
  };

  for (let i = 0; i < PEOPLE; i++) {
    const school = schools[Math.floor(i / perSchool)];
    const person = buildPersonRow(ctx, { schoolId: school.id, kind: 'student', name: makeName(i), idNumber: idNumberOf(i), studentNumber: `S${i}` }, newId());
    persons.push(person);
    consents.push({ id: newId(), person_id: person.id, purpose: 'health_code', given_by: 'guardian', guardian_id: null, given_at: ctx.now(), revoked_at: null, note: null });
    if (persons.length === chunk) await flush();
  }
  await flush();

  for (const school of schools) {
    const manager = buildPersonRow(ctx, { schoolId: school.id, kind: 'staff', name: '校长', staffNumber: `M-${school.code}`, staffRole: 'management', dingtalkUserId: `dt-${school.code}` });
    await ctx.db.insertInto('persons').values(manager).execute();
  }
  return schools;
}

async function runDistrict(ctx: AppContext, client: BureauClient, schools: SchoolSummary[]): Promise<SyncRunResult[]> {
  const results: SyncRunResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < schools.length) {
      const school = schools[next++];
      results.push(await runSync(ctx, school.id, 'bench', { client }));
    }
  };
  await Promise.all(Array.from({ length: SCHOOL_CONCURRENCY }, worker));
  return results;
}

function newClient(simulator: Simulator, config: Readonly<Config>): BureauClient {
  return new BureauClient({ ...config.bureau, url: simulator.url, appKey: simulator.appKey, appSecret: simulator.appSecret, concurrency: BUREAU_CONCURRENCY, requestsPerSecond: RPS });
}

/** Measure the client alone, without a database: how fast 2,000 batches go through the bureau. */
async function measureBaseline(simulator: Simulator): Promise<void> {
  const config = loadConfig({});
  const client = newClient(simulator, config);
  const batches = Math.ceil(PEOPLE / MAX_BATCH_SIZE);
  const ids = Array.from({ length: MAX_BATCH_SIZE }, (_, i) => idNumberOf(i));
  await resetStats(simulator);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next++ < batches) {
      const outcome = await client.queryBatch(ids);
      if (!outcome.ok) throw new Error(`baseline batch failed: ${outcome.kind}`);
    }
  };
  // As many waiting batches as the district run has, so only the database work differs.
  await Promise.all(Array.from({ length: SCHOOL_CONCURRENCY * BUREAU_CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  const stats = await simulatorStats(simulator);
  console.log(JSON.stringify({ measurement: 'client-only baseline', batches, seconds: round(seconds), floorSeconds: batches / RPS, byStatus: stats.byStatus }));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function benchDialect(dialect: DialectName, simulator: Simulator): Promise<void> {
  const { database, config, cleanup } = await openBenchDb(dialect);
  try {
    const ctx = createContext({ config, database, cipher: createFieldCipher(randomBytes(32)), log: createLogger('warn') });
    const seedStarted = performance.now();
    const schools = await seed(ctx);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // One person in a hundred turns yellow, so changes and notices are part of the work.
    const changes = Array.from({ length: Math.floor(PEOPLE / 100) }, (_, i) => ({ idNumber: idNumberOf(i * 100), color: 'yellow', at: Date.now() }));
    await fetch(`${simulator.url}/_sim/schedule`, { method: 'POST', body: JSON.stringify({ changes }) });
    await resetStats(simulator);

    const client = newClient(simulator, config);
    const memory = sampleMemory();
    const started = performance.now();
    const results = await runDistrict(ctx, client, schools);
    const seconds = (performance.now() - started) / 1000;
    const peakRss = memory.stop();
    await client.close();

    const batches = results.reduce((sum, r) => sum + r.batches, 0);
    const floor = batches / RPS;
    const stats = await simulatorStats(simulator);
    const codes = await database.db.selectFrom('health_codes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const notices = await database.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    console.log(
      JSON.stringify({
        measurement: 'district sync',
        dialect,
        people: PEOPLE,
        schools: SCHOOLS,
        seedSeconds: round(seedSeconds),
        batches,
        seconds: round(seconds),
        floorSeconds: floor,
        ratio: round(seconds / floor),
        peakRssMb: Math.round(peakRss / 1024 / 1024),
        statuses: [...new Set(results.map((r) => r.status))],
        changes: results.reduce((sum, r) => sum + r.changes, 0),
        codesStored: Number(codes.n),
        noticesQueued: Number(notices.n),
        bureauByStatus: stats.byStatus,
      }),
    );
  } finally {
    await cleanup();
  }
}

const simulator = await startSimulator();
process.once('exit', () => simulator.child.kill('SIGTERM'));
try {
  if (BASELINE) await measureBaseline(simulator);
  const dialects: DialectName[] = DIALECT === 'both' ? ['sqlite', 'postgres'] : [DIALECT as DialectName];
  for (const dialect of dialects) await benchDialect(dialect, simulator);
} finally {
  simulator.child.kill('SIGTERM');
}
