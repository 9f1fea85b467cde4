import { existsSync } from 'node:fs';
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

/**
 * Serve the built console from web/dist at '/'. A GET for any other path outside /api
 * returns index.html, so the browser router handles deep links such as /persons.
 * Unknown /api paths keep a JSON 404. Nothing is served when web/dist is missing.
 */
export async function registerWebApp(app: HttpApp, ctx: AppContext, distDir = WEB_DIST_DIR): Promise<void> {
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
    if (hasBuild && !isApi && (request.method === 'GET' || request.method === 'HEAD')) {
      return reply.header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html');
    }
    return reply.status(404).send({ error: 'NOT_FOUND', message: `未找到接口：${request.method} ${path}` });
  });
}
