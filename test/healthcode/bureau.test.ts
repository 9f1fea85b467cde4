import { createHash, createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startBureauSimulator, type BureauSimulator, type BureauSimulatorOptions } from '../../tools/simulators/bureau.js';
import { BureauClient, type BureauClientOptions } from '../../src/modules/healthcode/bureau-client.js';
import { makeIdNumber } from '../../src/shared/synthetic.js';

const KEY = 'test-app';
const SECRET = 'test-secret-0123456789';
const ids = Array.from({ length: 5 }, (_, i) => makeIdNumber(100 + i, '2017-05-0' + (i + 1)));

let simulator: BureauSimulator | undefined;
let client: BureauClient | undefined;

afterEach(async () => {
  await client?.close();
  await simulator?.close();
  client = undefined;
  simulator = undefined;
});

async function setUp(sim: Partial<BureauSimulatorOptions> = {}, cli: Partial<BureauClientOptions> = {}) {
  simulator = await startBureauSimulator({ appKey: KEY, appSecret: SECRET, ...sim });
  client = new BureauClient({
    url: simulator.url,
    appKey: KEY,
    appSecret: SECRET,
    concurrency: 2,
    requestsPerSecond: 200,
    timeoutMs: 300,
    maxAttempts: 4,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
    ...cli,
  });
  return { simulator, client };
}

/** Send a raw signed query, so the tests can break one part of the protocol at a time. */
async function rawQuery(url: string, options: { body?: string; secret?: string; timestamp?: number; nonce?: string; appKey?: string } = {}) {
  const body = options.body ?? JSON.stringify({ idNumbers: [ids[0]] });
  const timestamp = String(options.timestamp ?? Date.now());
  const nonce = options.nonce ?? Math.random().toString(36).slice(2);
  const canonical = ['POST', '/v1/health-codes/query', timestamp, nonce, createHash('sha256').update(body).digest('hex')].join('\n');
  const signature = createHmac('sha256', options.secret ?? SECRET).update(canonical).digest('hex');
  const response = await fetch(`${url}/v1/health-codes/query`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-app-key': options.appKey ?? KEY, 'x-timestamp': timestamp, 'x-nonce': nonce, 'x-signature': signature },
  });
  return { status: response.status, body: await response.text() };
}

