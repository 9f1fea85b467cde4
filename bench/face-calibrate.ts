/**
 * Face threshold calibration on the labelled fixture photos.
 *
 *   npx tsx bench/face-calibrate.ts [--fixtures DIR] [--sets A,B] [--per-identity N] [--identities N] [--json]
 *
 * Extracts the descriptor of every photo under DIR/<set>/<person>/ (by default the sets
 * faceapi-bbt and face_recognition of test/fixtures/faces) with the product's extraction
 * code, then prints every
 * genuine and impostor pair distance summary, the TAR at FAR <= 0.1 % with its threshold,
 * leave-one-out margins, and what the detector does on the masked photos. The tests import
 * `calibrate` and `measureMasks` with fewer photos.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  leaveOneOut,
  leavePersonOut,
  operatingPoint,
  operatingPointAtFar,
  pairDistances,
  summarize,
  type IdentificationTrial,
  type LabelledDescriptor,
  type OperatingPoint,
  type Summary,
} from '../src/modules/face/calibration.js';
import { euclideanDistance } from '../src/modules/face/descriptor.js';
import { DEFAULT_EXTRACT_OPTIONS, extractDescriptor, type ExtractOptions } from '../src/modules/face/extract.js';
import { DEFAULT_MATCH_THRESHOLDS } from '../src/modules/face/face-settings.js';
import { decideMatch } from '../src/modules/face/matcher.js';
import { isFaceRejection } from '../src/modules/face/rejection.js';

export const LABELLED_SETS = ['faceapi-bbt', 'face_recognition'] as const;

/** Folders inside the labelled sets that are not one identity each. */
const NOT_IDENTITIES = new Set(['multi', 'edge', 'group', 'obama-resolutions']);

const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;

export interface CalibrationOptions {
  fixturesDir: string;
  /** Use at most this many photos per identity (in name order). */
  maxPerIdentity?: number;
  /** Use at most this many identities per set (in name order). */
  maxIdentities?: number;
  /** Folders under fixturesDir with one sub-folder per identity; LABELLED_SETS by default. */
  sets?: readonly string[];
  extract?: ExtractOptions;
}

export interface PhotoResult {
  set: string;
  identity: string;
  file: string;
  ok: boolean;
  reason?: string;
  score?: number;
  padded?: boolean;
  /** The mask check's verdict; every labelled photo is unmasked, so true is a false alarm. */
  masked?: boolean;
  ms: number;
}

export interface CalibrationReport {
  photos: PhotoResult[];
  identities: number;
  descriptors: number;
  pairs: { genuine: number; impostor: number };
  genuine: Summary;
  impostor: Summary;
  atFar001: OperatingPoint;
  atDefaults: OperatingPoint;
  /** The threshold face-api's examples use, for comparison. */
  atCustomary: OperatingPoint;
  /** Threshold minus weak band: pairs at or under it are a 'match'. */
  atMatchLimit: OperatingPoint;
  /** Leave-one-out: rank-1 correct share and margins (second minus best) of correct trials. */
  rank1: number;
  correctMargins: Summary;
  /** Correct leave-one-out trials whose margin is under the default minMargin. */
  correctUnderMinMargin: number;
  wrongTrials: IdentificationTrial[];
  /** Open set: nearest other person's distance for every photo. */
  strangerBest: Summary;
  /** Decisions the defaults give in both trial kinds. */
  decisions: { genuine: Record<string, number>; stranger: Record<string, number> };
}

/** Photos of the labelled sets, as [set, identity, path]. */
export function listLabelledPhotos(options: CalibrationOptions): Array<{ set: string; identity: string; path: string }> {
  const out: Array<{ set: string; identity: string; path: string }> = [];
  for (const set of options.sets ?? LABELLED_SETS) {
    const setDir = join(options.fixturesDir, set);
    const identities = readdirSync(setDir)
      .filter((name) => !NOT_IDENTITIES.has(name) && statSync(join(setDir, name)).isDirectory())
      .sort()
      .slice(0, options.maxIdentities ?? Infinity);
    for (const identity of identities) {
      const files = readdirSync(join(setDir, identity)).filter((f) => IMAGE_FILE.test(f)).sort().slice(0, options.maxPerIdentity ?? Infinity);
      for (const file of files) out.push({ set, identity: `${set}/${identity}`, path: join(setDir, identity, file) });
    }
  }
  return out;
}

