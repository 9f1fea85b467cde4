import * as faceapi from '@vladmandic/face-api';

/**
 * Face detection and the 128-float descriptor in the browser, with the same three networks
 * the server's face module uses (SSD MobileNet v1, 68-point landmarks, ResNet-34
 * recognition), so kiosk descriptors match the enrolled gallery. The models and the
 * WebAssembly binaries come from our server (/models/ and /tfjs-wasm/), never a CDN.
 */

/** The parts of the bundled TensorFlow.js that face-api's typings leave out. */
interface TfRuntime {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
  setWasmPaths(prefix: string): void;
}

const MODELS_URL = '/models';
const WASM_PREFIX = '/tfjs-wasm/';
/** Faces whose box is narrower than this, in video pixels, are too far from the camera. */
export const MIN_FACE_WIDTH_PX = 80;
const MIN_CONFIDENCE = 0.5;

export interface FaceReading {
  descriptor: Float32Array;
  /** Box of the face in video pixels. */
  box: { x: number; y: number; width: number; height: number };
  score: number;
}

export interface FaceEngine {
  /** 'webgl' or 'wasm', as TensorFlow.js reports it. */
  backend: string;
  /** The largest face in the frame with its descriptor, or null when none is near enough. */
  read(video: HTMLVideoElement): Promise<FaceReading | null>;
}

const tf = faceapi.tf as unknown as TfRuntime;

/** Switch TensorFlow.js to `name`; false when the browser cannot run it (no WebGL, say). */
async function tryBackend(name: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * Pick WebGL, or WebAssembly when WebGL is missing, then load the three networks. Throws
 * an Error with a Chinese message when neither backend starts or a model fails to load.
 */
export async function loadFaceEngine(onStep: (text: string) => void = () => {}): Promise<FaceEngine> {
  onStep('正在初始化计算引擎');
  let backend = (await tryBackend('webgl')) ? 'webgl' : '';
  if (!backend) {
    tf.setWasmPaths(WASM_PREFIX);
    backend = (await tryBackend('wasm')) ? 'wasm' : '';
  }
  if (!backend) throw new Error('浏览器不支持 WebGL 和 WebAssembly，无法进行人脸识别，请换用新版 Chrome 或 Edge');

  try {
    onStep('正在加载人脸检测模型');
    await faceapi.nets.ssdMobilenetv1.loadFromUri(MODELS_URL);
    onStep('正在加载人脸关键点模型');
    await faceapi.nets.faceLandmark68Net.loadFromUri(MODELS_URL);
    onStep('正在加载人脸识别模型');
    await faceapi.nets.faceRecognitionNet.loadFromUri(MODELS_URL);
  } catch (error) {
    throw new Error(`人脸模型加载失败：${error instanceof Error ? error.message : String(error)}，请检查与服务器的连接后刷新页面`);
  }

  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE, maxResults: 5 });
  return {
    backend,
    read: async (video) => {
      const faces = await faceapi.detectAllFaces(video, options).withFaceLandmarks().withFaceDescriptors();
      const largest = faces.sort((a, b) => b.detection.box.width - a.detection.box.width)[0];
      if (!largest || largest.detection.box.width < MIN_FACE_WIDTH_PX) return null;
      const { x, y, width, height } = largest.detection.box;
      return { descriptor: largest.descriptor, box: { x, y, width, height }, score: largest.detection.score };
    },
  };
}

/** Euclidean distance of two descriptors, the measure the face matcher uses. */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}
