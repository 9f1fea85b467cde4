import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { extractDescriptor } from '../../src/modules/face/extract.js';
import { saveDescriptor } from '../../src/modules/face/service.js';
import { snapshotFile } from '../../src/modules/gate/snapshots.js';
import { insertConsent } from '../../src/modules/people/store.js';
import { newId } from '../../src/shared/ids.js';
import { instantOf } from '../../src/shared/time.js';
import { randomUnitDescriptor } from '../../tools/simulators/terminal.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { bearer, buildGateWorld, setCode } from './helpers.js';

const faces = join(import.meta.dirname, '../fixtures/faces');

/** A seeded generator, so the synthetic gallery is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function blend(a: number[], b: number[], weight: number): number[] {
  const mixed = a.map((v, i) => v * (1 - weight) + b[i] * weight);
  const norm = Math.sqrt(mixed.reduce((sum, v) => sum + v * v, 0));
  return mixed.map((v) => v / norm);
}

describe.each(DIALECTS)('%s: gate face identification', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;
  const random = seeded(42);
  const pupilFace = randomUnitDescriptor(random);
  // Close to the pupil's face (about 0.2 apart), so a probe between them is ambiguous.
  const classmateFace = blend(pupilFace, randomUnitDescriptor(random), 0.15);
  let sequence = 0;

  const post = (credential: Record<string, unknown>) => {
    sequence += 1;
    return app.inject({ method: 'POST', url: '/api/devices/events', headers: bearer(world.api), payload: { eventId: `f${sequence}`, occurredAt: t.ctx.now(), temperature: 36.5, ...credential } });
  };

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf('2026-12-07', '07:20'));
    world = await buildGateWorld(t.ctx);
    for (const person of [world.pupil.person, world.classmate.person, world.manager]) {
      await insertConsent(t.ctx.db, { id: newId(), person_id: person.id, purpose: 'face', given_by: 'self', guardian_id: null, given_at: t.ctx.now(), revoked_at: null, note: null });
    }
    for (const [person, descriptor] of [[world.pupil.person, pupilFace], [world.classmate.person, classmateFace]] as const) {
      await saveDescriptor(t.ctx, { schoolId: world.school.id, personId: person.id, descriptor: Float32Array.from(descriptor), score: 0.99, source: 'api' });
    }
    app = await buildApp(t.ctx);
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('passes a close descriptor match', async () => {
    const reply = await post({ descriptor: blend(pupilFace, randomUnitDescriptor(random), 0.05) });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ decision: 'pass', reason: 'ok', personId: world.pupil.person.id });
    const row = await t.ctx.db.selectFrom('gate_events').selectAll().where('event_id', '=', `f${sequence}`).executeTakeFirstOrThrow();
    expect(row.method).toBe('face');
    expect(row.face_distance).toBeGreaterThan(0);
    expect(row.face_distance).toBeLessThan(0.5);
  });

  it('asks for the card on a weak match', async () => {
    const reply = await post({ descriptor: blend(pupilFace, classmateFace, 0.5) });
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'weak_match', prompt: '请刷卡核验', personId: null });
    const row = await t.ctx.db.selectFrom('gate_events').selectAll().where('event_id', '=', `f${sequence}`).executeTakeFirstOrThrow();
    expect(row.face_margin).toBeLessThan(0.05);
    expect(await t.ctx.db.selectFrom('alerts').select('id').where('gate_event_id', '=', row.id).execute()).toHaveLength(0);
  });

  it('denies an unknown face and alerts the guard', async () => {
    const reply = await post({ descriptor: randomUnitDescriptor(random) });
    expect(reply.json()).toMatchObject({ decision: 'deny', reason: 'unknown_person', prompt: '未识别身份，请联系门卫', personId: null });
    const row = await t.ctx.db.selectFrom('gate_events').select('id').where('event_id', '=', `f${sequence}`).executeTakeFirstOrThrow();
    const alert = await t.ctx.db.selectFrom('alerts').selectAll().where('gate_event_id', '=', row.id).executeTakeFirstOrThrow();
    expect(alert.kind).toBe('unknown_face');
  });

  // The face model takes seconds to load; the database side is covered above on both dialects.
  it.runIf(dialect === 'sqlite')('matches a photo, snapshots denials', async () => {
    const enrolled = await extractDescriptor(readFileSync(join(faces, 'faceapi-bbt/amy/amy1.png')));
    const amy = world.manager;
    await saveDescriptor(t.ctx, { schoolId: world.school.id, personId: amy.id, descriptor: enrolled.descriptor, score: enrolled.score, source: 'api' });
    await setCode(t.ctx, world.school.id, amy.id, 'green');

    const photo = await sharp(readFileSync(join(faces, 'faceapi-bbt/amy/amy2.png'))).jpeg().toBuffer();
    const matched = await post({ imageBase64: photo.toString('base64') });
    expect(matched.json()).toMatchObject({ decision: 'pass', personId: amy.id });
    const passRow = await t.ctx.db.selectFrom('gate_events').selectAll().where('event_id', '=', `f${sequence}`).executeTakeFirstOrThrow();
    expect(passRow.snapshot_path).toBeNull();

    const noFace = readFileSync(join(faces, 'no-face/inspireface_view.jpg'));
    const denied = await post({ imageBase64: noFace.toString('base64') });
    expect(denied.json()).toMatchObject({ decision: 'deny', reason: 'unknown_person' });
    const denyRow = await t.ctx.db.selectFrom('gate_events').selectAll().where('event_id', '=', `f${sequence}`).executeTakeFirstOrThrow();
    expect(denyRow.snapshot_path).not.toBeNull();
    expect(existsSync(snapshotFile(t.ctx, denyRow.snapshot_path!))).toBe(true);

    const again = await app.inject({ method: 'POST', url: '/api/devices/events', headers: bearer(world.api), payload: { eventId: `f${sequence}`, occurredAt: t.ctx.now(), imageBase64: noFace.toString('base64') } });
    expect(again.json()).toMatchObject({ duplicate: true, decision: 'deny' });
  });
});
