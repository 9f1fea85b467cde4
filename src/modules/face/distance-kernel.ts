/**
 * A WebAssembly SIMD kernel that computes squared Euclidean distances between one int8
 * query and many int8 rows of 128 components. The gallery uses it as an exact prefilter
 * (see matcher.ts). A full float32 scan of 200,000 descriptors reads 102 MB and took
 * 23 ms in a tight JavaScript loop on the 2-core benchmark machine. The int8 copy is
 * 25.6 MB, and SIMD handles 16 components per step.
 *
 * The module is assembled here from its instructions, so no build step or binary file is
 * needed. In WebAssembly text format it reads:
 *
 *   (func (export "distances") (param $query i32) (param $rows i32) (param $count i32) (param $out i32)
 *     ;; $q0..$q15: the query as 16 vectors of eight i16 (loaded once)
 *     loop
 *       $acc = 0
 *       for chunk 0..7:                               ;; 16 int8 components per chunk
 *         $g = v128.load offset=16*chunk ($rows)
 *         $d = i16x8.sub (i16x8.extend_low_i8x16_s $g) $q[2*chunk]
 *         $acc = i32x4.add $acc (i32x4.dot_i16x8_s $d $d)
 *         $d = i16x8.sub (i16x8.extend_high_i8x16_s $g) $q[2*chunk+1]
 *         $acc = i32x4.add $acc (i32x4.dot_i16x8_s $d $d)
 *       i32.store ($out) (sum of the 4 lanes of $acc)
 *       $rows += 128; $out += 4; $count -= 1
 *     br_if loop ($count != 0)
 *
 * Differences of int8 values fit in i16 (|d| <= 255) and a row's sum fits in i32
 * (128 * 255^2 < 2^23), so the integer result is exact.
 */

export const KERNEL_DIMENSIONS = 128;

export interface DistanceKernel {
  memory: WebAssembly.Memory;
  /** Write `count` squared distances (int32) to `out` for rows starting at `rows`; `count` >= 1. */
  distances(query: number, rows: number, count: number, out: number): void;
}

// Local indexes: 0-3 are the parameters, then 16 query vectors, then $acc, $g, $d.
const P_QUERY = 0;
const P_ROWS = 1;
const P_COUNT = 2;
const P_OUT = 3;
const L_Q0 = 4;
const L_ACC = L_Q0 + 16;
const L_G = L_ACC + 1;
const L_D = L_ACC + 2;

const I32 = 0x7f;
const V128 = 0x7b;

const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Store: () => [0x36, 0x02, 0x00],
  loop: () => [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: () => [0x0b],
  v128Load: (offset: number) => [0xfd, ...uleb(0x00), 0x00, ...uleb(offset)],
  v128Const0: () => [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  i32x4ExtractLane: (lane: number) => [0xfd, ...uleb(0x1b), lane],
  i16x8ExtendLowI8x16S: () => [0xfd, ...uleb(0x87)],
  i16x8ExtendHighI8x16S: () => [0xfd, ...uleb(0x88)],
  i16x8Sub: () => [0xfd, ...uleb(0x91)],
  i32x4Add: () => [0xfd, ...uleb(0xae)],
  i32x4DotI16x8S: () => [0xfd, ...uleb(0xba)],
};

function distancesBody(): number[] {
  const code: number[] = [];

  for (let i = 0; i < 16; i++) {
    code.push(...op.localGet(P_QUERY), ...op.v128Load(i * 16), ...op.localSet(L_Q0 + i));
  }

  code.push(...op.loop());
  code.push(...op.v128Const0(), ...op.localSet(L_ACC));
  for (let chunk = 0; chunk < 8; chunk++) {
    code.push(...op.localGet(P_ROWS), ...op.v128Load(chunk * 16), ...op.localSet(L_G));
    for (const [extend, half] of [[op.i16x8ExtendLowI8x16S, 0], [op.i16x8ExtendHighI8x16S, 1]] as const) {
      code.push(...op.localGet(L_G), ...extend(), ...op.localGet(L_Q0 + chunk * 2 + half), ...op.i16x8Sub(), ...op.localSet(L_D));
      code.push(...op.localGet(L_ACC), ...op.localGet(L_D), ...op.localGet(L_D), ...op.i32x4DotI16x8S(), ...op.i32x4Add(), ...op.localSet(L_ACC));
    }
  }

  code.push(...op.localGet(P_OUT));
  code.push(...op.localGet(L_ACC), ...op.i32x4ExtractLane(0));
  for (let lane = 1; lane < 4; lane++) code.push(...op.localGet(L_ACC), ...op.i32x4ExtractLane(lane), ...op.i32Add());
  code.push(...op.i32Store());

  code.push(...op.localGet(P_ROWS), ...op.i32Const(KERNEL_DIMENSIONS), ...op.i32Add(), ...op.localSet(P_ROWS));
  code.push(...op.localGet(P_OUT), ...op.i32Const(4), ...op.i32Add(), ...op.localSet(P_OUT));
  code.push(...op.localGet(P_COUNT), ...op.i32Const(1), ...op.i32Sub(), ...op.localSet(P_COUNT));
  code.push(...op.localGet(P_COUNT), ...op.brIf(0));
  code.push(...op.end());

  code.push(...op.end());
  return code;
}

/** Assemble the binary module, which imports env.memory and exports distances(query, rows, count, out). */
export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const typeSection = [0x01, 0x60, 0x04, I32, I32, I32, I32, 0x00];
  const importSection = [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01];
  const functionSection = [0x01, 0x00];
  const exportSection = [0x01, ...name('distances'), 0x00, 0x00];

  const locals = [0x01, ...uleb(16 + 3), V128];
  const body = [...locals, ...distancesBody()];
  const codeSection = [0x01, ...uleb(body.length), ...body];

  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, typeSection),
    ...section(2, importSection),
    ...section(3, functionSection),
    ...section(7, exportSection),
    ...section(10, codeSection),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * Instantiate the kernel on a fresh memory of `pages` 64 KiB pages, or return undefined
 * when this runtime lacks WebAssembly SIMD (the gallery then scans in JavaScript).
 */
export function createDistanceKernel(pages: number): DistanceKernel | undefined {
  if (compiled === undefined) {
    const bytes = kernelModuleBytes();
    compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  if (compiled === null) return undefined;

  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  const distances = instance.exports.distances as (query: number, rows: number, count: number, out: number) => void;
  return { memory, distances };
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}