/** Extract every labelled photo; rejected photos are reported and left out of the pairs. */
export async function loadLabelledDescriptors(options: CalibrationOptions): Promise<{ samples: LabelledDescriptor[]; photos: PhotoResult[] }> {
  const samples: LabelledDescriptor[] = [];
  const photos: PhotoResult[] = [];
  for (const photo of listLabelledPhotos(options)) {
    const started = performance.now();
    const file = `${photo.identity}/${basename(photo.path)}`;
    try {
      const face = await extractDescriptor(readFileSync(photo.path), options.extract ?? DEFAULT_EXTRACT_OPTIONS);
      samples.push({ identity: photo.identity, file, descriptor: face.descriptor });
      photos.push({ set: photo.set, identity: photo.identity, file, ok: true, score: face.score, padded: face.padded, masked: face.masked, ms: performance.now() - started });
    } catch (error) {
      if (!isFaceRejection(error)) throw error;
      photos.push({ set: photo.set, identity: photo.identity, file, ok: false, reason: error.code, ms: performance.now() - started });
    }
  }
  return { samples, photos };
}

export async function calibrate(options: CalibrationOptions): Promise<CalibrationReport> {
  const { samples, photos } = await loadLabelledDescriptors(options);
  const pairs = pairDistances(samples);
  const trials = leaveOneOut(samples);
  const strangers = leavePersonOut(samples);
  const correct = trials.filter((t) => t.correct);
  const margins = correct.map((t) => (t.second ? t.second.distance - t.best!.distance : Infinity)).filter(Number.isFinite);

  const countDecisions = (list: IdentificationTrial[]) => {
    const counts: Record<string, number> = { match: 0, ambiguous: 0, unknown: 0 };
    for (const trial of list) counts[decideMatch(trial, DEFAULT_MATCH_THRESHOLDS).decision] += 1;
    return counts;
  };

  return {
    photos,
    identities: new Set(samples.map((s) => s.identity)).size,
    descriptors: samples.length,
    pairs: { genuine: pairs.genuine.length, impostor: pairs.impostor.length },
    genuine: summarize(pairs.genuine),
    impostor: summarize(pairs.impostor),
    atFar001: operatingPointAtFar(pairs, 0.001),
    atDefaults: operatingPoint(pairs, DEFAULT_MATCH_THRESHOLDS.threshold),
    atCustomary: operatingPoint(pairs, 0.6),
    atMatchLimit: operatingPoint(pairs, DEFAULT_MATCH_THRESHOLDS.threshold - DEFAULT_MATCH_THRESHOLDS.weakBand),
    rank1: trials.length ? correct.length / trials.length : NaN,
    correctMargins: summarize(margins),
    correctUnderMinMargin: margins.filter((m) => m < DEFAULT_MATCH_THRESHOLDS.minMargin).length,
    wrongTrials: trials.filter((t) => !t.correct),
    strangerBest: summarize(strangers.map((t) => t.best?.distance ?? Infinity).filter(Number.isFinite)),
    decisions: { genuine: countDecisions(trials), stranger: countDecisions(strangers) },
  };
}

export interface MaskPair {
  pair: string;
  unmasked: string;
  masked: string;
  /** The mask check's verdict on the unmasked original (true is a false alarm). */
  unmaskedFlagged?: boolean;
  /** Distance between the masked and unmasked descriptor of the same photo, when both were found. */
  distance?: number;
}

export interface MaskReport {
  /** Every masked photo: found or the rejection code. */
  photos: Array<{ file: string; result: string; score?: number; masked?: boolean }>;
  pairs: MaskPair[];
  /**
   * Smallest distance between masked faces of different people. The identity is the file
   * name up to the first '_' or '-' (the pair number, the RWMFD folder), so photos that
   * may show one person are not compared.
   */
  maskedImpostorMin?: number;
}

