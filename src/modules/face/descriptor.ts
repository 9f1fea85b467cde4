/**
 * The face descriptor as data: 128 float32 values from the recognition net. Checking
 * descriptors that arrive from outside (a kiosk that computes its own) and the byte form
 * that is encrypted at rest.
 */

export const DESCRIPTOR_LENGTH = 128;

/**
 * Largest absolute component accepted. Descriptors of the face-api recognition net stay
 * within about ±0.6 (measured on the fixtures); 2 leaves room for other builds of the same
 * net while rejecting data that is clearly not a descriptor.
 */
export const MAX_COMPONENT = 2;

export class DescriptorError extends Error {
  constructor(
    message: string,
    /** The same problem in Chinese, for the API's error message. */
    readonly userDetail: string,
  ) {
    super(message);
    this.name = 'DescriptorError';
  }
}

/**
 * A copy of the input as a Float32Array after checking that it is a descriptor: an array
 * or Float32Array of exactly 128 finite numbers, each within ±MAX_COMPONENT. Throws
 * DescriptorError naming the first problem.
 */
export function parseDescriptor(input: unknown): Float32Array {
  if (!(input instanceof Float32Array) && !Array.isArray(input)) {
    throw new DescriptorError(`descriptor must be an array of ${DESCRIPTOR_LENGTH} numbers, got ${describeType(input)}`, `应为 ${DESCRIPTOR_LENGTH} 个数字组成的数组，实际为 ${describeType(input)}`);
  }
  if (input.length !== DESCRIPTOR_LENGTH) {
    throw new DescriptorError(`descriptor must have ${DESCRIPTOR_LENGTH} numbers, got ${input.length}`, `应有 ${DESCRIPTOR_LENGTH} 个数字，实际为 ${input.length} 个`);
  }

  const out = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
    const value: unknown = input[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new DescriptorError(`descriptor[${i}] must be a finite number, got ${describeValue(value)}`, `第 ${i + 1} 个值不是有限数字（${describeValue(value)}）`);
    }
    if (Math.abs(value) > MAX_COMPONENT) {
      throw new DescriptorError(
        `descriptor[${i}] = ${value} is outside ±${MAX_COMPONENT}; send the output of the face-api recognition net unchanged`,
        `第 ${i + 1} 个值 ${value} 超出 ±${MAX_COMPONENT} 的范围，请原样提交 face-api 识别模型输出的特征值`,
      );
    }
    out[i] = value;
  }
  return out;
}

/** The descriptor's bytes (float32, little-endian) as base64, the plain text that gets encrypted. */
export function encodeDescriptor(descriptor: Float32Array): string {
  const bytes = Buffer.alloc(DESCRIPTOR_LENGTH * 4);
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) bytes.writeFloatLE(descriptor[i], i * 4);
  return bytes.toString('base64');
}

/** Inverse of encodeDescriptor; throws DescriptorError when the text is not 512 bytes of base64. */
export function decodeDescriptor(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== DESCRIPTOR_LENGTH * 4) {
    throw new DescriptorError(`stored descriptor has ${bytes.length} bytes; expected ${DESCRIPTOR_LENGTH * 4}`, `存储的特征值长度为 ${bytes.length} 字节，应为 ${DESCRIPTOR_LENGTH * 4} 字节`);
  }
  const out = new Float32Array(DESCRIPTOR_LENGTH);
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Euclidean distance between two descriptors. */
export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < DESCRIPTOR_LENGTH; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string "${value.slice(0, 20)}"`;
  if (typeof value === 'number') return String(value);
  return describeType(value);
}
