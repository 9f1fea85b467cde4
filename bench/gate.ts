/**
 * Gate decisions per second through the device API, against a bare Fastify route.
 *
 *   npx tsx bench/gate.ts [--connections 10] [--duration 10] [--rounds 3] [--people 3000] [--json]
 *   npx tsx bench/gate.ts --district [--district-people 200000] [--samples 2000] [--json]
 *
 * School run (SQLite): one school of `--people` persons with green codes and synthetic
 * random unit descriptors enrolled in the face gallery, one API lane. Autocannon posts
 * descriptors near an enrolled person, so they match, each with a unique event id. The
 * same bodies go to a bare Fastify route that parses the JSON and returns a small
 * object, with the same connections and duration. Both servers and autocannon run in
 * this process and share the machine's cores.
 *
 * District run (PostgreSQL at FANGKONG_TEST_PG_URL): `--district-people` persons in
 * schools of about 670, a throwaway database; it times descriptor matching and whole
 * decisions through the service for `--samples` events in one school.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContext, type AppContext } from '../src/context.js';
import { migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { buildPersonRow, createSchool, ensureClass } from '../src/modules/people/service.js';
import { assignCard } from '../src/modules/gate/cards.js';
import { createDevice } from '../src/modules/gate/devices.js';
import { identifyFaceDescriptor } from '../src/modules/gate/face-identity.js';
import { recordEntry } from '../src/modules/gate/service.js';
import { enrollSyntheticDescriptors } from './_gate-gallery.js';
import { FaceGallery } from '../src/modules/face/matcher.js';
import { createFieldCipher } from '../src/shared/crypto.js';
import { createLogger } from '../src/shared/logger.js';
import { instantOf } from '../src/shared/time.js';
import { randomUnitDescriptor } from '../tools/simulators/terminal.js';

interface Args {
  connections: number;
  duration: number;
  people: number;
  district: boolean;
  districtPeople: number;
  samples: number;
  rounds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  return {
    connections: value('connections', 10),
    duration: value('duration', 10),
    people: value('people', 3000),
    district: argv.includes('--district'),
    districtPeople: value('district-people', 200_000),
    samples: value('samples', 2000),
    rounds: value('rounds', 3),
    json: argv.includes('--json'),
  };
}

/** A seeded generator, so two runs enroll the same gallery. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Build a probe near an enrolled descriptor: small noise on each component, renormalised. */
function nearby(descriptor: number[], random: () => number): number[] {
  const noisy = descriptor.map((v) => v + (random() + random() + random() - 1.5) * 0.015);
  const norm = Math.sqrt(noisy.reduce((sum, v) => sum + v * v, 0));
  return noisy.map((v) => Number((v / norm).toFixed(6)));
}

interface Population {
  schoolId: string;
  schoolCode: string;
  persons: Array<{ id: string; descriptor: number[] }>;
}

/**
 * Insert a school of `count` pupils spread over `classCount` classes, all with green
 * codes. With `enrol`, each also gets a synthetic descriptor through the face service.
 */
async function populateSchool(ctx: AppContext, code: string, count: number, random: () => number, options: { classCount: number; enrol: boolean }): Promise<Population> {
  const school = await createSchool(ctx, { code, name: `压测学校${code}` });
  const classes = [];
  for (let i = 0; i < options.classCount; i++) classes.push(await ensureClass(ctx, school.id, 1 + Math.floor(i / 12), 1 + (i % 12)));

  const persons: Population['persons'] = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const row = buildPersonRow(ctx, { schoolId: school.id, kind: 'student', name: `学生${i}`, studentNumber: `${code}-${i}`, classId: classes[i % classes.length].id });
    rows.push(row);
    persons.push({ id: row.id, descriptor: randomUnitDescriptor(random) });
  }
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await ctx.db.insertInto('persons').values(chunk).execute();
    await ctx.db
      .insertInto('health_codes')
      .values(chunk.map((p) => ({ person_id: p.id, school_id: school.id, color: 'green' as const, bureau_updated_at: ctx.now(), fetched_at: ctx.now(), last_attempt_at: ctx.now(), last_failure: null, reason: null })))
      .execute();
  }
  if (options.enrol) await enrollSyntheticDescriptors(ctx, school.id, persons);
  return { schoolId: school.id, schoolCode: code, persons };
}

