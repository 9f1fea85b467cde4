/**
 * Daily reports on PostgreSQL: building one 3,000-person school's report, and the
 * district view of 300 schools (200,000 people, 30 days of history), each beside a plain
 * `SELECT count(*)` over the same gate events in the same run.
 *
 *   npm run bench -- reports-district            (about 5 minutes on 2 cores)
 *   npx tsx bench/reports-district.ts [--people 200000] [--schools 300] [--days 30] [--runs 5] [--json]
 *
 * The data is synthetic and generated inside PostgreSQL with INSERT ... SELECT over
 * generate_series, in a throwaway database at FANGKONG_TEST_PG_URL. One school has 3,000
 * pupils in 72 classes, and the other people are spread over the remaining schools. Each
 * person has a code (2 % yellow, 1 % stale, the rest green) and, on each of the `--days`
 * days, one gate event (about 96 % passes, 0.2 % fevers) with its attendance row. The reports of
 * the earlier days are inserted as submitted rows whose key figures are aggregated from
 * attendance by one SQL statement; their JSON content is a stub, because the district
 * view reads only the figure columns. Today's report of every school is built and
 * submitted through the service, like the 16:30 job would.
 *
 * School build: median of `--runs` builds of the big school's report through
 * buildReport, against `SELECT count(*) FROM gate_events WHERE school_id = $1 AND day = $2`.
 * District view: median of `--runs` calls of getDistrictDay plus getDistrictTrend (30
 * days), against `SELECT count(*) FROM gate_events WHERE day BETWEEN $1 AND $2` over the
 * whole period.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';
import { migrateToLatest, openDb } from '../src/db/connection.js';
import { createSchool, getSchoolByCodeOrThrow } from '../src/modules/people/service.js';
import { getDistrictDay, getDistrictTrend } from '../src/modules/reports/district.js';
import { buildReport, submitReport } from '../src/modules/reports/service.js';
import { createFieldCipher } from '../src/shared/crypto.js';
import { createLogger } from '../src/shared/logger.js';
import { instantOf, schoolDay } from '../src/shared/time.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const PEOPLE = option('people', 200_000);
const SCHOOLS = option('schools', 300);
const DAYS = option('days', 30);
const RUNS = option('runs', 5);
const BIG_SCHOOL = 3000;
const TODAY = '2026-12-07';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

const adminUrl = process.env.FANGKONG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `fk_bench_reports_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-bench-reports-'));
const database = openDb({ databaseUrl: url.toString(), dataDir });
const sqlClient = new pg.Client({ connectionString: url.toString() });

try {
  await migrateToLatest(database.db);
  await sqlClient.connect();
  let clock = instantOf(TODAY, '16:30');
  const config = Object.freeze({ ...loadConfig({ FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: url.toString() }), logLevel: 'silent' });
  const ctx = createContext({ config, database, cipher: createFieldCipher(randomBytes(32)), log: createLogger('silent'), now: () => clock });

  const generation = performance.now();
  const schoolIds: string[] = [];
  for (let s = 0; s < SCHOOLS; s++) schoolIds.push((await createSchool(ctx, { code: `B${String(s).padStart(3, '0')}`, name: `基准第${s + 1}学校` })).id);
  const days = Array.from({ length: DAYS }, (_, i) => schoolDay(instantOf(TODAY, '12:00') - (DAYS - 1 - i) * 86_400_000));

  // School 0 has 3,000 pupils in 72 classes (6 grades x 12); the others share the rest, 24 classes each.
  const others = PEOPLE - BIG_SCHOOL;
  const perOther = Math.ceil(others / (SCHOOLS - 1));
  await sqlClient.query('CREATE TEMP TABLE bench_schools (n int, id text)');
  await sqlClient.query(`INSERT INTO bench_schools SELECT ord - 1, id FROM unnest($1::text[]) WITH ORDINALITY AS t(id, ord)`, [schoolIds]);
  await sqlClient.query(`
    INSERT INTO classes (id, school_id, grade, number, name)
    SELECT 'c' || s.n || '-' || g || '-' || k, s.id, g, k, g || '(' || k || ')班'
    FROM bench_schools s, generate_series(1, 6) g, generate_series(1, CASE WHEN s.n = 0 THEN 12 ELSE 4 END) k`);
  const now = instantOf(TODAY, '04:30');
  await sqlClient.query(
    `
    INSERT INTO persons (id, school_id, kind, name, class_id, active, created_at, updated_at)
    SELECT 'p' || i, s.id, 'student', '学生' || i,
           'c' || s.n || '-' || (1 + (i / 7) % 6) || '-' || (1 + i % CASE WHEN s.n = 0 THEN 12 ELSE 4 END),
           1, $1::bigint, $1::bigint
    FROM generate_series(0, $2::int - 1) i
    JOIN bench_schools s ON s.n = CASE WHEN i < $3::int THEN 0 ELSE 1 + (i - $3::int) / $4::int END`,
    [now, PEOPLE, BIG_SCHOOL, perOther],
  );
  await sqlClient.query(
    `
    INSERT INTO health_codes (person_id, school_id, color, bureau_updated_at, fetched_at, last_attempt_at)
    SELECT id, school_id, CASE WHEN abs(hashtext(id)) % 50 = 0 THEN 'yellow' ELSE 'green' END, $1::bigint,
           CASE WHEN abs(hashtext(id || 's')) % 100 = 0 THEN $1::bigint - 3 * 86400000 ELSE $1::bigint END, $1::bigint
    FROM persons`,
    [now],
  );
  await sqlClient.query(`
    INSERT INTO devices (id, school_id, name, direction, kind, key_hash, created_at, active)
    SELECT 'd' || n, id, '东门', 'in', 'api', 'bench', 0, 1 FROM bench_schools`);

  for (const day of days) {
    const base = instantOf(day, '07:30');
    await sqlClient.query(
      `
      INSERT INTO gate_events (id, school_id, device_id, event_id, occurred_at, received_at, day, person_id, method, temperature, code_color, code_stale, decision, reason, prompt, flags)
      SELECT 'g' || $1::text || p.id, p.school_id, 'd' || s.n, $1::text || p.id, $2::bigint + (abs(hashtext(p.id)) % 3600000), $2::bigint + (abs(hashtext(p.id)) % 3600000), $1::text, p.id, 'face',
             CASE WHEN r < 2 THEN 37.8 ELSE 36.5 END, 'green', 0,
             CASE WHEN r < 40 THEN 'deny' ELSE 'pass' END, CASE WHEN r < 2 THEN 'fever' WHEN r < 40 THEN 'code_yellow' ELSE 'ok' END, '', '[]'
      FROM (SELECT id, school_id, abs(hashtext(id || $1::text)) % 1000 AS r FROM persons) p
      JOIN bench_schools s ON s.id = p.school_id`,
      [day, base],
    );
    await sqlClient.query(
      `
      INSERT INTO attendance (person_id, day, school_id, first_pass_at, late, gate_event_id, source)
      SELECT person_id, day, school_id, occurred_at, CASE WHEN occurred_at > $2::bigint THEN 1 ELSE 0 END, id, 'gate'
      FROM gate_events WHERE day = $1::text AND decision = 'pass'`,
      [day, instantOf(day, '08:00')],
    );
  }

  // Earlier days: submitted version 1 of every school, figures aggregated from the rows above.
  await sqlClient.query(
    `
    INSERT INTO daily_reports (id, school_id, district_id, day, version, status, trigger, built_at, built_by_name, submitted_at, submitted_by_name, changes, content,
                               expected_count, arrived_count, absent_count, late_count, fever_count, non_green_count, stale_count,
                               illness_absence_count, open_follow_up_count, cluster_count, visitor_count, is_zero)
    SELECT 'r' || sc.id || d.day, sc.id, sc.district_id, d.day, 1, 'submitted', 'schedule', 0, '基准', 0, '基准', '[]', '{}',
           e.expected, coalesce(a.arrived, 0), e.expected - coalesce(a.arrived, 0), coalesce(a.late, 0), coalesce(f.fevers, 0), 0, 0, 0, 0, 0, 0,
           CASE WHEN coalesce(f.fevers, 0) = 0 THEN 1 ELSE 0 END
    FROM schools sc
    CROSS JOIN unnest($1::text[]) AS d(day)
    JOIN (SELECT school_id, count(*) AS expected FROM persons GROUP BY school_id) e ON e.school_id = sc.id
    LEFT JOIN (SELECT school_id, day, count(*) AS arrived, sum(late) AS late FROM attendance GROUP BY school_id, day) a ON a.school_id = sc.id AND a.day = d.day
    LEFT JOIN (SELECT school_id, day, count(DISTINCT person_id) AS fevers FROM gate_events WHERE reason = 'fever' GROUP BY school_id, day) f ON f.school_id = sc.id AND f.day = d.day`,
    [days.slice(0, -1)],
  );
  await sqlClient.query('ANALYZE');
  const generationS = (performance.now() - generation) / 1000;
  const eventCount = Number((await sqlClient.query('SELECT count(*) AS n FROM gate_events')).rows[0].n);

  // Today's reports of every school through the service, as the 16:30 job and the admins would.
  const actor = { userId: null, name: '基准' };
  const buildAll = performance.now();
  for (const code of schoolIds.map((_, s) => `B${String(s).padStart(3, '0')}`)) {
    const school = await getSchoolByCodeOrThrow(ctx, code);
    await buildReport(ctx, school, TODAY, actor, 'schedule');
    await submitReport(ctx, school, TODAY, actor, undefined);
  }
  const buildAllS = (performance.now() - buildAll) / 1000;
  clock = instantOf(TODAY, '17:40');

  // One school's report against a count of its day's gate events.
  const big = await getSchoolByCodeOrThrow(ctx, 'B000');
  const schoolCount: number[] = [];
  const schoolBuild: number[] = [];
  let built = await buildReport(ctx, big, TODAY, actor);
  for (let run = 0; run < RUNS; run++) {
    schoolCount.push((await timed(() => sqlClient.query('SELECT count(*) FROM gate_events WHERE school_id = $1 AND day = $2', [big.id, TODAY]))).ms);
    const build = await timed(() => buildReport(ctx, big, TODAY, actor));
    schoolBuild.push(build.ms);
    built = build.value;
  }

  // The district view against a count of the period's gate events.
  const districtCount: number[] = [];
  const districtView: number[] = [];
  let view = await getDistrictDay(ctx, undefined, TODAY);
  for (let run = 0; run < RUNS; run++) {
    districtCount.push((await timed(() => sqlClient.query('SELECT count(*) FROM gate_events WHERE day BETWEEN $1 AND $2', [days[0], TODAY]))).ms);
    const result = await timed(async () => {
      const day = await getDistrictDay(ctx, undefined, TODAY);
      await getDistrictTrend(ctx, undefined, TODAY, DAYS);
      return day;
    });
    districtView.push(result.ms);
    view = result.value;
  }

  const result = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadAverage: loadavg().map((v) => Number(v.toFixed(2))) },
    data: { people: PEOPLE, schools: SCHOOLS, days: DAYS, gateEvents: eventCount, generationS: Number(generationS.toFixed(0)), buildAndSubmitAllTodayS: Number(buildAllS.toFixed(1)) },
    school: {
      pupils: built.figures.expected,
      gateEventsToday: Number((await sqlClient.query('SELECT count(*) AS n FROM gate_events WHERE school_id = $1 AND day = $2', [big.id, TODAY])).rows[0].n),
      buildMedianMs: Number(median(schoolBuild).toFixed(1)),
      countMedianMs: Number(median(schoolCount).toFixed(1)),
      ratio: Number((median(schoolBuild) / median(schoolCount)).toFixed(1)),
      runsMs: schoolBuild.map((v) => Number(v.toFixed(0))),
    },
    district: {
      schoolsSubmitted: view.totals.submitted,
      viewMedianMs: Number(median(districtView).toFixed(1)),
      countMedianMs: Number(median(districtCount).toFixed(1)),
      ratio: Number((median(districtView) / median(districtCount)).toFixed(3)),
      runsMs: districtView.map((v) => Number(v.toFixed(0))),
      withinTwoSeconds: median(districtView) < 2000,
    },
  };
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
  else {
    console.log(`data: ${PEOPLE} people in ${SCHOOLS} schools, ${DAYS} days, ${eventCount} gate events; generated in ${result.data.generationS} s; today's ${SCHOOLS} reports built and submitted in ${result.data.buildAndSubmitAllTodayS} s`);
    console.log(`school report (${result.school.pupils} pupils, ${result.school.gateEventsToday} events today): build median ${result.school.buildMedianMs} ms vs count(*) ${result.school.countMedianMs} ms (${result.school.ratio}x)`);
    console.log(`district view (day + ${DAYS}-day trend, ${result.district.schoolsSubmitted} schools submitted): median ${result.district.viewMedianMs} ms vs count(*) over ${DAYS} days ${result.district.countMedianMs} ms (${result.district.ratio}x); under 2 s: ${result.district.withinTwoSeconds}`);
    console.log(`load average at the end: ${result.machine.loadAverage.join(' ')}`);
  }
} catch (error) {
  console.error('benchmark failed:', error);
  process.exitCode = 1;
} finally {
  await sqlClient.end().catch(() => undefined);
  await database.close();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(dataDir, { recursive: true, force: true });
}
