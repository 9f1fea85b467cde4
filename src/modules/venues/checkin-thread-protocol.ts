import type { CheckinDraft, CheckinWindows } from './checkin-rules.js';
import type { GroupResult } from './checkin-group.js';

/** Messages between the check-in writer and its SQLite worker thread (checkin-thread.ts). */

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
  | { kind: 'written'; seq: number; result: GroupResult }
  | { kind: 'failed'; seq: number; message: string; code?: string };
