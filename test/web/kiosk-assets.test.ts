import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** The kiosk loads its face models and WebAssembly from our server, never from a CDN. */
describe('kiosk assets', () => {
  let t: TestDb;
  let app: HttpApp;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    app = await buildApp(t.ctx);
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('serves the three model manifests and weights', async () => {
    for (const model of ['ssd_mobilenetv1_model', 'face_landmark_68_model', 'face_recognition_model']) {
      const manifest = await app.inject({ method: 'GET', url: `/models/${model}-weights_manifest.json` });
      expect(manifest.statusCode, model).toBe(200);
      expect(manifest.headers['cache-control']).toBe('public, max-age=86400');
      const weights = (manifest.json() as Array<{ paths: string[] }>)[0].paths;
      const bin = await app.inject({ method: 'HEAD', url: `/models/${weights[0]}` });
      expect(bin.statusCode, weights[0]).toBe(200);
    }
  });

  it('serves the wasm binaries as application/wasm', async () => {
    for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
      const response = await app.inject({ method: 'GET', url: `/tfjs-wasm/${file}` });
      expect(response.statusCode, file).toBe(200);
      expect(response.headers['content-type']).toBe('application/wasm');
      expect(response.rawPayload.subarray(0, 4).toString('hex')).toBe('0061736d');
    }
  });

  it('answers 404 for other files there', async () => {
    for (const url of ['/tfjs-wasm/tf-backend-wasm.js', '/tfjs-wasm/package.json', '/models/missing.bin', '/models/README.md']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['content-type'], url).toContain('application/json');
    }
  });

  it('never serves a package file through ..', async () => {
    for (const url of ['/tfjs-wasm/../package.json', '/tfjs-wasm/%2e%2e/package.json', '/models/%2e%2e/package.json']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.body, url).not.toContain('"version"');
    }
  });
});
