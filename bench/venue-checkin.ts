/**
 * Venue check-ins per second against a bare Fastify route, and tracing over a city-day
 * of check-ins on PostgreSQL.
 *
 *   npx tsx bench/venue-checkin.ts [--connections 10] [--duration 10] [--rounds 3] [--warmup 3] [--sqlite-only | --postgres-only] [--json]
 *   npx tsx bench/venue-checkin.ts --trace [--rows 5000000] [--people 200000] [--json]
 *
 * Check-in run (SQLite, then PostgreSQL at FANGKONG_TEST_PG_URL): 300 buses, 20,000
 * synthetic people whose codes are already in the check-in code cache (looked up once
 * through a bureau simulator on loopback). Autocannon posts JSON check-ins (a random
 * person at a random bus, as the phone form does with Accept: application/json) and the
 * same bodies to a bare Fastify route that parses the JSON and returns a small object.
 * Each server first gets `--warmup` seconds of the same load, not counted. Then the two
 * servers take turns, `--rounds` times, in this process. Autocannon runs in a
 * child process (bench/_venue-load.mjs), so the servers and the load generator each
 * have an event loop.
 *
 * Trace run (PostgreSQL): a throwaway database with 100 bus lines of 20 vehicles and
 * 1,000 shops, and `--rows` check-ins of `--people` people spread over one day
 * (05:00-23:00), bulk-loaded with INSERT ... SELECT from generate_series joined to a
 * table of encrypted identities written from Node. The indexes of the migration are
 * dropped for the load and built again after it. Each query goes through the tracing
 * service (the query, the decryption of every row and the audit entry) and is timed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { createContext, type AppContext } from '../src/context.js';
import { migrateToLatest, openDb, type DialectName, type Db } from '../src/db/connection.js';
import type { AuthUser } from '../src/modules/auth/scope.js';
import { closeBureauClient } from '../src/modules/healthcode/service.js';
import { venueCodeLookup } from '../src/modules/venues/code-lookup.js';
import { createVenues, type NewVenue } from '../src/modules/venues/service.js';
import { tracePerson, traceVenue } from '../src/modules/venues/tracing.js';
import { createFieldCipher, maskIdNumber } from '../src/shared/crypto.js';
import { createLogger } from '../src/shared/logger.js';
import { makeIdNumber, makeName } from '../src/shared/synthetic.js';
import { instantOf } from '../src/shared/time.js';
import { startBureauSimulator } from '../tools/simulators/bureau.js';

interface Args {
  connections: number;
  duration: number;
  rounds: number;
  warmup: number;
  trace: boolean;
  rows: number;
  people: number;
  json: boolean;
  dialects: DialectName[];
}

function parseArgs(argv: string[]): Args {
  const value = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  return {
    connections: value('connections', 10),
    duration: value('duration', 10),
    rounds: value('rounds', 3),
    warmup: value('warmup', 3),
    trace: argv.includes('--trace'),
    rows: value('rows', 5_000_000),
    people: value('people', 200_000),
    json: argv.includes('--json'),
    dialects: argv.includes('--sqlite-only') ? ['sqlite'] : argv.includes('--postgres-only') ? ['postgres'] : ['sqlite', 'postgres'],
  };
}

const PG_ADMIN_URL = process.env.FANGKONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BENCH_ACTOR: AuthUser = { id: 'bench', username: 'bench', displayName: '压测', role: 'district_admin', schoolId: null, classId: null, personId: null, sessionId: 'bench' };
const TASK_FORCE: AuthUser = { ...BENCH_ACTOR, id: 'bench-tf', username: 'bench-tf', role: 'task_force' };

/** Create a throwaway database of the dialect; `drop` removes it. */
async function openBenchDb(dialect: DialectName): Promise<{ database: Db; databaseUrl: string; dataDir: string; drop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-bench-venue-'));
  if (dialect === 'sqlite') {
    const database = openDb({ databaseUrl: '', dataDir });
    return { database, databaseUrl: '', dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `fk_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const database = openDb({ databaseUrl: url.toString(), dataDir });
  return {
    database,
    databaseUrl: url.toString(),
    dataDir,
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function contextFor(database: Db, dataDir: string, databaseUrl: string, overrides: Partial<Config>): AppContext {
  const base = loadConfig({ FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: databaseUrl });
  const config = Object.freeze({ ...base, logLevel: 'silent', ...overrides });
  return createContext({ config, database, cipher: createFieldCipher(randomBytes(32)), log: createLogger('silent'), now: Date.now });
}

function fleet(lines: number, perLine: number, shops: number): NewVenue[] {
  const venues: NewVenue[] = [];
  for (let l = 0; l < lines; l++) {
    for (let v = 0; v < perLine; v++) {
      venues.push({ kind: 'bus', name: `${l * 100 + v} 号车`, operator: '压测公交', line: `L${l}`, plate: `浙A·${String(l * 100 + v).padStart(5, '0')}`, latitude: 30.2 + l / 1000, longitude: 120.1 + v / 1000 });
    }
  }
  for (let s = 0; s < shops; s++) venues.push({ kind: 'shop', name: `压测商铺${s}`, operator: `店主${s}` });
  return venues;
}

function syntheticIdNumber(i: number): string {
  const day = new Date(Date.UTC(1950, 0, 1) + Math.floor(i / 1000) * 86_400_000).toISOString().slice(0, 10);
  return makeIdNumber(i, day);
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/**
 * Run autocannon in a child process (bench/_venue-load.mjs), so the load generator has
 * its own event loop and core instead of sharing the server's.
 */
async function load(url: string, paths: string[], bodies: string[], args: Args): Promise<LoadResult> {
  const child = fork(fileURLToPath(new URL('./_venue-load.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = await new Promise<LoadResult & { error?: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadResult & { error?: string }));
    child.once('error', reject);
    child.send({ url, paths, bodies, connections: args.connections, duration: args.duration });
  });
  if (result.error) throw new Error(`autocannon failed: ${result.error}`);
  return result;
}

/**
 * Run `load` and measure this process's CPU time (user + system, all threads) per
 * request. Both servers live in this process and only one is loaded at a time, so the
 * figure is the server's own cost, which other processes on the machine barely change.
 */
async function loadWithCpu(url: string, paths: string[], bodies: string[], args: Args): Promise<{ result: LoadResult; cpuUsPerRequest: number; mainThreadCpuUsPerRequest: number | null; postgresCpuUsPerRequest: number; mainThreadBusy: number }> {
  const before = process.cpuUsage();
  const mainBefore = mainThreadCpuUs();
  const postgresBefore = postgresCpuUs();
  const loopBefore = performance.eventLoopUtilization();
  const result = await load(url, paths, bodies, args);
  const used = process.cpuUsage(before);
  const mainAfter = mainThreadCpuUs();
  const postgresAfter = postgresCpuUs();
  const loop = performance.eventLoopUtilization(loopBefore);
  const requests = Math.max(1, result.requests);
  return {
    result,
    cpuUsPerRequest: Math.round((used.user + used.system) / requests),
    mainThreadCpuUsPerRequest: mainBefore === null || mainAfter === null ? null : Math.round((mainAfter - mainBefore) / requests),
    postgresCpuUsPerRequest: Math.round((postgresAfter - postgresBefore) / requests),
    mainThreadBusy: Number(loop.utilization.toFixed(2)),
  };
}

/**
 * CPU time of every PostgreSQL server process on this machine in µs (Linux /proc), or 0
 * elsewhere. Other clients' queries count too, so the figure is only meaningful on a quiet machine.
 */
function postgresCpuUs(): number {
  let total = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.split(') ')[1].split(' ');
        total += (Number(fields[11]) + Number(fields[12])) * 10_000;
      } catch {
        // The process ended between the listing and the read.
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/**
 * CPU time of this process's main thread (the one serving HTTP) in µs, from Linux's
 * /proc/self/task/<pid>/stat (utime and stime, in clock ticks of 10 ms); null elsewhere.
 */
function mainThreadCpuUs(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // Fields 14 and 15 of stat(5), counted from the state field, which is field 3.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

async function checkinRun(dialect: DialectName, args: Args) {
  const bureau = await startBureauSimulator({ appKey: 'bench', appSecret: 'bench-secret' });
  const { database, databaseUrl, dataDir, drop } = await openBenchDb(dialect);
  try {
    await migrateToLatest(database.db);
    const base = loadConfig({});
    const ctx = contextFor(database, dataDir, databaseUrl, {
      bureau: { ...base.bureau, url: bureau.url, appKey: 'bench', appSecret: 'bench-secret' },
      venues: { ...base.venues, publicUrl: 'http://127.0.0.1:3000', checkinsPerIpPerMinute: 1_000_000, checkinsPerPhonePerMinute: 1_000_000 },
    });

    const venues = await createVenues(ctx, BENCH_ACTOR, fleet(15, 20, 0));
    const paths = venues.map((v) => new URL(v.codeUrl).pathname);
    const people = Array.from({ length: 20_000 }, (_, i) => ({ name: makeName(i), idNumber: syntheticIdNumber(i) }));

    // Warm the code cache the way check-ins fill it: one bureau lookup per person.
    const lookup = venueCodeLookup(ctx);
    // In slices of 1,000 (10 bureau queries), so none waits past the check-in deadline.
    const warmed = [];
    for (let i = 0; i < people.length; i += 1000) {
      warmed.push(...(await Promise.all(people.slice(i, i + 1000).map((p) => lookup.lookup(p.idNumber, ctx.cipher.hash(p.idNumber))))));
    }
    const bureauRequests = bureau.stats().requests;
    if (warmed.some((w) => w.color !== 'green')) throw new Error('the code cache did not warm: some lookups failed');

    const bodies = people.map((p) => JSON.stringify(p));

    const bare = Fastify({ logger: false });
    bare.post('/bare', async (request) => ({ checkinId: 'x', duplicate: false, codeColor: 'green', name: (request.body as { name: string }).name }));
    const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
    const app = await buildApp(ctx);
    const appUrl = await app.listen({ port: 0, host: '127.0.0.1' });

    // Warm both servers (JIT, statement caches, the writer thread) before the measured rounds.
    if (args.warmup > 0) {
      const warm = { ...args, duration: args.warmup };
      await load(bareUrl, ['/bare'], bodies, warm);
      await load(appUrl, paths, bodies, warm);
    }

    const rounds: Array<{
      baseline: LoadResult;
      checkin: LoadResult;
      ratio: number;
      cpuUsPerRequest: { baseline: number; checkin: number };
      mainThreadCpuUsPerRequest: { baseline: number | null; checkin: number | null };
      postgresCpuUsPerRequest: number;
      mainThreadBusy: { baseline: number; checkin: number };
    }> = [];
    for (let round = 0; round < args.rounds; round++) {
      const baseline = await loadWithCpu(bareUrl, ['/bare'], bodies, args);
      const checkin = await loadWithCpu(appUrl, paths, bodies, args);
      rounds.push({
        baseline: baseline.result,
        checkin: checkin.result,
        ratio: Number((checkin.result.rps / baseline.result.rps).toFixed(3)),
        cpuUsPerRequest: { baseline: baseline.cpuUsPerRequest, checkin: checkin.cpuUsPerRequest },
        mainThreadCpuUsPerRequest: { baseline: baseline.mainThreadCpuUsPerRequest, checkin: checkin.mainThreadCpuUsPerRequest },
        postgresCpuUsPerRequest: checkin.postgresCpuUsPerRequest,
        mainThreadBusy: { baseline: baseline.mainThreadBusy, checkin: checkin.mainThreadBusy },
      });
    }
    await bare.close();
    await app.close();

    const stored = await ctx.db
      .selectFrom('venue_checkins')
      .select(['code_source', ctx.db.fn.countAll<number>().as('count')])
      .groupBy('code_source')
      .execute();
    const requests = rounds.reduce((sum, r) => sum + r.checkin.requests, 0);
    await lookup.drain();
    await closeBureauClient(ctx);
    const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
    return {
      dialect,
      venues: venues.length,
      people: people.length,
      warmUpBureauRequests: bureauRequests,
      bureauRequestsDuringLoad: bureau.stats().requests - bureauRequests,
      connections: args.connections,
      durationS: args.duration,
      rounds,
      medianRatio: ratios[Math.floor(ratios.length / 2)],
      checkinRequests: requests,
      storedBySource: Object.fromEntries(stored.map((s) => [s.code_source, Number(s.count)])),
    };
  } finally {
    await database.close();
    await drop();
    await bureau.close();
  }
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1));
  return { p50: at(0.5), p99: at(0.99), max: Number(sorted[sorted.length - 1].toFixed(1)) };
}

const INDEXES = [
  'CREATE INDEX venue_checkins_venue_time ON venue_checkins (venue_id, checked_in_at)',
  'CREATE INDEX venue_checkins_subject_time ON venue_checkins (subject_hash, checked_in_at)',
  'CREATE INDEX venue_checkins_phone_time ON venue_checkins (phone_hash, checked_in_at) WHERE phone_hash IS NOT NULL',
];

async function traceRun(args: Args) {
  const { database, databaseUrl, dataDir, drop } = await openBenchDb('postgres');
  try {
    await migrateToLatest(database.db);
    const ctx = contextFor(database, dataDir, databaseUrl, {});
    const db = ctx.db;

    const all = fleet(100, 20, 1000);
    const venues = [...(await createVenues(ctx, BENCH_ACTOR, all.slice(0, 1500))), ...(await createVenues(ctx, BENCH_ACTOR, all.slice(1500)))];
    await sql`CREATE UNLOGGED TABLE bench_venues (n integer PRIMARY KEY, id text NOT NULL)`.execute(db);
    for (let i = 0; i < venues.length; i += 1000) {
      const chunk = venues.slice(i, i + 1000).map((v, j) => sql`(${i + j}, ${v.id})`);
      await sql`INSERT INTO bench_venues (n, id) VALUES ${sql.join(chunk)}`.execute(db);
    }

    // Identities are encrypted in Node, as check-ins store them, then joined in by number.
    let started = performance.now();
    await sql`CREATE UNLOGGED TABLE bench_people (n integer PRIMARY KEY, name text, enc text, hash text, masked text)`.execute(db);
    const idNumbers: string[] = [];
    for (let i = 0; i < args.people; i += 2000) {
      const rows = [];
      for (let j = i; j < Math.min(i + 2000, args.people); j++) {
        const idNumber = syntheticIdNumber(j);
        idNumbers.push(idNumber);
        rows.push(sql`(${j}, ${makeName(j)}, ${ctx.cipher.encrypt(idNumber)}, ${ctx.cipher.hash(idNumber)}, ${maskIdNumber(idNumber)})`);
      }
      await sql`INSERT INTO bench_people (n, name, enc, hash, masked) VALUES ${sql.join(rows)}`.execute(db);
    }
    const peopleS = (performance.now() - started) / 1000;

    // Buses carry four of five check-ins; a day runs 05:00 to 23:00 Beijing time.
    const dayStart = instantOf('2026-12-07', '05:00');
    const daySpan = 18 * 3_600_000;
    const busCount = 2000;
    started = performance.now();
    for (const index of ['venue_checkins_venue_time', 'venue_checkins_subject_time', 'venue_checkins_phone_time']) {
      await sql.raw(`DROP INDEX ${index}`).execute(db);
    }
    const batch = 1_000_000;
    for (let offset = 0; offset < args.rows; offset += batch) {
      const last = Math.min(offset + batch, args.rows);
      await sql`
        INSERT INTO venue_checkins (id, venue_id, checked_in_at, method, subject_hash, name, id_number_enc, id_number_hash, id_number_masked,
          phone_enc, phone_hash, phone_masked, code_color, code_source, code_seen, seen_color, card_id, device_id, flagged)
        SELECT lpad(g::text, 26, '0'), v.id, ${dayStart}::bigint + ((g::bigint * 7919) % ${daySpan}), 'scan', p.hash, p.name, p.enc, p.hash, p.masked,
          NULL, NULL, NULL, CASE WHEN g % 97 = 0 THEN 'yellow' WHEN g % 991 = 0 THEN 'unknown' ELSE 'green' END, 'cache', NULL, NULL, NULL, NULL, 0
        FROM generate_series(${offset + 1}::bigint, ${last}::bigint) AS g
        JOIN bench_venues v ON v.n = CASE WHEN g % 5 = 0 THEN ${busCount} + ((g / 5) % ${venues.length - busCount}) ELSE (g * 31) % ${busCount} END
        JOIN bench_people p ON p.n = (g * 104729) % ${args.people}
      `.execute(db);
    }
    const loadS = (performance.now() - started) / 1000;
    started = performance.now();
    for (const statement of INDEXES) await sql.raw(statement).execute(db);
    await sql`ANALYZE venue_checkins`.execute(db);
    const indexS = (performance.now() - started) / 1000;
    const size = await sql<{ table: string; indexes: string }>`
      SELECT pg_size_pretty(pg_table_size('venue_checkins')) AS table, pg_size_pretty(pg_indexes_size('venue_checkins')) AS indexes`.execute(db);

    const hour = (h: number) => instantOf('2026-12-07', `${String(h).padStart(2, '0')}:00`);
    const purpose = '压测：密接排查';
    const timings: Record<string, number[]> = { oneBusOneHour: [], lineOneHour: [], lineMorningPeak: [], personOneDay: [], shopOneDay: [] };
    const rowCounts: Record<string, number[]> = { oneBusOneHour: [], lineOneHour: [], lineMorningPeak: [], personOneDay: [], shopOneDay: [] };
    const time = async (name: string, work: () => Promise<{ entries: unknown[] }>) => {
      const t0 = performance.now();
      const result = await work();
      timings[name].push(performance.now() - t0);
      rowCounts[name].push(result.entries.length);
    };

    for (let i = 0; i < 20; i++) {
      const bus = venues[(i * 97) % busCount];
      const line = `L${(i * 7) % 100}`;
      const shop = venues[busCount + ((i * 13) % 1000)];
      await time('oneBusOneHour', () => traceVenue(ctx, TASK_FORCE, { venueId: bus.id, from: hour(7), to: hour(8), purpose }));
      await time('lineOneHour', () => traceVenue(ctx, TASK_FORCE, { line, from: hour(7), to: hour(8), purpose }));
      await time('lineMorningPeak', () => traceVenue(ctx, TASK_FORCE, { line, from: hour(6), to: hour(9), purpose }));
      await time('shopOneDay', () => traceVenue(ctx, TASK_FORCE, { venueId: shop.id, from: hour(0), to: hour(23) + 3_600_000, purpose }));
      await time('personOneDay', () => tracePerson(ctx, TASK_FORCE, { idNumber: idNumbers[(i * 7777) % idNumbers.length], from: hour(0), to: hour(23) + 3_600_000, purpose }));
    }

    // The plan of the line query as the store sends it: the line's venue ids as an IN list.
    const lineIds = venues.filter((v) => v.line === 'L3').map((v) => v.id);
    const plan = await sql<{ 'QUERY PLAN': string }>`
      EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
      SELECT c.*, v.name FROM venue_checkins c JOIN venues v ON v.id = c.venue_id
      WHERE c.venue_id IN (${sql.join(lineIds)}) AND c.checked_in_at >= ${hour(7)} AND c.checked_in_at < ${hour(8)}
      ORDER BY c.checked_in_at, c.id LIMIT 20001`.execute(db);

    return {
      rows: args.rows,
      people: args.people,
      venues: venues.length,
      load: { identitiesS: Number(peopleS.toFixed(1)), insertS: Number(loadS.toFixed(1)), indexS: Number(indexS.toFixed(1)), ...size.rows[0] },
      queriesMs: Object.fromEntries(Object.entries(timings).map(([name, samples]) => [name, { ...percentiles(samples), rowsMedian: [...rowCounts[name]].sort((a, b) => a - b)[10] }])),
      linePlan: plan.rows.map((r) => r['QUERY PLAN'].replace(/'\{[0-9A-Z,]+\}'/g, "'{<20 venue ids>}'")),
    };
  } finally {
    await database.close();
    await drop();
  }
}

const args = parseArgs(process.argv.slice(2));
let result: unknown;
if (args.trace) {
  result = await traceRun(args);
} else {
  const runs: Record<string, unknown> = {};
  for (const dialect of args.dialects) runs[dialect] = await checkinRun(dialect, args);
  result = runs;
}
if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