describe('bureau simulator protocol', () => {
  it('answers a signed query', async () => {
    const { simulator } = await setUp({ unknownIdNumbers: [ids[1]], unauthorizedIdNumbers: [ids[2]] });
    simulator.setCode(ids[3], 'red', { reason: '密接' });
    const response = await rawQuery(simulator.url, { body: JSON.stringify({ idNumbers: [ids[0], ids[1], ids[2], ids[3], '123'] }) });
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body);
    expect(body.results.map((r: { color: string }) => r.color)).toEqual(['green', 'red']);
    expect(body.results[1].reason).toBe('密接');
    expect(body.notFound).toEqual([ids[1], '123']);
    expect(body.unauthorized).toEqual([ids[2]]);
  });

  it('rejects a wrong secret, unknown key, old timestamp and reused nonce with 401', async () => {
    const { simulator } = await setUp();
    expect((await rawQuery(simulator.url, { secret: 'wrong' })).status).toBe(401);
    expect((await rawQuery(simulator.url, { appKey: 'other' })).status).toBe(401);
    expect((await rawQuery(simulator.url, { timestamp: Date.now() - 5 * 60_000 - 1000 })).status).toBe(401);
    expect((await rawQuery(simulator.url, { timestamp: Date.now() + 5 * 60_000 + 1000 })).status).toBe(401);
    expect((await rawQuery(simulator.url, { nonce: 'n-1' })).status).toBe(200);
    const replay = await rawQuery(simulator.url, { nonce: 'n-1' });
    expect(replay.status).toBe(401);
    expect(replay.body).toContain('nonce');
  });

  it('rejects bad bodies with 400', async () => {
    const { simulator } = await setUp();
    expect((await rawQuery(simulator.url, { body: 'not json' })).status).toBe(400);
    expect((await rawQuery(simulator.url, { body: '{"idNumbers":[]}' })).status).toBe(400);
    expect((await rawQuery(simulator.url, { body: JSON.stringify({ idNumbers: Array(101).fill(ids[0]) }) })).status).toBe(400);
    expect((await rawQuery(simulator.url, { body: '{"idNumbers":[1]}' })).status).toBe(400);
  });

  it('applies scheduled changes when their time comes', async () => {
    let now = Date.now();
    const { simulator } = await setUp({ now: () => now, schedule: [{ at: now + 60_000, idNumber: ids[0], color: 'yellow' }] });
    expect(JSON.parse((await rawQuery(simulator.url, { timestamp: now })).body).results[0].color).toBe('green');
    now += 61_000;
    expect(JSON.parse((await rawQuery(simulator.url, { timestamp: now })).body).results[0].color).toBe('yellow');
  });

  it('is driven over HTTP through /_sim', async () => {
    const { simulator } = await setUp();
    const set = await fetch(`${simulator.url}/_sim/codes`, { method: 'POST', body: JSON.stringify({ idNumber: ids[0], color: 'yellow' }) });
    expect(set.status).toBe(200);
    const bad = await fetch(`${simulator.url}/_sim/codes`, { method: 'POST', body: JSON.stringify({ idNumber: ids[0], color: 'blue' }) });
    expect(bad.status).toBe(400);
    await fetch(`${simulator.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ sequence: ['error'] }) });
    expect((await rawQuery(simulator.url)).status).toBeGreaterThanOrEqual(500);
    expect(JSON.parse((await rawQuery(simulator.url)).body).results[0].color).toBe('yellow');
    const stats = await (await fetch(`${simulator.url}/_sim/stats`)).json();
    expect(stats.requests).toBe(2);
    expect(stats.byStatus['200']).toBe(1);
  });

  it('refuses a non-loopback host', async () => {
    await expect(startBureauSimulator({ appKey: KEY, appSecret: SECRET, host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});

describe('bureau client', () => {
  it('fetches a batch', async () => {
    const { client, simulator } = await setUp({ unknownIdNumbers: [ids[4]] });
    simulator.setCode(ids[1], 'yellow');
    const outcome = await client.queryBatch(ids);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.results.find((r) => r.idNumber === ids[1])?.color).toBe('yellow');
    expect(outcome.notFound).toEqual([ids[4]]);
    expect(outcome.attempts).toBe(1);
  });

  it.each(['error', 'garbage', 'drop', 'timeout'] as const)('retries after %s and succeeds', async (fault) => {
    const { client, simulator } = await setUp({ faults: { sequence: [fault, fault] } });
    const outcome = await client.queryBatch(ids);
    expect(outcome.ok).toBe(true);
    expect(outcome.attempts).toBe(3);
    const stats = simulator.stats();
    expect(stats.byStatus['200']).toBe(fault === 'garbage' ? 3 : 1);
  });

  it('waits Retry-After on 429 before the next request', async () => {
    const { client, simulator } = await setUp({ faults: { sequence: ['rate_limit'], retryAfterSeconds: 1 } });
    const started = performance.now();
    const outcome = await client.queryBatch(ids);
    const elapsed = performance.now() - started;
    expect(outcome.ok).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(simulator.stats().byStatus['429']).toBe(1);
  });

  it('fails a batch whose Retry-After exceeds the limit', async () => {
    const { client } = await setUp({ faults: { sequence: ['rate_limit'], retryAfterSeconds: 30 } }, { maxRetryAfterMs: 2000 });
    const outcome = await client.queryBatch(ids);
    expect(outcome).toMatchObject({ ok: false, kind: 'rate_limited', fatal: false });
  });

  it('gives up after maxAttempts during an outage', async () => {
    const { client, simulator } = await setUp({ faults: { outage: true } });
    const outcome = await client.queryBatch(ids);
    expect(outcome).toMatchObject({ ok: false, kind: 'server_error', attempts: 4, fatal: false });
    expect(simulator.stats().byStatus['503']).toBe(4);
  });

  it('stops at once on a rejected signature', async () => {
    const { client, simulator } = await setUp({}, { appSecret: 'wrong-secret' });
    const outcome = await client.queryBatch(ids);
    expect(outcome).toMatchObject({ ok: false, kind: 'unauthorized', attempts: 1, fatal: true });
    if (!outcome.ok) expect(outcome.message).toContain('401');
    expect(simulator.stats().byStatus['401']).toBe(1);
  });

  it('reports a timeout when the bureau never answers', async () => {
    const { client } = await setUp({ faults: { timeoutRate: 1 } }, { maxAttempts: 2 });
    const started = performance.now();
    const outcome = await client.queryBatch(ids);
    expect(outcome).toMatchObject({ ok: false, kind: 'timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
  });

  it('keeps to its requests-per-second limit and concurrency', async () => {
    const { client, simulator } = await setUp({ latencyMs: 30 }, { requestsPerSecond: 20, concurrency: 2 });
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 11 }, () => client.queryBatch([ids[0]])));
    const elapsed = performance.now() - started;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // 11 requests at 20 per second: the last starts at least 500 ms after the first.
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(simulator.stats().maxInFlight).toBeLessThanOrEqual(2);
  });

  it('obeys the server limit: a client above it sees 429 and still finishes', async () => {
    const { client, simulator } = await setUp({ requestsPerSecond: 5, faults: { retryAfterSeconds: 1 } }, { requestsPerSecond: 100, maxAttempts: 6 });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => client.queryBatch([ids[0]])));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(simulator.stats().byStatus['429']).toBeGreaterThan(0);
  });

  it('rejects batches larger than 100', async () => {
    const { client } = await setUp();
    await expect(client.queryBatch(Array(101).fill(ids[0]))).rejects.toThrow(/1 to 100/);
  });
});
