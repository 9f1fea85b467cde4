import { DESCRIPTOR_LENGTH } from './descriptor.js';
import { createDistanceKernel, type DistanceKernel } from './distance-kernel.js';

/**
 * A school's gallery in memory and the match decision. Pure: no IO, no clock.
 *
 * Descriptors live in one flat Float32Array, row after row, several rows per person
 * allowed. A query returns the nearest and the second-nearest PERSON (each person's
 * distance is that of their nearest row) by Euclidean distance.
 *
 * Galleries of 256 rows or more are searched in two exact steps. An int8 copy of every
 * row is scanned with WebAssembly SIMD (distance-kernel.ts), which gives each row's
 * distance within a known error bound. Then only the rows that the bound cannot rule out
 * are measured in float32. The result is the same as a full float32 scan (tests compare
 * the two).
 */

export interface MatchThresholds {
  /** A best distance above this is no match. */
  threshold: number;
  /** The second-nearest person must be at least this much farther than the nearest. */
  minMargin: number;
  /** Matches within this band just under the threshold are ambiguous, not matches. */
  weakBand: number;
}

export type MatchDecision = 'match' | 'ambiguous' | 'unknown';

export interface PersonDistance {
  personId: string;
  distance: number;
}

export interface GallerySearch {
  best?: PersonDistance;
  second?: PersonDistance;
}

export interface MatchResult {
  decision: MatchDecision;
  /** The nearest person, for 'match' and 'ambiguous'. */
  personId?: string;
  distance?: number;
  /** Second-nearest person's distance minus the nearest's; absent with one person enrolled. */
  margin?: number;
  secondPersonId?: string;
}

/**
 * Decide from the two nearest persons:
 * - 'unknown' when the gallery is empty or the nearest is farther than the threshold;
 * - 'ambiguous' when the margin to the second person is below minMargin, or the distance
 *   is within weakBand under the threshold (the gate then asks for a card or a guard);
 * - 'match' otherwise.
 */
export function decideMatch(search: GallerySearch, thresholds: MatchThresholds): MatchResult {
  const { best, second } = search;
  if (!best || best.distance > thresholds.threshold) {
    return { decision: 'unknown', distance: best?.distance, secondPersonId: undefined };
  }

  const margin = second ? second.distance - best.distance : undefined;
  const base = { personId: best.personId, distance: best.distance, margin, secondPersonId: second?.personId };
  if (margin !== undefined && margin < thresholds.minMargin) return { decision: 'ambiguous', ...base };
  if (best.distance > thresholds.threshold - thresholds.weakBand) return { decision: 'ambiguous', ...base };
  return { decision: 'match', ...base };
}

/**
 * Below this many rows the plain float32 scan is used: it takes about 0.05 ms there (an
 * estimate from 0.51 ms for 3,000 rows), close to the prefilter's fixed cost. A school of
 * 3,000 takes 0.07 ms with the prefilter (bench/face-extract.ts).
 */
const PREFILTER_MIN_ROWS = 256;

/**
 * Int8 step: component = round(value / QUANT_STEP), clamped to ±127, so ±0.64 is
 * representable. Descriptors of the face-api net stay within about ±0.55 (measured on the
 * fixtures); a clamped component only widens that row's error bound, which is tracked.
 */
const QUANT_STEP = 0.64 / 127;

/** Bytes before the int8 rows in kernel memory: the int16 query (256 bytes) and spare. */
const ROWS_OFFSET = 1024;
const PAGE_BYTES = 65536;

export interface GalleryOptions {
  /** 'off' forces the float32 scan (tests compare both paths). */
  prefilter?: 'auto' | 'off';
  initialCapacity?: number;
}

export class FaceGallery {
  private exact: Float32Array;
  private owners: Int32Array;
  private keys: (string | undefined)[] = [];
  private rowCount = 0;
  private capacity: number;

  private personIds: (string | undefined)[] = [];
  private personIndex = new Map<string, number>();
  private personRows: number[] = [];

  private readonly prefilter: 'auto' | 'off';
  private kernel: DistanceKernel | undefined | null;
  private quantized?: Int8Array;
  private rowError?: Float32Array;
  /** Largest quantization error norm of any row ever stored (never lowered on removal). */
  private maxRowError = 0;
  /** Scratch list of candidate rows, reused between searches. */
  private candidates?: Int32Array;

  constructor(options: GalleryOptions = {}) {
    this.prefilter = options.prefilter ?? 'auto';
    this.capacity = Math.max(16, options.initialCapacity ?? 256);
    this.exact = new Float32Array(this.capacity * DESCRIPTOR_LENGTH);
    this.owners = new Int32Array(this.capacity);
  }

  /** Number of stored descriptors. */
  get size(): number {
    return this.rowCount;
  }

  /** Number of persons with at least one descriptor. */
  get personCount(): number {
    return this.personIndex.size;
  }

