/**
 * What a route's shape costs on this machine, as a share of a bare Fastify route. The
 * shapes are the bare route and the same route after a set amount of synchronous work or
 * after a round trip through a worker thread. A grouped round trip joins the requests of
 * one event-loop turn into one message, as the check-in writer does, with and without
 * work in each thread.
 * It calibrates bench/venue-checkin.ts by showing how much work per request the
 * check-in's 30 % target leaves room for.
 *
 *   npx tsx bench/route-costs.ts [--connections 10] [--duration 5] [--json]
 *
 * Load comes from autocannon in a child process (bench/_venue-load.mjs), as in the
 * check-in bench, with the same JSON bodies.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { makeName } from '../src/shared/synthetic.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const connections = option('connections', 10);
const duration = option('duration', 5);

interface LoadResult {
  rps: number;
  p99: number;
  requests: number;
  non2xx: number;
}

function load(url: string, bodies: string[]): Promise<LoadResult> {
  const child = fork(fileURLToPath(new URL('./_venue-load.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('error', reject);
    child.send({ url, paths: ['/r'], bodies, connections, duration });
  });
}

/** Busy-wait for `us` microseconds: work the route does in its own thread. */
function spin(us: number): void {
  const end = process.hrtime.bigint() + BigInt(us * 1000);
  while (process.hrtime.bigint() < end);
}

// An echo thread. It replies to each message with the same sequence numbers after
// busy-waiting the message's microseconds per sequence number (the writer's work per check-in).
const ECHO = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ seqs, us }) => {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * seqs.length * 1000));
  while (process.hrtime.bigint() < end);
  parentPort.postMessage(seqs);
});
`;

type Shape = { name: string; handler: (body: { name: string }) => unknown };

function shapes(worker: Worker): Shape[] {
  let seq = 0;
  const waiting = new Map<number, () => void>();
  worker.on('message', (seqs: number[]) => {
    for (const s of seqs) {
      waiting.get(s)?.();
      waiting.delete(s);
    }
  });
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      const s = ++seq;
      waiting.set(s, resolve);
      worker.postMessage({ seqs: [s], us: 0 });
    });

  // Requests read in one turn of the event loop go to the thread as one message.
  let batch: number[] = [];
  const batchedRoundTrip = (us: number) =>
    new Promise<void>((resolve) => {
      const s = ++seq;
      waiting.set(s, resolve);
      if (batch.length === 0) {
        setImmediate(() => {
          worker.postMessage({ seqs: batch, us });
          batch = [];
        });
      }
      batch.push(s);
    });

  const reply = (body: { name: string }) => ({ checkinId: 'x', duplicate: false, codeColor: 'green', name: body.name });
  return [
    { name: 'bare', handler: reply },
    { name: 'spin 20 µs', handler: (body) => (spin(20), reply(body)) },
    { name: 'spin 40 µs', handler: (body) => (spin(40), reply(body)) },
    { name: 'await setImmediate', handler: async (body) => (await new Promise((r) => setImmediate(r)), reply(body)) },
    { name: 'worker round trip', handler: async (body) => (await roundTrip(), reply(body)) },
    { name: 'batched worker round trip', handler: async (body) => (await batchedRoundTrip(0), reply(body)) },
    // The check-in's shape with a lean check-in: 40 µs in the HTTP thread, 30 µs per
    // check-in in the writer thread.
    { name: 'spin 40 µs + batched 30 µs', handler: async (body) => (spin(40), await batchedRoundTrip(30), reply(body)) },
  ];
}

const bodies = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ name: makeName(i), idNumber: '000000000000000000' }));
const worker = new Worker(ECHO, { eval: true });
const results: Array<{ shape: string; rps: number; p99: number; ratio: number }> = [];
let bare = 0;
for (const shape of shapes(worker)) {
  const app = Fastify({ logger: false });
  app.post('/r', async (request) => shape.handler(request.body as { name: string }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  await load(url, bodies); // warm-up, not counted
  const result = await load(url, bodies);
  await app.close();
  if (result.non2xx > 0) throw new Error(`${shape.name}: ${result.non2xx} replies were not 2xx`);
  if (shape.name === 'bare') bare = result.rps;
  results.push({ shape: shape.name, rps: result.rps, p99: result.p99, ratio: Number((result.rps / bare).toFixed(3)) });
}
await worker.terminate();
if (argv.includes('--json')) process.stdout.write(JSON.stringify({ connections, duration, results }) + '\n');
else for (const r of results) process.stdout.write(`${r.shape.padEnd(28)} ${String(r.rps).padStart(7)} rps  p99 ${r.p99} ms  ${(r.ratio * 100).toFixed(1)} %\n`);