function contextFor(database: Db, dataDir: string, databaseUrl: string, now: () => number): AppContext {
  const config = Object.freeze({ ...loadConfig({ FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: databaseUrl }), logLevel: 'silent' });
  return createContext({ config, database, cipher: createFieldCipher(randomBytes(32)), log: createLogger('silent'), now });
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, path: string, headers: Record<string, string>, bodyOf: (n: number) => string, args: Args): Promise<LoadResult> {
  let n = 0;
  const result = await autocannon({
    url,
    connections: args.connections,
    duration: args.duration,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', ...headers },
        setupRequest: (request) => {
          n += 1;
          return { ...request, body: bodyOf(n) };
        },
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(3));
  return { p50: at(0.5), p99: at(0.99), max: Number(sorted[sorted.length - 1].toFixed(3)) };
}

async function schoolRun(args: Args) {
  const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-bench-gate-'));
  const database = openDb({ databaseUrl: '', dataDir });
  await migrateToLatest(database.db);
  const ctx = contextFor(database, dataDir, '', () => Date.now());
  const random = seededRandom(20261207);

  const population = await populateSchool(ctx, 'BENCH', args.people, random, { classCount: 72, enrol: true });
  const lane = await createDevice(ctx, { schoolCode: population.schoolCode, kind: 'api', name: '压测通道', lane: '东门' });
  const probes = Array.from({ length: 2000 }, () => JSON.stringify(nearby(population.persons[Math.floor(random() * population.persons.length)].descriptor, random)));
  const bodyOf = (n: number) => `{"eventId":"b${n}","occurredAt":${Date.now()},"temperature":36.5,"descriptor":${probes[n % probes.length]}}`;

  // Card swipes skip face matching, which shows what the rest of a decision costs.
  for (const [i, person] of population.persons.entries()) await assignCard(ctx, { schoolCode: population.schoolCode, cardNumber: `C${i}`, personId: person.id });
  const cardBodyOf = (n: number) => `{"eventId":"c${n}","occurredAt":${Date.now()},"temperature":36.5,"cardNumber":"C${n % population.persons.length}"}`;

  const bare = Fastify({ logger: false, bodyLimit: 6 * 1024 * 1024 });
  bare.post('/bare', async (request) => ({ decision: 'pass', reason: 'ok', prompt: '体温正常，请通行', size: (request.body as { descriptor: number[] }).descriptor.length }));
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
  const app = await buildApp(ctx);
  const appUrl = await app.listen({ port: 0, host: '127.0.0.1' });

  // Other work on a shared machine changes the speed from minute to minute, so the two
  // servers take turns and each pair of runs gives one ratio.
  const rounds: Array<{ baseline: LoadResult; gate: LoadResult; ratio: number; cardGate: LoadResult; cardRatio: number }> = [];
  const laneHeaders = { authorization: `Bearer ${lane.device.id}.${lane.key}` };
  for (let round = 0; round < args.rounds; round++) {
    const baseline = await load(bareUrl, '/bare', {}, bodyOf, args);
    const gate = await load(appUrl, '/api/devices/events', laneHeaders, bodyOf, args);
    const cardGate = await load(appUrl, '/api/devices/events', laneHeaders, cardBodyOf, args);
    rounds.push({ baseline, gate, ratio: Number((gate.rps / baseline.rps).toFixed(3)), cardGate, cardRatio: Number((cardGate.rps / baseline.rps).toFixed(3)) });
  }
  await bare.close();
  await app.close();

  const reasons = await ctx.db.selectFrom('gate_events').select(['reason', ctx.db.fn.countAll<number>().as('count')]).groupBy('reason').execute();

  // Where the time of one decision goes, measured one call at a time without HTTP.
  const matchMs: number[] = [];
  const recordMs: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const probe = Float32Array.from(JSON.parse(probes[i % probes.length]) as number[]);
    let started = performance.now();
    const face = await identifyFaceDescriptor(ctx, population.schoolId, probe);
    matchMs.push(performance.now() - started);
    started = performance.now();
    await recordEntry(ctx, { device: lane.device, eventId: `serial${i}`, occurredAt: Date.now(), method: 'face', identity: face.identity, temperatureC: 36.5, face: { distance: face.distance, margin: face.margin } });
    recordMs.push(performance.now() - started);
  }
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    people: args.people,
    connections: args.connections,
    durationS: args.duration,
    rounds,
    medianRatio: [...rounds.map((r) => r.ratio)].sort((a, b) => a - b)[Math.floor(rounds.length / 2)],
    reasons: Object.fromEntries(reasons.map((r) => [r.reason, Number(r.count)])),
    serialMs: { match: percentiles(matchMs), record: percentiles(recordMs) },
  };
}