  /** Add one descriptor of a person; `key` (the stored descriptor's id) allows removing it later. */
  add(personId: string, descriptor: ArrayLike<number>, key?: string): void {
    if (descriptor.length !== DESCRIPTOR_LENGTH) {
      throw new Error(`descriptor must have ${DESCRIPTOR_LENGTH} values, got ${descriptor.length}`);
    }
    if (this.rowCount === this.capacity) this.grow(this.capacity * 2);

    let person = this.personIndex.get(personId);
    if (person === undefined) {
      person = this.personIds.length;
      this.personIds.push(personId);
      this.personRows.push(0);
      this.personIndex.set(personId, person);
    }

    const row = this.rowCount++;
    this.exact.set(descriptor, row * DESCRIPTOR_LENGTH);
    this.owners[row] = person;
    this.keys[row] = key;
    this.personRows[person] += 1;
    if (this.quantized) this.quantizeRow(row);
  }

  /** Remove every descriptor of a person; returns how many were removed. */
  removePerson(personId: string): number {
    const person = this.personIndex.get(personId);
    if (person === undefined) return 0;
    let removed = 0;
    for (let row = this.rowCount - 1; row >= 0; row--) {
      if (this.owners[row] === person) {
        this.removeRow(row);
        removed += 1;
      }
    }
    return removed;
  }

  /** Remove the descriptor added with `key`; returns false when no row has it. */
  removeKey(key: string): boolean {
    const row = this.keys.indexOf(key, 0);
    if (row < 0 || row >= this.rowCount) return false;
    this.removeRow(row);
    return true;
  }

  /** The nearest and second-nearest persons to the query. */
  search(query: ArrayLike<number>): GallerySearch {
    if (query.length !== DESCRIPTOR_LENGTH) {
      throw new Error(`query must have ${DESCRIPTOR_LENGTH} values, got ${query.length}`);
    }
    if (this.rowCount === 0) return {};

    const q = query instanceof Float32Array ? query : Float32Array.from(query);
    if (this.usePrefilter()) return this.searchWithPrefilter(q);
    return this.toSearch(this.scanExact(q, null, this.rowCount));
  }

  private usePrefilter(): boolean {
    if (this.prefilter === 'off' || this.rowCount < PREFILTER_MIN_ROWS) return false;
    if (this.kernel === undefined) {
      this.kernel = createDistanceKernel(pagesFor(this.capacity)) ?? null;
      if (this.kernel) this.rebuildQuantized();
    }
    return this.kernel !== null;
  }

  private searchWithPrefilter(query: Float32Array): GallerySearch {
    const kernel = this.kernel!;
    const queryError = this.writeQuery(query);
    const outOffset = ROWS_OFFSET + this.capacity * DESCRIPTOR_LENGTH;
    kernel.distances(0, ROWS_OFFSET, this.rowCount, outOffset);
    const approx = new Int32Array(kernel.memory.buffer, outOffset, this.rowCount);

    // The int8 distance of a row differs from its float32 distance by at most the sum of
    // the query's and the row's quantization error norms (triangle inequality).
    const approxTop = this.topTwo(approx);
    const errorBound = queryError + this.maxRowError + 1e-6;
    const reach = Math.sqrt((approxTop.second ?? approxTop.best)) * QUANT_STEP + 2 * errorBound;
    const limit = Math.ceil((reach / QUANT_STEP) ** 2);

    const candidates = this.candidateRows(approx, limit);
    return this.toSearch(this.scanExact(query, candidates, candidates.length));
  }

  /** Rows whose int8 squared distance is at most `limit`, in row order. */
  private candidateRows(approx: Int32Array, limit: number): Int32Array {
    if (!this.candidates || this.candidates.length < this.rowCount) this.candidates = new Int32Array(this.capacity);
    const out = this.candidates;
    let count = 0;
    for (let row = 0; row < this.rowCount; row++) {
      if (approx[row] <= limit) out[count++] = row;
    }
    return out.subarray(0, count);
  }

  /**
   * Float32 scan over the rows listed in `rows` (every row when it is null, with `count`
   * then the row count). Tracks the nearest two persons by squared distance.
   */
  private scanExact(query: Float32Array, rows: Int32Array | null, count: number): TopTwo {
    const data = this.exact;
    const owners = this.owners;
    let best = Infinity;
    let bestPerson = -1;
    let second = Infinity;
    let secondPerson = -1;

    for (let i = 0; i < count; i++) {
      const row = rows === null ? i : rows[i];
      const offset = row * DESCRIPTOR_LENGTH;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < DESCRIPTOR_LENGTH; k += 4) {
        const d0 = data[offset + k] - query[k];
        const d1 = data[offset + k + 1] - query[k + 1];
        const d2 = data[offset + k + 2] - query[k + 2];
        const d3 = data[offset + k + 3] - query[k + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
      }
      const squared = s0 + s1 + s2 + s3;

      const person = owners[row];
      if (person === bestPerson) {
        if (squared < best) best = squared;
      } else if (squared < best) {
        second = best;
        secondPerson = bestPerson;
        best = squared;
        bestPerson = person;
      } else if (squared < second) {
        second = squared;
        secondPerson = person;
      }
    }
    return { best, bestPerson, second, secondPerson };
  }

