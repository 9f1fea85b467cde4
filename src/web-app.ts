import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { AppContext } from './context.js';
import type { HttpApp } from './http.js';

/** Find the folder that contains package.json, from this file in src/ or in dist/src/. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** Output folder of `npm run build:web`, served at '/'. */
export const WEB_DIST_DIR = join(findPackageRoot(), 'web', 'dist');

const require = createRequire(import.meta.url);

/** URL prefix of the face-model files that the gate kiosk loads in the browser. */
export const MODELS_PREFIX = '/models/';
/** URL prefix of the TensorFlow.js WebAssembly binaries, the kiosk's fallback when WebGL is missing. */
export const TFJS_WASM_PREFIX = '/tfjs-wasm/';

/** Model files change only with the package version; a day of caching spares the kiosk 12 MB per load. */
const MODEL_CACHE_SECONDS = 24 * 60 * 60;

/**
 * Serve what the kiosk computes faces with, from our own server and never a CDN: the face
 * models (the same folder the server's face module reads, so browser and server
 * descriptors come from one model) and the tfjs-backend-wasm binaries. Their versions
 * match the TensorFlow.js that @vladmandic/face-api bundles (4.22.0 for face-api 1.7.15).
 */
async function registerKioskAssets(app: HttpApp, ctx: AppContext): Promise<void> {
  const modelDir = ctx.config.face.modelDir || join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const cacheHeaders = (res: { header(name: string, value: string): unknown }) => {
    res.header('Cache-Control', `public, max-age=${MODEL_CACHE_SECONDS}`);
  };

  await app.register(fastifyStatic, {
    root: modelDir,
    prefix: MODELS_PREFIX,
    decorateReply: false,
    index: false,
    allowedPath: (path) => /^\/[\w.-]+\.(json|bin)$/.test(path),
    setHeaders: cacheHeaders,
  });
  await app.register(fastifyStatic, {
    root: wasmDir,
    prefix: TFJS_WASM_PREFIX,
    decorateReply: false,
    index: false,
    allowedPath: (path) => /^\/tfjs-backend-wasm[\w-]*\.wasm$/.test(path),
    setHeaders: cacheHeaders,
  });
}

/**
 * Serve the kiosk's model and WebAssembly files, and the built console from web/dist at
 * '/'. A GET for any other path outside /api returns index.html, so the browser router
 * handles deep links such as /persons. Unknown /api paths and missing kiosk files keep a
 * JSON 404. The console is not served when web/dist is missing.
 */
export async function registerWebApp(app: HttpApp, ctx: AppContext, distDir = WEB_DIST_DIR): Promise<void> {
  await registerKioskAssets(app, ctx);

  const hasBuild = existsSync(join(distDir, 'index.html'));
  if (!hasBuild) {
    ctx.log.info({ distDir }, 'web app not built; run `npm run build:web` to serve the console');
  } else {
    await app.register(fastifyStatic, {
      root: distDir,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      setHeaders: (res, path) => {
        // Vite puts a content hash in every file name under assets/, so those never change.
        const immutable = path.includes(`${join(distDir, 'assets')}`);
        res.header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0];
    const isApi = path === '/api' || path.startsWith('/api/');
    const isAsset = path.startsWith(MODELS_PREFIX) || path.startsWith(TFJS_WASM_PREFIX);
    if (hasBuild && !isApi && !isAsset && (request.method === 'GET' || request.method === 'HEAD')) {
      return reply.header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html');
    }
    return reply.status(404).send({ error: 'NOT_FOUND', message: isAsset ? `未找到文件：${path}` : `未找到接口：${request.method} ${path}` });
  });
}
