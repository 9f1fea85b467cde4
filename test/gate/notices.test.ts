import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { assignCard } from '../../src/modules/gate/cards.js';
import { DIALECTS } from '../helpers/db.js';
import { startHarness, type NotifyHarness } from '../notify/harness.js';
import { bearer, buildGateWorld, setCode } from './helpers.js';

describe.each(DIALECTS)('%s: gate notices reach DingTalk', (dialect) => {
  let h: NotifyHarness;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildGateWorld>>;

  beforeAll(async () => {
    h = await startHarness(dialect);
    world = await buildGateWorld(h.t.ctx);
    await assignCard(h.t.ctx, { schoolCode: world.school.code, cardNumber: '7001', personId: world.pupil.person.id });
    await assignCard(h.t.ctx, { schoolCode: world.school.code, cardNumber: '7002', personId: world.classmate.person.id });
    app = await buildApp(h.t.ctx);
  });
  afterAll(async () => {
    await app.close();
    await h.close();
  });

  it('delivers fever and code notices as work notices', async () => {
    await setCode(h.t.ctx, world.school.id, world.classmate.person.id, 'yellow');
    const post = (payload: object) => app.inject({ method: 'POST', url: '/api/devices/events', headers: bearer(world.api), payload });
    expect((await post({ eventId: 'n1', occurredAt: h.now(), temperature: 37.9, cardNumber: '7001' })).json().reason).toBe('fever');
    expect((await post({ eventId: 'n2', occurredAt: h.now(), temperature: 36.4, cardNumber: '7002' })).json().reason).toBe('code_yellow');

    await h.settle();
    const messages = h.sim.messages();
    const titles = (userId: string | null) => (messages[userId ?? ''] ?? []).map((m) => m.title).sort();
    expect(titles(world.headTeacher.dingtalk_user_id)).toEqual(['体温异常提醒', '健康码异常提醒']);
    expect(titles(world.doctor.dingtalk_user_id)).toEqual(['体温异常提醒']);
    expect(titles(world.manager.dingtalk_user_id)).toEqual(['健康码异常提醒']);
    expect(messages[world.headTeacher.dingtalk_user_id!].find((m) => m.title === '健康码异常提醒')!.text).toContain('黄码');

    const statuses = await h.t.ctx.db.selectFrom('outbox').select('status').where('kind', 'in', ['gate_fever', 'gate_code']).execute();
    expect(statuses.every((s) => s.status === 'sent')).toBe(true);
  });
});
