import type { AppContext } from '../../context.js';
import type { GateMethod } from '../../db/schema.js';
import { parseDeviceEventBody, type DeviceCredential } from './device-event-input.js';
import { findPersonIdByCard } from './cards.js';
import { markDeviceSeen } from './devices.js';
import { identifyFaceDescriptor, identifyFaceImage } from './face-identity.js';
import { recordEntry, type EntryOutcome, type ResolvedIdentity } from './service.js';
import * as store from './store.js';

/**
 * Events from Fangkong's own device API and the browser kiosk: the lane sends what it
 * read (a face descriptor or picture, a card, an ID number) and waits for the decision.
 */

/** Check the body, identify the person and record the entry; returns the lane's decision. */
export async function handleDeviceEvent(ctx: AppContext, device: store.DeviceRow, body: unknown): Promise<EntryOutcome> {
  const input = parseDeviceEventBody(body, ctx.now());
  await markDeviceSeen(ctx, device);

  // Face detection on a picture costs far more than a lookup, so a resend is looked up first.
  if (input.credential.kind === 'image') {
    const existing = await store.findGateEvent(ctx.db, device.id, input.eventId);
    if (existing) {
      const person = existing.person_id ? await store.findGatePerson(ctx.db, existing.person_id) : undefined;
      return {
        gateEventId: existing.id,
        eventId: existing.event_id,
        duplicate: true,
        decision: existing.decision,
        reason: existing.reason,
        prompt: existing.prompt,
        flags: JSON.parse(existing.flags) as string[],
        personId: existing.person_id,
        personName: person?.name ?? null,
        occurredAt: existing.occurred_at,
      };
    }
  }

  const resolved = await resolveCredential(ctx, device.school_id, input.credential);
  return recordEntry(ctx, {
    device,
    eventId: input.eventId,
    occurredAt: input.occurredAt,
    method: resolved.method,
    identity: resolved.identity,
    temperatureC: input.temperatureC,
    face: resolved.face,
    snapshot: input.credential.kind === 'image' ? input.credential.image : null,
  });
}

interface ResolvedCredential {
  method: GateMethod;
  identity: ResolvedIdentity;
  face?: { distance: number | null; margin: number | null };
}

async function resolveCredential(ctx: AppContext, schoolId: string, credential: DeviceCredential): Promise<ResolvedCredential> {
  switch (credential.kind) {
    case 'descriptor': {
      const face = await identifyFaceDescriptor(ctx, schoolId, credential.descriptor);
      return { method: 'face', identity: face.identity, face: { distance: face.distance, margin: face.margin } };
    }
    case 'image': {
      const face = await identifyFaceImage(ctx, schoolId, credential.image);
      return { method: 'face', identity: face.identity, face: { distance: face.distance, margin: face.margin } };
    }
    case 'card': {
      const personId = await findPersonIdByCard(ctx, schoolId, credential.cardNumber);
      return { method: 'card', identity: personId ? { status: 'identified', personId } : { status: 'unknown' } };
    }
    case 'id_number': {
      const person = await store.findGatePersonByIdNumberHash(ctx.db, schoolId, ctx.cipher.hash(credential.idNumber));
      return { method: 'id_number', identity: person ? { status: 'identified', personId: person.id } : { status: 'unknown' } };
    }
    case 'person':
      return { method: 'manual', identity: { status: 'identified', personId: credential.personId } };
  }
}