/**
 * Measure the detector and the recognition net on masked faces: masked/rwmfd (real masks)
 * and masked/synthetic-pairs (the same photo with and without a drawn mask).
 */
export async function measureMasks(fixturesDir: string, extract: ExtractOptions = DEFAULT_EXTRACT_OPTIONS): Promise<MaskReport> {
  const run = async (path: string) => {
    try {
      const face = await extractDescriptor(readFileSync(path), extract);
      return { result: 'face', score: face.score, masked: face.masked, descriptor: face.descriptor };
    } catch (error) {
      if (!isFaceRejection(error)) throw error;
      return { result: error.code, score: undefined, masked: undefined, descriptor: undefined };
    }
  };

  const report: MaskReport = { photos: [], pairs: [] };
  const maskedFaces: Array<{ identity: string; descriptor: Float32Array }> = [];
  const maskedDir = join(fixturesDir, 'masked');
  for (const folder of readdirSync(maskedDir).sort()) {
    for (const file of readdirSync(join(maskedDir, folder)).filter((f) => IMAGE_FILE.test(f)).sort()) {
      if (folder === 'synthetic-pairs' && !file.includes('-with-mask')) continue;
      const outcome = await run(join(maskedDir, folder, file));
      report.photos.push({ file: `${folder}/${file}`, result: outcome.result, score: outcome.score, masked: outcome.masked });
      if (outcome.descriptor) maskedFaces.push({ identity: `${folder}/${file.split(/[_-]/)[0]}`, descriptor: outcome.descriptor });

      if (folder === 'synthetic-pairs') {
        const plainFile = file.replace('-with-mask', '');
        const plain = await run(join(maskedDir, folder, plainFile));
        report.pairs.push({
          pair: plainFile.replace(/\.\w+$/, ''),
          unmasked: plain.result,
          masked: outcome.result,
          unmaskedFlagged: plain.masked,
          distance: outcome.descriptor && plain.descriptor ? euclideanDistance(outcome.descriptor, plain.descriptor) : undefined,
        });
      }
    }
  }

  for (let i = 0; i < maskedFaces.length; i++) {
    for (let j = i + 1; j < maskedFaces.length; j++) {
      if (maskedFaces[i].identity === maskedFaces[j].identity) continue;
      const distance = euclideanDistance(maskedFaces[i].descriptor, maskedFaces[j].descriptor);
      report.maskedImpostorMin = Math.min(report.maskedImpostorMin ?? Infinity, distance);
    }
  }
  return report;
}