async function districtRun(args: Args) {
  const adminUrl = process.env.FANGKONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `fk_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-bench-district-'));
  const database = openDb({ databaseUrl: url.toString(), dataDir });
  try {
    await migrateToLatest(database.db);
    let clock = instantOf('2026-12-07', '07:20');
    const ctx = contextFor(database, dataDir, url.toString(), () => clock);
    const random = seededRandom(200000);

    const perSchool = 670;
    const schools = Math.ceil(args.districtPeople / perSchool);
    const started = performance.now();
    let target: Population | undefined;
    const everyone: Population['persons'] = [];
    for (let s = 0; s < schools; s++) {
      const count = Math.min(perSchool, args.districtPeople - s * perSchool);
      // Only the measured school is enrolled through the face service; matching is per school.
      const population = await populateSchool(ctx, `D${s}`, count, random, { classCount: 6, enrol: s === 0 });
      if (s === 0) target = population;
      everyone.push(...population.persons);
    }
    const populateS = Math.round((performance.now() - started) / 1000);

    const lane = await createDevice(ctx, { schoolCode: target!.schoolCode, kind: 'api', name: '压测通道' });
    const matchMs: number[] = [];
    const decisionMs: number[] = [];
    for (let i = 0; i < args.samples; i++) {
      const person = target!.persons[Math.floor(random() * target!.persons.length)];
      const probe = Float32Array.from(nearby(person.descriptor, random));
      let t0 = performance.now();
      const face = await identifyFaceDescriptor(ctx, target!.schoolId, probe);
      matchMs.push(performance.now() - t0);

      clock += 500;
      t0 = performance.now();
      await recordEntry(ctx, { device: lane.device, eventId: `d${i}`, occurredAt: clock, method: 'face', identity: face.identity, temperatureC: 36.5, face: { distance: face.distance, margin: face.margin } });
      decisionMs.push(performance.now() - t0);
    }

    // The worst case: one gallery of every person in the district (a district-wide lane).
    const district = new FaceGallery();
    for (const person of everyone) district.add(person.id, person.descriptor);
    const districtMatchMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const probe = Float32Array.from(nearby(everyone[Math.floor(random() * everyone.length)].descriptor, random));
      const t0 = performance.now();
      district.search(probe);
      districtMatchMs.push(performance.now() - t0);
    }
    return {
      people: args.districtPeople,
      schools,
      populateS,
      samples: args.samples,
      schoolGalleryMatchMs: percentiles(matchMs),
      recordMs: percentiles(decisionMs),
      districtGalleryMatchMs: percentiles(districtMatchMs),
    };
  } finally {
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const args = parseArgs(process.argv.slice(2));
const result = args.district ? await districtRun(args) : await schoolRun(args);
if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
