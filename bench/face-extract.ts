/**
 * Face extraction and matching speed, and memory over many extractions.
 *
 *   npx tsx bench/face-extract.ts [--runs N] [--memory-runs N] [--queries N] [--json]
 *
 * Extraction: a 640x480 JPEG with one face (made from a fixture photo), decoded and
 * described end to end with the product's code on the tfjs wasm backend, which runs on one
 * thread in Node.js. A tight 150x150 crop, which needs the padded second pass, is timed
 * as a second row. Memory: tensors and RSS before and after --memory-runs extractions.
 * Matching: queries against 3,000 and 200,000 synthetic descriptors, with the int8 SIMD
 * prefilter and, as the baseline in the same run, the plain float32 scan.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { quantile } from '../src/modules/face/calibration.js';
import { DEFAULT_EXTRACT_OPTIONS, extractDescriptor } from '../src/modules/face/extract.js';
import { FaceGallery } from '../src/modules/face/matcher.js';
import { loadFaceModels } from '../src/modules/face/model.js';

const FIXTURES = 'test/fixtures/faces';

interface Timing {
  runs: number;
  medianMs: number;
  p90Ms: number;
  /** Median CPU time (user + system) of the process per run; waiting for a busy core is not counted. */
  cpuMedianMs?: number;
}

function timing(samples: number[], cpuSamples?: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const result: Timing = { runs: sorted.length, medianMs: round(quantile(sorted, 0.5)), p90Ms: round(quantile(sorted, 0.9)) };
  if (cpuSamples) result.cpuMedianMs = round(quantile([...cpuSamples].sort((a, b) => a - b), 0.5));
  return result;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function timeExtraction(photo: Buffer, runs: number): Promise<Timing> {
  const samples: number[] = [];
  const cpuSamples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await extractDescriptor(photo, DEFAULT_EXTRACT_OPTIONS);
    const cpu = process.cpuUsage(cpuStarted);
    samples.push(performance.now() - started);
    cpuSamples.push((cpu.user + cpu.system) / 1000);
  }
  return timing(samples, cpuSamples);
}

/** Deterministic pseudo-random numbers (mulberry32), so every run uses the same gallery. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Make a synthetic descriptor with components ~ N(0, spread) around `center`. With spread
 * 0.06 two random ones lie about 0.96 apart, a little beyond the impostor median measured
 * on the fixtures (0.83). A query made with spread 0.02 around a row lies about 0.32 from it.
 */
function synthetic(next: () => number, spread: number, center?: Float32Array): Float32Array {
  const out = new Float32Array(128);
  for (let i = 0; i < 128; i++) {
    const u = Math.max(next(), 1e-12);
    const gaussian = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    out[i] = (center ? center[i] : 0) + gaussian * spread;
  }
  return out;
}

async function timeMatching(size: number, queries: number): Promise<{ size: number; prefiltered: Timing; float32Scan: Timing; correct: number }> {
  const next = random(size);
  const rows: Float32Array[] = [];
  const prefiltered = new FaceGallery({ initialCapacity: size });
  const plain = new FaceGallery({ initialCapacity: size, prefilter: 'off' });
  for (let i = 0; i < size; i++) {
    const row = synthetic(next, 0.06);
    rows.push(row);
    prefiltered.add(`p${i}`, row);
    plain.add(`p${i}`, row);
  }

  const fast: number[] = [];
  const slow: number[] = [];
  let correct = 0;
  for (let q = 0; q < queries; q++) {
    const target = Math.floor(next() * size);
    const query = synthetic(next, 0.02, rows[target]);

    let started = performance.now();
    const result = prefiltered.search(query);
    fast.push(performance.now() - started);
    if (result.best?.personId === `p${target}`) correct += 1;

    started = performance.now();
    plain.search(query);
    slow.push(performance.now() - started);
  }
  return { size, prefiltered: timing(fast), float32Scan: timing(slow), correct };
}

function readCount(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a whole number of at least 1`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = readCount(args, 'runs', 50);
  const memoryRuns = readCount(args, 'memory-runs', 1000);
  const queries = readCount(args, 'queries', 200);

  const models = await loadFaceModels();
  const photo = await sharp(readFileSync(join(FIXTURES, 'face_recognition/obama/obama.jpg')))
    .resize(640, 480, { fit: 'cover', position: 'top' })
    .jpeg({ quality: 90 })
    .toBuffer();
  const tightCrop = readFileSync(join(FIXTURES, 'faceapi-bbt/sheldon/sheldon1.png'));

  await timeExtraction(photo, 5);
  const extraction640 = await timeExtraction(photo, runs);
  const extractionTightCrop = await timeExtraction(tightCrop, Math.max(5, Math.round(runs / 5)));

  const tensorsBefore = models.tf.memory().numTensors;
  const rssBefore = process.memoryUsage().rss;
  const rssSamples: number[] = [];
  const memoryStarted = performance.now();
  for (let i = 0; i < memoryRuns; i++) {
    await extractDescriptor(photo, DEFAULT_EXTRACT_OPTIONS);
    if ((i + 1) % 100 === 0) rssSamples.push(Math.round(process.memoryUsage().rss / 1024 / 1024));
  }
  const memory = {
    extractions: memoryRuns,
    seconds: round((performance.now() - memoryStarted) / 1000),
    tensorsBefore,
    tensorsAfter: models.tf.memory().numTensors,
    rssBeforeMb: Math.round(rssBefore / 1024 / 1024),
    rssAfterMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    rssEvery100Mb: rssSamples,
  };

  const matching = [await timeMatching(3000, queries), await timeMatching(200_000, queries)];
  const report = { backend: models.backend, modelLoadMs: Math.round(models.loadMs), extraction640, extractionTightCrop, memory, matching };

  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  const lines = [
    `backend ${report.backend}, models loaded in ${report.modelLoadMs} ms`,
    `extraction, 640x480 JPEG, one face: median ${extraction640.medianMs} ms, p90 ${extraction640.p90Ms} ms, CPU median ${extraction640.cpuMedianMs} ms (${extraction640.runs} runs)`,
    `extraction, 150x150 tight crop (padded second pass): median ${extractionTightCrop.medianMs} ms, p90 ${extractionTightCrop.p90Ms} ms, CPU median ${extractionTightCrop.cpuMedianMs} ms (${extractionTightCrop.runs} runs)`,
    `memory over ${memory.extractions} extractions (${memory.seconds} s): tensors ${memory.tensorsBefore} -> ${memory.tensorsAfter}, RSS ${memory.rssBeforeMb} -> ${memory.rssAfterMb} MB; every 100: ${memory.rssEvery100Mb.join(' ')}`,
  ];
  for (const m of matching) {
    lines.push(
      `matching ${m.size} descriptors: prefilter median ${m.prefiltered.medianMs} ms, p90 ${m.prefiltered.p90Ms} ms; float32 scan median ${m.float32Scan.medianMs} ms, p90 ${m.float32Scan.p90Ms} ms; nearest correct ${m.correct}/${m.prefiltered.runs}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
