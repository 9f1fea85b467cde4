import type { AppContext } from '../../context.js';
import { findPersonIdByCard } from './cards.js';
import { markDeviceSeen } from './devices.js';
import type { TerminalEvent, TerminalPush } from './hikvision.js';
import { recordEntry, type ResolvedIdentity } from './service.js';
import * as store from './store.js';

/**
 * Hikvision terminals in listening mode push each access event and move on, because
 * they open the door themselves. The route replies 200 at once and queues the push here.
 * Pushes of one device are processed in arrival order, so serial-number gaps are seen.
 *
 * NOTE: a push is held in memory between the 200 and its commit (normally a few
 * milliseconds); if the process dies in between, that event is lost, and the terminal
 * will not resend it.
 */

interface TerminalQueues {
  tails: Map<string, Promise<void>>;
  lastSerial: Map<string, number>;
}

const queues = new WeakMap<AppContext, TerminalQueues>();

function queuesOf(ctx: AppContext): TerminalQueues {
  let state = queues.get(ctx);
  if (!state) {
    state = { tails: new Map(), lastSerial: new Map() };
    queues.set(ctx, state);
  }
  return state;
}

/** Queue a push of a device behind that device's earlier pushes. */
export function enqueueTerminalPush(ctx: AppContext, device: store.DeviceRow, push: TerminalPush): void {
  const state = queuesOf(ctx);
  const previous = state.tails.get(device.id) ?? Promise.resolve();
  const next = previous
    .then(async () => {
      await processTerminalPush(ctx, device, push);
    })
    .catch((error: unknown) => {
      ctx.log.error({ err: error, deviceId: device.id }, 'terminal push failed');
    });
  state.tails.set(device.id, next);
  void next.then(() => {
    if (state.tails.get(device.id) === next) state.tails.delete(device.id);
  });
}

/** Wait until every queued push has been processed (tests, shutdown). */
export async function drainTerminalQueues(ctx: AppContext): Promise<void> {
  const state = queuesOf(ctx);
  while (state.tails.size > 0) await Promise.all([...state.tails.values()]);
}

export interface TerminalPushResult {
  entries: number;
  ignored: number;
}

/** Record every verification event of a push; door, alarm and operation events are ignored. */
export async function processTerminalPush(ctx: AppContext, device: store.DeviceRow, push: TerminalPush): Promise<TerminalPushResult> {
  await markDeviceSeen(ctx, device);
  for (const skipped of push.skipped) {
    ctx.log.warn({ deviceId: device.id, part: skipped.name, reason: skipped.reason }, 'terminal push part skipped');
  }

  const result: TerminalPushResult = { entries: 0, ignored: 0 };
  let picture = push.picture;
  for (const event of push.events) {
    await noteSerialNo(ctx, device, event);
    if (!event.verification) {
      result.ignored += 1;
      continue;
    }

    const identity = await identifyTerminalPerson(ctx, device.school_id, event);
    const outcome = await recordEntry(ctx, {
      device,
      eventId: event.eventId,
      occurredAt: event.occurredAt,
      method: event.verification.method,
      identity,
      temperatureC: event.temperatureC,
      terminalReportsFever: event.abnormalTemperature === true,
      terminalVerdict: event.verification.result,
      extraFlags: event.mask === 'no' ? ['no_mask'] : [],
      snapshot: picture,
    });
    // A push carries one picture, of its first entry.
    picture = null;
    result.entries += 1;
    ctx.log.debug({ deviceId: device.id, eventId: event.eventId, decision: outcome.decision, duplicate: outcome.duplicate }, 'terminal entry recorded');
  }
  return result;
}

/** Find the person a terminal names by employee number (student or staff number) or card number. */
async function identifyTerminalPerson(ctx: AppContext, schoolId: string, event: TerminalEvent): Promise<ResolvedIdentity> {
  if (event.employeeNo) {
    const person = await store.findGatePersonByNumber(ctx.db, schoolId, event.employeeNo);
    if (person) return { status: 'identified', personId: person.id };
  }
  if (event.cardNo) {
    const personId = await findPersonIdByCard(ctx, schoolId, event.cardNo);
    if (personId) return { status: 'identified', personId };
  }
  return { status: 'unknown' };
}

/**
 * Track the device's serial numbers. A jump forward means events were lost on the way,
 * and the missing range is logged. A number at or below the last one is a resend or a
 * replay after a reboot, which the event ids de-duplicate.
 * NOTE: a terminal whose counter restarts (a factory reset) gets no gap detection until
 * it passes its old maximum; its events are still recorded.
 */
async function noteSerialNo(ctx: AppContext, device: store.DeviceRow, event: TerminalEvent): Promise<void> {
  if (event.serialNo === null) return;
  const state = queuesOf(ctx);
  let last = state.lastSerial.get(device.id);
  if (last === undefined) {
    last = (await store.findDeviceById(ctx.db, device.id))?.last_serial_no ?? undefined;
  }
  if (last !== undefined && event.serialNo <= last) return;

  if (last !== undefined && event.serialNo > last + 1) {
    ctx.log.warn({ deviceId: device.id, missingFrom: last + 1, missingTo: event.serialNo - 1, missing: event.serialNo - last - 1 }, 'terminal serial number gap');
  }
  state.lastSerial.set(device.id, event.serialNo);
  await store.raiseLastSerialNo(ctx.db, device.id, event.serialNo);
}
