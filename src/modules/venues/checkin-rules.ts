import { newId } from '../../shared/ids.js';
import type { FieldCipher } from '../../shared/crypto.js';
import { checkTravel } from './travel-check.js';
import type { CheckinRow, FlagRow, PlacedCheckin, RecentCheckinRow, VenueRow } from './store.js';

/**
 * Decisions on a group of check-ins, apart from any IO. A repeat scan within the
 * duplicate window is folded into the earlier check-in. A check-in too far from the
 * person's previous venue for the minutes between is flagged for review. The group
 * writer (checkin-group.ts) reads the recent check-ins, calls `decideGroup` and stores
 * what it returns.
 */

/** A venue's id and position, all the writer needs of it. */
export type VenuePosition = Pick<VenueRow, 'id' | 'latitude' | 'longitude'>;

/**
 * A check-in before it is written. The ID number and phone are still plain text: the
 * writer encrypts them only for check-ins it inserts, so a folded repeat costs no
 * encryption, and the writer may run in another thread.
 */
export interface CheckinDraft {
  row: Omit<CheckinRow, 'id_number_enc' | 'phone_enc'>;
  idNumber: string | null;
  phone: string | null;
  venue: VenuePosition;
}

/** A stored check-in without its encrypted ID number and phone, as callers of the writer get it. */
export type CheckinRecord = Omit<CheckinRow, 'id_number_enc' | 'phone_enc'>;

export interface WrittenCheckin {
  checkin: CheckinRecord;
  /** True when this scan fell inside the duplicate window and returned the earlier check-in. */
  duplicate: boolean;
}

export interface CheckinWindows {
  /** A repeat at the same venue within this many ms is the same check-in; 0 turns folding off. */
  duplicateMs: number;
  /** Far-apart check-ins are looked for within this many ms. */
  travelMs: number;
}

/** A far-apart pair found in a group, for the writer's log line. */
export interface FarApartNote {
  checkinId: string;
  venueId: string;
  distanceM: number;
  minutes: number;
}

/**
 * The decision on one draft: inserted, or folded into an earlier check-in. The earlier
 * one may carry only its place and time (read for the decision), so the writer looks up
 * the rest of it.
 */
export type DraftOutcome = { duplicate: false; checkin: CheckinRecord } | { duplicate: true; earlier: PlacedCheckin };

export interface GroupDecision {
  /** One per draft, in the group's order. */
  results: DraftOutcome[];
  inserts: CheckinRow[];
  flags: FlagRow[];
  farApart: FarApartNote[];
}

/** Return the earliest instant whose check-ins the decision on `group` needs. */
export function recentSince(group: readonly CheckinDraft[], windows: CheckinWindows): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const draft of group) earliest = Math.min(earliest, draft.row.checked_in_at);
  return earliest - Math.max(windows.duplicateMs, windows.travelMs);
}

/**
 * Decide a group in order. `recent` contains the stored check-ins of the group's people
 * since `recentSince(group)`, oldest first, with venue positions. It is not changed. A later draft of the group sees the check-ins inserted for earlier ones.
 */
export function decideGroup(group: readonly CheckinDraft[], recent: readonly PlacedCheckin[], windows: CheckinWindows, cipher: FieldCipher): GroupDecision {
  const bySubject = new Map<string, PlacedCheckin[]>();
  for (const row of recent) {
    const list = bySubject.get(row.subject_hash);
    if (list) list.push(row);
    else bySubject.set(row.subject_hash, [row]);
  }

  const decision: GroupDecision = { results: [], inserts: [], flags: [], farApart: [] };
  for (const { row, idNumber, phone, venue } of group) {
    const list = bySubject.get(row.subject_hash) ?? [];
    const earlier = windows.duplicateMs > 0 ? findLatest(list, (c) => c.venue_id === venue.id && c.checked_in_at >= row.checked_in_at - windows.duplicateMs) : undefined;
    if (earlier) {
      decision.results.push({ duplicate: true, earlier });
      continue;
    }

    const checkin: CheckinRow = {
      ...row,
      id_number_enc: idNumber === null ? null : cipher.encrypt(idNumber),
      phone_enc: phone === null ? null : cipher.encrypt(phone),
    };
    if (checkin.id_number_hash && venue.latitude !== null && venue.longitude !== null) {
      const far = findFarApart(list, venue, checkin.checked_in_at, windows.travelMs);
      if (far) {
        checkin.flagged = 1;
        decision.flags.push({
          id: newId(checkin.checked_in_at),
          subject_hash: checkin.subject_hash,
          checkin_id: checkin.id,
          previous_checkin_id: far.previousId,
          distance_m: far.distanceM,
          minutes: Math.round(far.minutes * 10) / 10,
          status: 'open',
          created_at: checkin.checked_in_at,
          reviewed_by: null,
          reviewed_at: null,
          review_note: null,
        });
        decision.farApart.push({ checkinId: checkin.id, venueId: venue.id, distanceM: far.distanceM, minutes: far.minutes });
      }
    }
    decision.inserts.push(checkin);
    list.push({ ...checkin, latitude: venue.latitude, longitude: venue.longitude });
    bySubject.set(checkin.subject_hash, list);
    decision.results.push({ duplicate: false, checkin: recordOf(checkin) });
  }
  return decision;
}

function findLatest(list: PlacedCheckin[], match: (c: PlacedCheckin) => boolean): PlacedCheckin | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (match(list[i])) return list[i];
  return undefined;
}

/** Find the most recent check-in elsewhere, within the travel window, too far away to have come from. */
function findFarApart(list: PlacedCheckin[], venue: VenuePosition, at: number, travelMs: number) {
  const here = { latitude: venue.latitude!, longitude: venue.longitude! };
  for (let i = list.length - 1; i >= 0; i--) {
    const other = list[i];
    if (other.venue_id === venue.id || other.latitude === null || other.longitude === null) continue;
    if (other.checked_in_at < at - travelMs) continue;
    const verdict = checkTravel({ latitude: other.latitude, longitude: other.longitude }, other.checked_in_at, here, at);
    if (verdict.flagged) return { previousId: other.id, distanceM: verdict.distanceM, minutes: verdict.minutes };
  }
  return undefined;
}

/** Return a check-in without its venue position and ciphertext. */
export function recordOf(row: CheckinRow | RecentCheckinRow): CheckinRecord {
  const { id_number_enc: _idNumber, phone_enc: _phone, latitude: _latitude, longitude: _longitude, ...record } = row as CheckinRow & Partial<RecentCheckinRow>;
  return record;
}
