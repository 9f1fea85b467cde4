import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { createUser } from '../../src/modules/auth/service.js';
import { SYNC_TRIGGERS } from '../../src/modules/healthcode/sync.js';
import { SYNC_TRIGGER_LABELS } from '../../web/src/sync-triggers.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';
import { setCode } from '../gate/helpers.js';

const PASSWORD = 'Code-Counts-2026';
const HOUR = 60 * 60_000;

describe.each(DIALECTS)('%s: GET /api/schools/:code/code-counts', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let school: { id: string; code: string };
  let ownClassId: string;
  const cookies: Record<string, string> = {};

  const get = (url: string, who: string) => app.inject({ method: 'GET', url, headers: { cookie: cookies[who] } });

  beforeAll(async () => {
    t = await createTestDb(dialect);
    app = await buildApp(t.ctx);
    school = await buildSchool(t.ctx);
    const now = t.ctx.now();
    const a = await buildStudent(t.ctx, school.id, { grade: 2, classNumber: 3 });
    const b = await buildStudent(t.ctx, school.id, { grade: 2, classNumber: 3 });
    const c = await buildStudent(t.ctx, school.id, { grade: 2, classNumber: 4 });
    const d = await buildStudent(t.ctx, school.id, { grade: 5, classNumber: 1 });
    // Never synced: counted as unknown and unsynced, not as stale or attention.
    await buildStudent(t.ctx, school.id, { grade: 5, classNumber: 1 });
    // No consent and no code: not counted, as the codes list leaves them out.
    await buildStudent(t.ctx, school.id, { grade: 5, classNumber: 1, consent: false });
    const staff = await buildStaff(t.ctx, school.id, 'head_teacher', { classId: a.klass.id });
    ownClassId = a.klass.id;
    await setCode(t.ctx, school.id, a.person.id, 'green');
    await setCode(t.ctx, school.id, b.person.id, 'yellow');
    await setCode(t.ctx, school.id, c.person.id, 'green', now - 48 * HOUR);
    await setCode(t.ctx, school.id, d.person.id, 'red');
    await setCode(t.ctx, school.id, staff.id, 'green');

    await createUser(t.ctx, { username: `cc-admin-${dialect}`, role: 'school_admin', schoolCode: school.code, password: PASSWORD }, null);
    await createUser(t.ctx, { username: `cc-head-${dialect}`, role: 'head_teacher', schoolCode: school.code, className: '二(3)班', password: PASSWORD }, null);
    for (const who of ['admin', 'head']) {
      const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: `cc-${who}-${dialect}`, password: PASSWORD } });
      cookies[who] = (login.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
    }
  });

  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('counts equal the codes list', async () => {
    const list = (await get(`/api/schools/${school.code}/codes`, 'admin')).json().items as Array<{ color: string; isStale: boolean; fetchedAt: number | null; classId: string | null }>;
    const response = await get(`/api/schools/${school.code}/code-counts`, 'admin');
    expect(response.statusCode, response.body).toBe(200);
    const counts = response.json();

    expect(counts.school.total).toBe(list.length);
    for (const color of ['green', 'yellow', 'red', 'unknown']) expect(counts.school[color]).toBe(list.filter((i) => i.color === color).length);
    const fetched = list.filter((i) => i.fetchedAt !== null);
    expect(counts.school.stale).toBe(fetched.filter((i) => i.isStale).length);
    expect(counts.school.attention).toBe(fetched.filter((i) => i.color !== 'green' || i.isStale).length);
    expect(counts.school.unsynced).toBe(list.length - fetched.length);
    expect(counts.school).toEqual({ total: 6, green: 3, yellow: 1, red: 1, unknown: 1, stale: 1, attention: 3, unsynced: 1 });
  });

  it('list filters match the counts', async () => {
    const counts = (await get(`/api/schools/${school.code}/code-counts`, 'admin')).json();
    const listed = async (query: string) => {
      const response = await get(`/api/schools/${school.code}/codes?${query}`, 'admin');
      expect(response.statusCode, response.body).toBe(200);
      return response.json().items as Array<{ color: string; isStale: boolean; fetchedAt: number | null }>;
    };

    const stale = await listed('stale=true');
    expect(stale).toHaveLength(counts.school.stale);
    expect(stale.every((i) => i.fetchedAt !== null && i.isStale)).toBe(true);

    const fresh = await listed('stale=false');
    expect(fresh).toHaveLength(counts.school.total - counts.school.stale - counts.school.unsynced);
    expect(fresh.every((i) => i.fetchedAt !== null && !i.isStale)).toBe(true);

    const unsynced = await listed('unsynced=true');
    expect(unsynced).toHaveLength(counts.school.unsynced);
    expect(unsynced.every((i) => i.fetchedAt === null && i.color === 'unknown')).toBe(true);

    expect(await listed('unsynced=false')).toHaveLength(counts.school.total - counts.school.unsynced);
    // The never-synced code is the only unknown one, so unknown among fetched codes is empty.
    expect(await listed('color=unknown')).toHaveLength(counts.school.unknown);
    expect(await listed('color=unknown&unsynced=false')).toHaveLength(0);
  });

  it('groups by class and grade, staff apart', async () => {
    const counts = (await get(`/api/schools/${school.code}/code-counts`, 'admin')).json();
    expect(counts.classes.map((c: { className: string }) => c.className)).toEqual(['二(3)班', '二(4)班', '五(1)班']);
    expect(counts.classes[0].counts).toMatchObject({ total: 2, green: 1, yellow: 1, attention: 1 });
    expect(counts.classes[1].counts).toMatchObject({ total: 1, green: 1, stale: 1, attention: 1 });
    expect(counts.grades).toEqual([
      { grade: 2, counts: { total: 3, green: 2, yellow: 1, red: 0, unknown: 0, stale: 1, attention: 2, unsynced: 0 } },
      { grade: 5, counts: { total: 2, green: 0, yellow: 0, red: 1, unknown: 1, stale: 0, attention: 1, unsynced: 1 } },
    ]);
    expect(counts.unplaced).toMatchObject({ total: 1, green: 1 });
  });

  it('a head teacher gets their class only', async () => {
    const counts = (await get(`/api/schools/${school.code}/code-counts`, 'head')).json();
    expect(counts.classes.map((c: { classId: string }) => c.classId)).toEqual([ownClassId]);
    expect(counts.school).toMatchObject({ total: 2, yellow: 1 });
    expect(counts.unplaced.total).toBe(0);
  });
});

describe('sync run triggers', () => {
  it('every trigger the sources pass is listed and labelled', () => {
    const passed = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const match of text.matchAll(/(?:runSync|startSync)\([^,]+,[^,]+,\s*'([^']+)'/g)) passed.add(match[1]);
          for (const match of text.matchAll(/launch\([^)]*trigger: '([^']+)'/g)) passed.add(match[1]);
        }
      }
    };
    walk(join(import.meta.dirname, '../../src'));
    expect([...passed].sort()).toEqual([...SYNC_TRIGGERS].sort());
    for (const trigger of SYNC_TRIGGERS) expect(SYNC_TRIGGER_LABELS[trigger], trigger).toMatch(/\p{Script=Han}/u);
  });
});
