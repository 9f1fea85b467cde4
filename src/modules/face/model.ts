import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';

/**
 * The face models on the TensorFlow.js WebAssembly backend, loaded once per process.
 *
 * Three networks from the @vladmandic/face-api package are used: SSD MobileNet v1 (face
 * detection), the 68-point landmark net (alignment) and the ResNet-34 recognition net
 * (the 128-float descriptor). Their weights ship inside the package and the WebAssembly
 * binaries inside @tensorflow/tfjs-backend-wasm, so nothing is downloaded at run time.
 *
 * Threads: in Node.js 20, tfjs-backend-wasm 4.22 reports no multithread support (it needs
 * browser web workers), so it runs the single-threaded SIMD binary and one extraction uses
 * one core. `setThreadsCount(1)` states that explicitly.
 */

export type FaceApi = typeof faceapi;

export interface FaceModels {
  faceapi: FaceApi;
  tf: typeof tf;
  /** Backend name as TensorFlow.js reports it ('wasm'). */
  backend: string;
  modelDir: string;
  loadMs: number;
}

/** The model files of the three networks, relative to the model folder. */
export const MODEL_FILES = [
  'ssd_mobilenetv1_model-weights_manifest.json',
  'ssd_mobilenetv1_model.bin',
  'face_landmark_68_model-weights_manifest.json',
  'face_landmark_68_model.bin',
  'face_recognition_model-weights_manifest.json',
  'face_recognition_model.bin',
] as const;

export class FaceModelError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FaceModelError';
  }
}

const require = createRequire(import.meta.url);

/** Return the model folder inside the installed @vladmandic/face-api package. */
export function packageModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** Return the folder of the tfjs-backend-wasm binaries, with the trailing slash setWasmPaths expects. */
function packageWasmDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

/** Files of MODEL_FILES missing from the folder. */
export function findMissingModelFiles(modelDir: string): string[] {
  return MODEL_FILES.filter((file) => !existsSync(join(modelDir, file)));
}

/** Throw FaceModelError naming the missing files and how to restore them. */
export function assertModelFilesPresent(modelDir: string): void {
  const missing = findMissingModelFiles(modelDir);
  if (missing.length === 0) return;
  throw new FaceModelError(
    `face model files missing in ${modelDir}: ${missing.join(', ')}; reinstall @vladmandic/face-api with \`npm ci\` or point FANGKONG_FACE_MODEL_DIR at a folder that holds them`,
  );
}

let loading: Promise<FaceModels> | undefined;
let loadedDir: string | undefined;

/**
 * Load the models on first call and return the same instance afterwards. A failed load is
 * not cached, so a later call retries (after the files are restored, for example).
 * Throws FaceModelError naming the missing files and the setting that points at them.
 */
export function loadFaceModels(modelDir = ''): Promise<FaceModels> {
  const dir = modelDir || packageModelDir();
  if (loading && loadedDir !== dir) {
    return Promise.reject(new FaceModelError(`face models are already loaded from ${loadedDir}; one process uses one model folder, so ${dir} cannot be loaded as well`));
  }
  if (!loading) {
    loadedDir = dir;
    loading = loadModels(dir).catch((error: unknown) => {
      loading = undefined;
      loadedDir = undefined;
      throw error;
    });
  }
  return loading;
}

async function loadModels(modelDir: string): Promise<FaceModels> {
  assertModelFilesPresent(modelDir);
  const started = performance.now();
  await initWasmBackend();

  try {
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  } catch (error) {
    throw new FaceModelError(`loading the face models from ${modelDir} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  return { faceapi, tf, backend: tf.getBackend(), modelDir, loadMs: performance.now() - started };
}

async function initWasmBackend(): Promise<void> {
  if (tf.getBackend() === 'wasm') return;

  const wasmDir = packageWasmDir();
  if (!existsSync(join(wasmDir, 'tfjs-backend-wasm.wasm'))) {
    throw new FaceModelError(`tfjs-backend-wasm binaries missing in ${wasmDir}; reinstall @tensorflow/tfjs-backend-wasm with \`npm ci\``);
  }
  // A local folder, never a URL: the Node.js build reads the binary with fs.
  tfWasm.setWasmPaths(wasmDir);
  tfWasm.setThreadsCount(1);

  const ok = await tf.setBackend('wasm');
  await tf.ready();
  if (!ok || tf.getBackend() !== 'wasm') {
    throw new FaceModelError(`the TensorFlow.js wasm backend did not start (backend is "${tf.getBackend()}")`);
  }
}
