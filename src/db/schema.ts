/**
 * Table types for Kysely. Column types are chosen to read the same on SQLite and
 * PostgreSQL: instants are epoch milliseconds (BIGINT, parsed to number), calendar days
 * are 'YYYY-MM-DD' text, booleans are 0/1 integers, JSON is text.
 */
export interface Database {
  districts: DistrictTable;
  schools: SchoolTable;
  classes: ClassTable;
  persons: PersonTable;
  guardians: GuardianTable;
  consents: ConsentTable;
  health_codes: HealthCodeTable;
  health_code_changes: HealthCodeChangeTable;
  sync_runs: SyncRunTable;
  outbox: OutboxTable;
  inbox_messages: InboxMessageTable;
  job_leases: JobLeaseTable;
  job_runs: JobRunTable;
}

export interface DistrictTable {
  id: string;
  code: string;
  name: string;
  created_at: number;
}

export interface SchoolTable {
  id: string;
  district_id: string;
  code: string;
  name: string;
  /** JSON of SchoolSettings. */
  settings: string;
  created_at: number;
}

export interface ClassTable {
  id: string;
  school_id: string;
  grade: number;
  number: number;
  /** Display name such as 一(1)班. */
  name: string;
  head_teacher_id: string | null;
}

export type PersonKind = 'student' | 'staff';
export type StaffRole = 'head_teacher' | 'management' | 'school_doctor' | 'guard' | 'teacher';

export interface PersonTable {
  id: string;
  school_id: string;
  kind: PersonKind;
  name: string;
  gender: string | null;
  id_number_enc: string | null;
  id_number_hash: string | null;
  id_number_masked: string | null;
  birth_date: string | null;
  student_number: string | null;
  staff_number: string | null;
  class_id: string | null;
  staff_role: StaffRole | null;
  phone_enc: string | null;
  phone_hash: string | null;
  phone_masked: string | null;
  dingtalk_user_id: string | null;
  active: number;
  created_at: number;
  updated_at: number;
}

export interface GuardianTable {
  id: string;
  person_id: string;
  name: string;
  relation: string | null;
  phone_enc: string | null;
  phone_hash: string | null;
  phone_masked: string | null;
  dingtalk_user_id: string | null;
  created_at: number;
  updated_at: number;
}

export type ConsentPurpose = 'health_code' | 'face';

export interface ConsentTable {
  id: string;
  person_id: string;
  purpose: ConsentPurpose;
  given_by: 'self' | 'guardian';
  guardian_id: string | null;
  given_at: number;
  revoked_at: number | null;
  note: string | null;
}

export type CodeColor = 'green' | 'yellow' | 'red' | 'unknown';

export interface HealthCodeTable {
  person_id: string;
  school_id: string;
  color: CodeColor;
  /** When the bureau says the colour was last set. */
  bureau_updated_at: number | null;
  /** Last successful fetch; the code is stale when this is older than the stale age. */
  fetched_at: number | null;
  last_attempt_at: number | null;
  /** Why the last attempt failed, when it did. */
  last_failure: string | null;
  reason: string | null;
}

export interface HealthCodeChangeTable {
  id: string;
  school_id: string;
  person_id: string;
  from_color: CodeColor | null;
  to_color: CodeColor;
  changed_at: number;
  sync_run_id: string | null;
}

export type SyncRunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'interrupted';

export interface SyncRunTable {
  id: string;
  school_id: string;
  trigger: string;
  status: SyncRunStatus;
  started_at: number;
  finished_at: number | null;
  /** Last sign of life of the process running it. */
  heartbeat_at: number;
  holder: string;
  total: number;
  processed: number;
  failed: number;
  changes: number;
  failed_batches: number;
  /** JSON: counts by colour after the run. */
  counts: string;
  error: string | null;
}

export type OutboxChannel = 'dingtalk_work' | 'dingtalk_robot' | 'inbox';
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'filtered' | 'failed' | 'dead';

export interface OutboxTable {
  id: string;
  school_id: string | null;
  channel: OutboxChannel;
  /** What caused the notice: code_change, stay_home, may_return, digest, sync_failed, ... */
  kind: string;
  recipient_person_id: string | null;
  recipient_guardian_id: string | null;
  recipient_dingtalk_id: string | null;
  title: string;
  /** Markdown text sent as is. */
  body: string;
  idempotency_key: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  external_id: string | null;
  created_at: number;
  sent_at: number | null;
}

export interface InboxMessageTable {
  id: string;
  school_id: string | null;
  recipient_person_id: string | null;
  /** A role when the message is for whoever holds it, for example 'school_admin'. */
  recipient_role: string | null;
  kind: string;
  title: string;
  body: string;
  created_at: number;
  read_at: number | null;
}

export interface JobLeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface JobRunTable {
  id: string;
  job: string;
  started_at: number;
  finished_at: number | null;
  status: 'running' | 'done' | 'skipped' | 'failed' | 'interrupted';
  detail: string | null;
}
