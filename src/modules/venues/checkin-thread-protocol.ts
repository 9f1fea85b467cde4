import type { CheckinDraft, CheckinRecord, CheckinWindows } from './checkin-rules.js';
import type { GroupResult } from './checkin-group.js';

/** Messages between the check-in writer and its worker thread (checkin-thread.ts). */

export interface ThreadData {
  /** The SQLite file the server has open. */
  file: string;
  /** The field cipher's master key, so the thread encrypts what it inserts. */
  masterKey: Uint8Array;
}

export type ToThread =
  | { kind: 'write'; seq: number; group: CheckinDraft[]; windows: CheckinWindows; now: number }
  | { kind: 'forget' }
  | { kind: 'close' };

export type FromThread =
  | { kind: 'ready' }
  | { kind: 'written'; seq: number; result: PackedGroupResult }
  | { kind: 'failed'; seq: number; message: string; code?: string };

/**
 * A group's result as the thread sends it. The writer still has the drafts, so an
 * inserted check-in comes back as its `flagged` value (0 or 1) and only a folded repeat
 * carries a check-in: the earlier one. The server's thread copies less that way.
 */
export interface PackedGroupResult extends Omit<GroupResult, 'results'> {
  outcomes: Array<number | CheckinRecord>;
}

export function packResult(result: GroupResult): PackedGroupResult {
  const { results, ...rest } = result;
  return { ...rest, outcomes: results.map((written) => (written.duplicate ? written.checkin : written.checkin.flagged)) };
}

export function unpackResult(packed: PackedGroupResult, group: readonly CheckinDraft[]): GroupResult {
  const { outcomes, ...rest } = packed;
  const results = outcomes.map((outcome, i) =>
    typeof outcome === 'number' ? { checkin: { ...group[i].row, flagged: outcome }, duplicate: false } : { checkin: outcome, duplicate: true },
  );
  return { ...rest, results };
}
