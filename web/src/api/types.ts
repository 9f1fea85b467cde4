/** Reply shapes of the module APIs the console reads, as their route schemas define them. */

export type CodeColor = 'green' | 'yellow' | 'red' | 'unknown';

/** GET /api/schools/:code/codes */
export interface CodeEntry {
  personId: string;
  name: string;
  kind: 'student' | 'staff';
  classId: string | null;
  className: string | null;
  idNumberMasked: string | null;
  color: CodeColor;
  isStale: boolean;
  fetchedAt: number | null;
  reason: string | null;
  lastFailure: string | null;
}

/** GET /api/schools/:code/sync-runs */
export interface SyncRun {
  id: string;
  trigger: string;
  status: string;
  startedAt: number;
  finishedAt: number | null;
  total: number;
  processed: number;
  failed: number;
  changes: number;
  failedBatches: number;
  counts: Record<string, number>;
  error: string | null;
}

/** GET /api/schools/:code/gate/events */
export interface GateEvent {
  id: string;
  deviceId: string;
  deviceName: string;
  lane: string | null;
  occurredAt: number;
  personName: string | null;
  className: string | null;
  method: string;
  temperature: number | null;
  codeColor: string | null;
  codeStale: boolean | null;
  personId: string | null;
  decision: 'pass' | 'deny';
  reason: string;
  prompt: string;
  flags: string[];
}

/** GET /api/schools/:code/attendance and its classes, as the gate module builds them. */
export type { AttendanceDay, ClassArrivals } from '../../../src/modules/gate/attendance.js';

/** GET /api/schools/:code/classes item. */
export interface ClassSummary {
  id: string;
  grade: number;
  number: number;
  name: string;
  headTeacher: { id: string; name: string } | null;
  pupils: number;
}

/** GET /api/schools/:code/inbox item. */
export interface InboxMessage {
  id: string;
  kind: string;
  title: string;
  body: string;
  recipientPersonId: string | null;
  recipientGuardianId: string | null;
  recipientRole: string | null;
  createdAt: number;
  readAt: number | null;
  noticeId: string | null;
}

/** GET /api/schools/:code/alerts */
export interface GateAlert {
  id: string;
  personId: string | null;
  deviceId: string | null;
  gateEventId: string | null;
  kind: 'fever' | 'code' | 'unknown_face' | 'device_offline';
  status: 'open' | 'acknowledged' | 'closed';
  title: string;
  detail: string;
  createdAt: number;
  acknowledgedAt: number | null;
  /** Handling note given when the alert was acknowledged, and who gave it. */
  acknowledgedNote: string | null;
  acknowledgedBy: string | null;
  closedAt: number | null;
  closedNote: string | null;
}

/** GET /api/audit */
export interface AuditEntry {
  id: string;
  at: number;
  userId: string | null;
  username: string | null;
  action: string;
  target: string | null;
  /** The target by name, such as 名称（代码） for a school, or null when `target` is shown as stored. */
  targetLabel: string | null;
  detail: Record<string, unknown>;
  ip: string | null;
}
