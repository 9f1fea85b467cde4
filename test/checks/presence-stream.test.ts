import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { AppContext } from '../../src/context.js';
import type { HttpApp } from '../../src/http.js';
import { startGateListener, subscribePresenceChanges, type LivePresenceChange } from '../../src/modules/gate/live.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildChecksWorld, createAccount, sessionHeaders } from './helpers.js';

// 2026-12-07 is a Monday.
const MONDAY = '2026-12-07';

interface StreamEvent {
  event: string;
  data: string;
}

/** An open gate stream that collects its events, parsed from the server-sent-event text. */
class StreamReader {
  readonly events: StreamEvent[] = [];
  private buffer = '';
  private readonly controller = new AbortController();
  private done: Promise<void> = Promise.resolve();

  async open(url: string, cookie: string): Promise<void> {
    const response = await fetch(url, { headers: { cookie }, signal: this.controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    this.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          this.buffer += decoder.decode(value, { stream: true });
          this.parseBlocks();
        }
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      }
    })();
  }

  /** Wait until `count` events named `name` have arrived, at most 5 seconds. */
  async waitFor(name: string, count = 1): Promise<StreamEvent[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const named = this.events.filter((e) => e.event === name);
      if (named.length >= count) return named;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} "${name}" events; received ${JSON.stringify(this.events)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }

  private parseBlocks(): void {
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields = new Map(block.split('\n').filter((line) => line && !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      if (fields.has('event')) this.events.push({ event: fields.get('event')!, data: fields.get('data') ?? '' });
      end = this.buffer.indexOf('\n\n');
    }
  }
}

describe.each(DIALECTS)('%s: class checks on the live stream', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let baseUrl: string;
  let world: Awaited<ReturnType<typeof buildChecksWorld>>;
  let accounts: { admin: string; teacher: string; otherTeacher: string };

  const streamUrl = () => `${baseUrl}/api/schools/${world.school.code}/gate/stream`;
  const save = async (username: string, classId: string, entries: object[]) => {
    const response = await app.inject({
      method: 'PUT',
      url: `/api/schools/${world.school.code}/classes/${classId}/checks`,
      headers: await sessionHeaders(t.ctx, username),
      payload: { day: MONDAY, session: 'morning', entries },
    });
    expect(response.statusCode).toBe(200);
    return response.json() as { created: number; corrected: number; unchanged: number };
  };
  const openStream = async (username: string) => {
    const stream = new StreamReader();
    await stream.open(streamUrl(), (await sessionHeaders(t.ctx, username)).cookie);
    return stream;
  };

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(MONDAY, '08:30'));
    world = await buildChecksWorld(t.ctx);
    app = await buildApp(t.ctx);
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    accounts = {
      admin: await createAccount(t.ctx, 'school_admin', { schoolCode: world.school.code }),
      teacher: await createAccount(t.ctx, 'head_teacher', { schoolCode: world.school.code, className: world.klass.name }),
      otherTeacher: await createAccount(t.ctx, 'head_teacher', { schoolCode: world.school.code, className: world.other.klass.name }),
    };
  });

  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('streams a saved check as presence', async () => {
    const stream = await openStream(accounts.admin);
    const pupil = world.pupils[0]!.person;
    const saved = await save(accounts.teacher, world.klass.id, [{ personId: pupil.id, status: 'present' }]);
    expect(saved.created).toBe(1);

    const [event] = await stream.waitFor('presence');
    await stream.close();
    const change = JSON.parse(event!.data) as LivePresenceChange;
    expect(change).toEqual({ source: 'class_check', classId: world.klass.id, day: MONDAY, changedAt: instantOf(MONDAY, '08:30') });

    // The figures the dashboard refetches on the event count the pupil as arrived.
    const attendance = await app.inject({ method: 'GET', url: `/api/schools/${world.school.code}/attendance?day=${MONDAY}`, headers: await sessionHeaders(t.ctx, accounts.admin) });
    const klass = (attendance.json() as { classes: Array<{ classId: string; arrived: Array<{ personId: string; source: string }> }> }).classes.find((c) => c.classId === world.klass.id);
    expect(klass!.arrived).toContainEqual(expect.objectContaining({ personId: pupil.id, source: 'check' }));
  });

  it('publishes only saves that touch presence', async () => {
    const changes: LivePresenceChange[] = [];
    const unsubscribe = subscribePresenceChanges(t.ctx, world.school.id, (change) => changes.push(change));
    const pupil = world.pupils[1]!.person;

    await save(accounts.teacher, world.klass.id, [{ personId: pupil.id, status: 'absent', absenceReason: 'personal' }]);
    expect(changes).toHaveLength(0);

    // Unchanged rows store nothing.
    const unchanged = await save(accounts.teacher, world.klass.id, [{ personId: pupil.id, status: 'absent', absenceReason: 'personal' }]);
    expect(unchanged.unchanged).toBe(1);
    expect(changes).toHaveLength(0);

    await save(accounts.teacher, world.klass.id, [{ personId: pupil.id, status: 'present' }]);
    expect(changes).toHaveLength(1);

    // Taking the mark back moves the figures as well.
    const corrected = await save(accounts.teacher, world.klass.id, [{ personId: pupil.id, status: 'absent', absenceReason: 'personal' }]);
    expect(corrected.corrected).toBe(1);
    expect(changes).toHaveLength(2);
    unsubscribe();
  });

  it('keeps a head teacher to their class', async () => {
    const own = await openStream(accounts.teacher);
    const other = await openStream(accounts.otherTeacher);

    await save(accounts.admin, world.klass.id, [{ personId: world.pupils[2]!.person.id, status: 'present' }]);
    await own.waitFor('presence');
    await save(accounts.admin, world.other.klass.id, [{ personId: world.other.person.id, status: 'present' }]);
    const received = await other.waitFor('presence');
    await own.close();
    await other.close();

    // Streams deliver in order, so the other class's first event is its own save.
    expect(received).toHaveLength(1);
    expect((JSON.parse(received[0]!.data) as LivePresenceChange).classId).toBe(world.other.klass.id);
    expect(own.events.filter((e) => e.event === 'presence')).toHaveLength(1);
    expect((JSON.parse(own.events.find((e) => e.event === 'presence')!.data) as LivePresenceChange).classId).toBe(world.klass.id);
  });

  it.runIf(dialect === 'postgres')('fans presence out through NOTIFY', async () => {
    // A second context on the same database stands for a second server process.
    const otherProcess: AppContext = { ...t.ctx };
    const stop = await startGateListener(otherProcess);
    const seen: LivePresenceChange[] = [];
    const unsubscribe = subscribePresenceChanges(otherProcess, world.school.id, (change) => seen.push(change));
    await save(accounts.teacher, world.klass.id, [{ personId: world.pupils[3]!.person.id, status: 'present' }]);
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    unsubscribe();
    await stop();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ source: 'class_check', classId: world.klass.id, day: MONDAY });
  });
});