function readNumberOption(args: string[], name: string): number | undefined {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a whole number of at least 1`);
  return value;
}

function formatSummary(s: Summary): string {
  return `n=${s.count} min ${s.min.toFixed(3)} p10 ${s.p10.toFixed(3)} median ${s.median.toFixed(3)} p90 ${s.p90.toFixed(3)} max ${s.max.toFixed(3)}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dirIndex = args.indexOf('--fixtures');
  const fixturesDir = resolve(dirIndex >= 0 ? args[dirIndex + 1] : 'test/fixtures/faces');
  const setsIndex = args.indexOf('--sets');
  const options: CalibrationOptions = {
    fixturesDir,
    sets: setsIndex >= 0 ? args[setsIndex + 1].split(',').filter(Boolean) : undefined,
    maxPerIdentity: readNumberOption(args, 'per-identity'),
    maxIdentities: readNumberOption(args, 'identities'),
  };

  const report = await calibrate(options);
  const masks = existsSync(join(fixturesDir, 'masked')) ? await measureMasks(fixturesDir) : { photos: [], pairs: [] };
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify({ report, masks }, null, 2) + '\n');
    return;
  }

  const lines: string[] = [];
  lines.push(`fixtures: ${fixturesDir}`, '', 'photos:');
  for (const p of report.photos) {
    const found = `face score ${p.score?.toFixed(2)}${p.padded ? ' (padded pass)' : ''}${p.masked ? ' MASK FLAGGED' : ''}`;
    lines.push(`  ${p.file.padEnd(52)} ${p.ok ? found : `rejected ${p.reason}`}`);
  }
  const rejected = report.photos.filter((p) => !p.ok).length;
  lines.push(
    '',
    `identities ${report.identities}, descriptors ${report.descriptors} (${rejected} photos rejected)`,
    `pairs: ${report.pairs.genuine} genuine, ${report.pairs.impostor} impostor`,
    `genuine distance:  ${formatSummary(report.genuine)}`,
    `impostor distance: ${formatSummary(report.impostor)}`,
    `FAR <= 0.1 %: threshold ${report.atFar001.threshold.toFixed(4)}, TAR ${(report.atFar001.tar * 100).toFixed(1)} % (${report.atFar001.trueAccepts}/${report.pairs.genuine}), FAR ${(report.atFar001.far * 100).toFixed(3)} % (${report.atFar001.falseAccepts}/${report.pairs.impostor})`,
    `at the default threshold ${DEFAULT_MATCH_THRESHOLDS.threshold}: TAR ${(report.atDefaults.tar * 100).toFixed(1)} %, FAR ${(report.atDefaults.far * 100).toFixed(3)} % (${report.atDefaults.falseAccepts} false accepts)`,
    `at the customary 0.6: TAR ${(report.atCustomary.tar * 100).toFixed(1)} %, FAR ${(report.atCustomary.far * 100).toFixed(3)} % (${report.atCustomary.falseAccepts} false accepts)`,
    `at the match limit ${report.atMatchLimit.threshold.toFixed(2)} (threshold minus weak band): TAR ${(report.atMatchLimit.tar * 100).toFixed(1)} %, FAR ${(report.atMatchLimit.far * 100).toFixed(3)} %`,
    `leave-one-out rank-1: ${(report.rank1 * 100).toFixed(1)} %; margins of correct trials: ${formatSummary(report.correctMargins)}`,
    `correct trials with a margin under minMargin ${DEFAULT_MATCH_THRESHOLDS.minMargin}: ${report.correctUnderMinMargin}`,
    `wrong nearest person: ${report.wrongTrials.map((t) => `${t.file} -> ${t.best?.personId} ${t.best?.distance.toFixed(3)}, margin ${t.second ? (t.second.distance - t.best!.distance).toFixed(3) : '-'}`).join('; ') || 'none'}`,
    `mask check false alarms on labelled (unmasked) photos: ${report.photos.filter((p) => p.masked).length} of ${report.descriptors}`,
    `stranger (own identity left out) nearest distance: ${formatSummary(report.strangerBest)}`,
    `decisions with the defaults (threshold ${DEFAULT_MATCH_THRESHOLDS.threshold}, minMargin ${DEFAULT_MATCH_THRESHOLDS.minMargin}, weakBand ${DEFAULT_MATCH_THRESHOLDS.weakBand}): genuine ${JSON.stringify(report.decisions.genuine)}, stranger ${JSON.stringify(report.decisions.stranger)}`,
    '',
    'masked photos:',
  );
  for (const p of masks.photos) {
    lines.push(`  ${p.file.padEnd(40)} ${p.result}${p.score !== undefined ? ` score ${p.score.toFixed(2)}` : ''}${p.masked === undefined ? '' : p.masked ? ' mask flagged' : ' mask NOT flagged'}`);
  }
  lines.push(`masked faces of different people, smallest distance: ${masks.maskedImpostorMin?.toFixed(3) ?? '-'}`);
  lines.push('masked vs unmasked (same photo):');
  for (const p of masks.pairs) {
    const alarm = p.unmaskedFlagged ? ' (unmasked photo flagged as masked)' : '';
    lines.push(`  ${p.pair.padEnd(6)} unmasked ${p.unmasked.padEnd(15)} masked ${p.masked.padEnd(15)} distance ${p.distance?.toFixed(3) ?? '-'}${alarm}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
