import type { AppContext } from '../../context.js';
import type { CodeColor, VenueCheckinMethod } from '../../db/schema.js';
import { maskIdNumber, maskPhone } from '../../shared/crypto.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { venueCodeLookup, type CodeLookupResult } from './code-lookup.js';
import { cardHashOf, checkIdNumber, normalizeCardNumber, normalizePhone } from './service.js';
import { checkinWriter } from './checkin-writer.js';
import type { CheckinDraft, CheckinRecord } from './checkin-rules.js';
import * as store from './store.js';

/**
 * Check-ins: by scanning (the person's own phone), by card (a reader or the number typed
 * by staff) and by staff registration. Every method goes through `recordCheckin`, which
 * looks up the code and hands the check-in to the group writer (checkin-writer.ts). The
 * writer folds a repeat within the duplicate window into the first check-in and flags
 * far-apart check-ins of one ID number.
 */

export interface IdentityInput {
  name: string;
  idNumber?: string | null;
  phone?: string | null;
}

/** A checked identity: name trimmed, ID number valid, phone a mainland mobile number. */
export interface Identity {
  name: string;
  idNumber?: string;
  phone?: string;
}

/** Check what a person or staff typed; throws VALIDATION or INVALID_ID_NUMBER with the reason. */
export function checkIdentity(ctx: AppContext, input: IdentityInput): Identity {
  const name = (input.name ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (!name) throw new AppError('VALIDATION', { detail: '请填写姓名' });
  if ([...name].length > 30) throw new AppError('VALIDATION', { detail: '姓名不能超过 30 个字' });

  const idText = input.idNumber?.trim() ?? '';
  const phoneText = input.phone?.trim() ?? '';
  if (!idText && !phoneText) throw new AppError('VALIDATION', { detail: '请填写身份证号或手机号' });

  const identity: Identity = { name };
  if (idText) identity.idNumber = checkIdNumber(ctx, idText);
  if (phoneText) {
    const phone = normalizePhone(phoneText);
    if (!phone) throw new AppError('VALIDATION', { detail: `手机号 ${maskPhone(phoneText.replace(/\s+/g, ''))} 无效，应为 11 位手机号` });
    identity.phone = phone;
  }
  return identity;
}

export interface CheckinRequest {
  venue: store.VenueRow;
  method: VenueCheckinMethod;
  identity: Identity;
  cardId?: string;
  deviceId?: string;
  /** Manual registration: whether the staff saw the person's code, and its colour when given. */
  codeSeen?: boolean;
  seenColor?: CodeColor;
}

export interface CheckinOutcome {
  checkin: CheckinRecord;
  /** True when this scan fell inside the duplicate window and returned the earlier check-in. */
  duplicate: boolean;
}

/**
 * Record a check-in through the group writer, or return the person's check-in at the
 * venue within the duplicate window. The code is looked up before the write (from the
 * cache on a repeat scan), so the write itself does no network IO.
 */
export async function recordCheckin(ctx: AppContext, request: CheckinRequest): Promise<CheckinOutcome> {
  const { identity, venue } = request;
  const now = ctx.now();
  const idNumberHash = identity.idNumber ? ctx.cipher.hash(identity.idNumber) : null;
  const phoneHash = identity.phone ? ctx.cipher.hash(identity.phone) : null;

  const code: CodeLookupResult = identity.idNumber
    ? await venueCodeLookup(ctx).lookup(identity.idNumber, idNumberHash!)
    : { color: 'unknown', source: 'no_id_number' };

  const row: CheckinDraft['row'] = {
    id: newId(now),
    venue_id: venue.id,
    checked_in_at: now,
    method: request.method,
    subject_hash: (idNumberHash ?? phoneHash)!,
    name: identity.name,
    id_number_hash: idNumberHash,
    id_number_masked: identity.idNumber ? maskIdNumber(identity.idNumber) : null,
    phone_hash: phoneHash,
    phone_masked: identity.phone ? maskPhone(identity.phone) : null,
    code_color: code.color,
    code_source: code.source,
    code_seen: null,
    seen_color: null,
    card_id: request.cardId ?? null,
    device_id: request.deviceId ?? null,
    flagged: 0,
  };
  if (request.method === 'manual') {
    row.code_seen = request.codeSeen ? 1 : 0;
    if (request.codeSeen) row.seen_color = request.seenColor ?? null;
  }
  // The writer encrypts the ID number and phone of a check-in it inserts.
  const position = { id: venue.id, latitude: venue.latitude, longitude: venue.longitude };
  return checkinWriter(ctx).submit({ row, idNumber: identity.idNumber ?? null, phone: identity.phone ?? null, venue: position });
}

/**
 * Check in with a card: swiped at a reader or typed by staff. An unregistered card is
 * VENUE_CARD_UNKNOWN, a lost one VENUE_CARD_LOST; neither is recorded as a check-in.
 */
export async function checkinWithCard(
  ctx: AppContext,
  venue: store.VenueRow,
  cardNumber: string,
  method: 'card_reader' | 'card_typed',
  deviceId: string,
): Promise<CheckinOutcome & { card: store.VenueCardRow }> {
  const normalized = normalizeCardNumber(cardNumber);
  if (!normalized) throw new AppError('VALIDATION', { detail: '卡号为空，请重新刷卡或输入卡号' });
  const card = await store.findCardByHash(ctx.db, cardHashOf(ctx, normalized));
  if (!card) throw new AppError('VENUE_CARD_UNKNOWN', { masked: normalized.slice(-4) });
  if (card.status === 'lost') {
    ctx.log.warn({ cardId: card.id, venueId: venue.id, deviceId }, 'lost card rejected');
    throw new AppError('VENUE_CARD_LOST', { masked: card.card_masked });
  }

  const identity: Identity = { name: card.holder_name, idNumber: ctx.cipher.decrypt(card.id_number_enc) };
  if (card.phone_enc) identity.phone = ctx.cipher.decrypt(card.phone_enc);
  const outcome = await recordCheckin(ctx, { venue, method, identity, cardId: card.id, deviceId });
  return { ...outcome, card };
}

/** Find the check-in a result page shows; undefined once retention has deleted it. */
export async function findCheckin(ctx: AppContext, id: string): Promise<store.CheckinRow | undefined> {
  return store.findCheckin(ctx.db, id);
}