  /** The nearest two persons by int8 squared distance; `second` is undefined with one person. */
  private topTwo(approx: Int32Array): { best: number; second: number | undefined } {
    const owners = this.owners;
    let best = Infinity;
    let bestPerson = -1;
    let second = Infinity;

    for (let row = 0; row < this.rowCount; row++) {
      const value = approx[row];
      if (value >= second && owners[row] !== bestPerson) continue;
      const person = owners[row];
      if (person === bestPerson) {
        if (value < best) best = value;
      } else if (value < best) {
        second = best;
        best = value;
        bestPerson = person;
      } else if (value < second) {
        second = value;
      }
    }
    return { best, second: Number.isFinite(second) ? second : undefined };
  }

  private toSearch(top: TopTwo): GallerySearch {
    const result: GallerySearch = {};
    if (top.bestPerson >= 0) result.best = { personId: this.personIds[top.bestPerson]!, distance: Math.sqrt(top.best) };
    if (top.secondPerson >= 0) result.second = { personId: this.personIds[top.secondPerson]!, distance: Math.sqrt(top.second) };
    return result;
  }

  /** Quantize the query into kernel memory; returns its quantization error norm. */
  private writeQuery(query: Float32Array): number {
    const target = new Int16Array(this.kernel!.memory.buffer, 0, DESCRIPTOR_LENGTH);
    let error = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const level = quantize(query[i]);
      target[i] = level;
      const e = query[i] - level * QUANT_STEP;
      error += e * e;
    }
    return Math.sqrt(error);
  }

  private quantizeRow(row: number): void {
    const quantized = this.quantized!;
    const offset = row * DESCRIPTOR_LENGTH;
    let error = 0;
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
      const value = this.exact[offset + i];
      const level = quantize(value);
      quantized[offset + i] = level;
      const e = value - level * QUANT_STEP;
      error += e * e;
    }
    const norm = Math.sqrt(error);
    this.rowError![row] = norm;
    if (norm > this.maxRowError) this.maxRowError = norm;
  }

  private rebuildQuantized(): void {
    const kernel = this.kernel!;
    this.quantized = new Int8Array(kernel.memory.buffer, ROWS_OFFSET, this.capacity * DESCRIPTOR_LENGTH);
    this.rowError = new Float32Array(this.capacity);
    for (let row = 0; row < this.rowCount; row++) this.quantizeRow(row);
  }

  private grow(capacity: number): void {
    const exact = new Float32Array(capacity * DESCRIPTOR_LENGTH);
    exact.set(this.exact.subarray(0, this.rowCount * DESCRIPTOR_LENGTH));
    this.exact = exact;
    const owners = new Int32Array(capacity);
    owners.set(this.owners.subarray(0, this.rowCount));
    this.owners = owners;
    this.capacity = capacity;

    if (this.kernel) {
      const needed = pagesFor(capacity) - this.kernel.memory.buffer.byteLength / PAGE_BYTES;
      if (needed > 0) this.kernel.memory.grow(needed);
      // Growing detaches the old views; the int8 rows sit at the same offset, so only the
      // views and the error array are renewed.
      this.quantized = new Int8Array(this.kernel.memory.buffer, ROWS_OFFSET, capacity * DESCRIPTOR_LENGTH);
      const rowError = new Float32Array(capacity);
      rowError.set(this.rowError!.subarray(0, this.rowCount));
      this.rowError = rowError;
    }
  }

  /** Move the last row into `row` so rows stay contiguous. */
  private removeRow(row: number): void {
    const last = this.rowCount - 1;
    const person = this.owners[row];

    if (row !== last) {
      this.exact.copyWithin(row * DESCRIPTOR_LENGTH, last * DESCRIPTOR_LENGTH, (last + 1) * DESCRIPTOR_LENGTH);
      this.owners[row] = this.owners[last];
      this.keys[row] = this.keys[last];
      if (this.quantized) {
        this.quantized.copyWithin(row * DESCRIPTOR_LENGTH, last * DESCRIPTOR_LENGTH, (last + 1) * DESCRIPTOR_LENGTH);
        this.rowError![row] = this.rowError![last];
      }
    }
    this.keys.length = last;
    this.rowCount = last;

    this.personRows[person] -= 1;
    if (this.personRows[person] === 0) {
      this.personIndex.delete(this.personIds[person]!);
      this.personIds[person] = undefined;
    }
  }
}

interface TopTwo {
  best: number;
  bestPerson: number;
  second: number;
  secondPerson: number;
}

function quantize(value: number): number {
  const level = Math.round(value / QUANT_STEP);
  return level > 127 ? 127 : level < -127 ? -127 : level;
}

/** Kernel memory for `capacity` rows: query area, int8 rows and the int32 output. */
function pagesFor(capacity: number): number {
  return Math.ceil((ROWS_OFFSET + capacity * DESCRIPTOR_LENGTH + capacity * 4) / PAGE_BYTES);
}
