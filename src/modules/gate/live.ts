import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import type { AppContext } from '../../context.js';

/**
 * Live gate decisions and presence changes per school, for the lane screens and the
 * console (server-sent events). Within one process an EventEmitter fans them out.
 * Several processes behind a proxy each see only their own requests. So on PostgreSQL
 * every decision is also sent with NOTIFY on the `fangkong_gate` channel and every
 * presence change on `fangkong_presence`. Each process LISTENs (startGateListener) and
 * re-emits what other processes sent.
 */

export interface LiveDecision {
  eventId: string;
  deviceId: string;
  deviceName: string;
  lane: string | null;
  occurredAt: number;
  personId: string | null;
  personName: string | null;
  classId: string | null;
  className: string | null;
  method: string;
  temperature: number | null;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  flags: string[];
}

/**
 * A change to the pupils recorded present on a school day without a gate pass (see
 * presence.ts), such as a saved class check. The console refetches its arrival figures.
 */
export interface LivePresenceChange {
  /** The record that changed, for example 'class_check'. */
  source: string;
  /** The class whose pupils changed, or null when the change is not limited to one class. */
  classId: string | null;
  day: string;
  /** Epoch ms. */
  changedAt: number;
}

const CHANNEL = 'fangkong_gate';
/** A separate channel, so that a process of an older version never reads a presence change as a decision. */
const PRESENCE_CHANNEL = 'fangkong_presence';
/** NOTIFY payloads must stay under 8000 bytes in PostgreSQL's default build. */
const MAX_NOTIFY_BYTES = 7900;

interface LiveHub {
  /** Decisions, with the school id as the event name. */
  emitter: EventEmitter;
  /** Presence changes, with the school id as the event name. */
  presenceEmitter: EventEmitter;
  /** Marks this process's notifications, so the listener skips its own. */
  origin: string;
}

const hubs = new WeakMap<AppContext, LiveHub>();

function hubOf(ctx: AppContext): LiveHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = { emitter: new EventEmitter(), presenceEmitter: new EventEmitter(), origin: randomBytes(8).toString('hex') };
    // Every open stream is a listener; hundreds of lane screens and consoles are normal.
    hub.emitter.setMaxListeners(0);
    hub.presenceEmitter.setMaxListeners(0);
    hubs.set(ctx, hub);
  }
  return hub;
}

/** Listen to one school's decisions; returns the function that stops listening. */
export function subscribeDecisions(ctx: AppContext, schoolId: string, listener: (decision: LiveDecision) => void): () => void {
  const emitter = hubOf(ctx).emitter;
  emitter.on(schoolId, listener);
  return () => emitter.off(schoolId, listener);
}

/** Send a decision to this process's listeners and, on PostgreSQL, to other processes. */
export async function publishDecision(ctx: AppContext, schoolId: string, decision: LiveDecision): Promise<void> {
  const hub = hubOf(ctx);
  hub.emitter.emit(schoolId, decision);
  if (ctx.dialect !== 'postgres') return;

  const payload = JSON.stringify({ origin: hub.origin, schoolId, decision });
  if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES) {
    ctx.log.warn({ schoolId, eventId: decision.eventId }, 'live decision too large to notify other processes');
    return;
  }
  try {
    await sql`select pg_notify(${CHANNEL}, ${payload})`.execute(ctx.db);
  } catch (error) {
    ctx.log.warn({ err: error, schoolId }, 'live decision notify failed');
  }
}

/** Listen to one school's presence changes. Returns the function that stops listening. */
export function subscribePresenceChanges(ctx: AppContext, schoolId: string, listener: (change: LivePresenceChange) => void): () => void {
  const emitter = hubOf(ctx).presenceEmitter;
  emitter.on(schoolId, listener);
  return () => emitter.off(schoolId, listener);
}

/**
 * Send a presence change to this process's listeners and, on PostgreSQL, to other
 * processes. The module that owns a presence provider calls this after it stores a change.
 */
export async function publishPresenceChange(ctx: AppContext, schoolId: string, change: LivePresenceChange): Promise<void> {
  const hub = hubOf(ctx);
  hub.presenceEmitter.emit(schoolId, change);
  if (ctx.dialect !== 'postgres') return;

  const payload = JSON.stringify({ origin: hub.origin, schoolId, change });
  if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES) {
    ctx.log.warn({ schoolId, source: change.source, classId: change.classId }, 'live presence change too large to notify other processes');
    return;
  }
  try {
    await sql`select pg_notify(${PRESENCE_CHANNEL}, ${payload})`.execute(ctx.db);
  } catch (error) {
    ctx.log.warn({ err: error, schoolId, source: change.source, classId: change.classId }, 'live presence change notify failed');
  }
}

/**
 * LISTEN for decisions and presence changes from other processes on PostgreSQL and
 * re-emit them here. The connection is re-opened after an error, with a 5-second pause.
 * Returns the stop function; does nothing on SQLite, where one process serves everything.
 */
export async function startGateListener(ctx: AppContext): Promise<() => Promise<void>> {
  if (ctx.dialect !== 'postgres' || !ctx.config.databaseUrl) return async () => {};
  const hub = hubOf(ctx);
  let client: pg.Client | undefined;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (stopped) return;
    const next = new pg.Client({ connectionString: ctx.config.databaseUrl });
    next.on('notification', (message) => {
      if (!message.payload) return;
      if (message.channel === CHANNEL) {
        try {
          const parsed = JSON.parse(message.payload) as { origin: string; schoolId: string; decision: LiveDecision };
          if (parsed.origin === hub.origin) return;
          hub.emitter.emit(parsed.schoolId, parsed.decision);
        } catch (error) {
          ctx.log.warn({ err: error }, 'live decision notification unreadable');
        }
      } else if (message.channel === PRESENCE_CHANNEL) {
        try {
          const parsed = JSON.parse(message.payload) as { origin: string; schoolId: string; change: LivePresenceChange };
          if (parsed.origin === hub.origin) return;
          hub.presenceEmitter.emit(parsed.schoolId, parsed.change);
        } catch (error) {
          ctx.log.warn({ err: error }, 'live presence change notification unreadable');
        }
      }
    });
    next.on('error', (error) => {
      ctx.log.warn({ err: error }, 'live decision listener failed; reconnecting');
      next.end().catch(() => {});
      if (!stopped) retryTimer = setTimeout(() => void connect(), 5000);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      await next.query(`LISTEN ${PRESENCE_CHANNEL}`);
      client = next;
    } catch (error) {
      ctx.log.warn({ err: error }, 'live decision listener could not connect; retrying');
      next.end().catch(() => {});
      if (!stopped) retryTimer = setTimeout(() => void connect(), 5000);
    }
  };

  await connect();
  return async () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    await client?.end().catch(() => {});
  };
}
