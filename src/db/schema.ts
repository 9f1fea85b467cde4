import type { Generated } from 'kysely';

/**
 * Table types for Kysely. Column types are chosen to read the same on SQLite and
 * PostgreSQL: instants are epoch milliseconds (BIGINT, parsed to number), calendar days
 * are 'YYYY-MM-DD' text, booleans are 0/1 integers, JSON is text.
 */
export interface Database {
  app_meta: AppMetaTable;
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
  notify_rate_slots: NotifyRateSlotTable;
  devices: DeviceTable;
  cards: CardTable;
  gate_events: GateEventTable;
  attendance: AttendanceTable;
  alerts: AlertTable;
  rechecks: RecheckTable;
  users: UserTable;
  sessions: SessionTable;
  audit_log: AuditLogTable;
  face_descriptors: FaceDescriptorTable;
  face_gallery_revisions: FaceGalleryRevisionTable;
  face_enrolment_jobs: FaceEnrolmentJobTable;
  face_enrolment_items: FaceEnrolmentItemTable;
  venues: VenueTable;
  venue_devices: VenueDeviceTable;
  venue_cards: VenueCardTable;
  venue_checkins: VenueCheckinTable;
  visitors: VisitorTable;
  visitor_checks: VisitorCheckTable;
  venue_flags: VenueFlagTable;
  venue_retention_runs: VenueRetentionRunTable;
  daily_reports: DailyReportTable;
  district_report_settings: DistrictReportSettingsTable;
  district_settings: DistrictSettingsTable;
  calendar_days: CalendarDayTable;
  daily_checks: DailyCheckTable;
  check_history: CheckHistoryTable;
  absence_follow_ups: AbsenceFollowUpTable;
  follow_up_contacts: FollowUpContactTable;
  cluster_alerts: ClusterAlertTable;
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
  /** Console account that recorded the consent; null on rows from before 2026120503 and from the command line. */
  recorded_by_user_id: string | null;
  /** Username and display name of that account at the time. */
  recorded_by_username: string | null;
  recorded_by_name: string | null;
  /** Console account that revoked the consent, as for the recorder. */
  revoked_by_user_id: string | null;
  revoked_by_username: string | null;
  revoked_by_name: string | null;
}

export type CodeColor = 'green' | 'yellow' | 'red' | 'unknown';

export interface HealthCodeTable {
  person_id: string;
  school_id: string;
  color: CodeColor;
  /** Time the bureau reports the colour was last set. */
  bureau_updated_at: number | null;
  /** Last successful fetch; the code is stale when this is older than the stale age. */
  fetched_at: number | null;
  last_attempt_at: number | null;
  /** Reason the last attempt failed, or null after a success. */
  last_failure: string | null;
  reason: string | null;
  /** When the current colour was first seen; stay-home notice keys use it. */
  color_since: number | null;
}

export interface HealthCodeChangeTable {
  id: string;
  school_id: string;
  person_id: string;
  from_color: CodeColor | null;
  to_color: CodeColor;
  changed_at: number;
  sync_run_id: string | null;
  bureau_updated_at: number | null;
  reason: string | null;
  /** When the head teacher and management notices were queued; null until then. */
  notified_at: number | null;
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
  /** The interrupted run this one continues, when it is a resume. */
  resumed_from: string | null;
}

export type OutboxChannel = 'dingtalk_work' | 'dingtalk_robot' | 'inbox';
/**
 * pending: waiting for its next attempt; sending: claimed by a dispatcher until lease_until;
 * confirming: DingTalk accepted the work notice and the send result is not read yet;
 * sent, filtered (DingTalk dropped a same-day duplicate), failed (undeliverable), dead
 * (attempts used up) are final.
 */
export type OutboxStatus = 'pending' | 'sending' | 'confirming' | 'sent' | 'filtered' | 'failed' | 'dead';

export interface OutboxTable {
  id: string;
  school_id: string | null;
  channel: OutboxChannel;
  /** Cause of the notice: code_change, stay_home, may_return, digest, sync_failed, ... */
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
  /** While status is 'sending': when the claim expires and another dispatcher may take the row. */
  lease_until: number | null;
  /** Random token of the current claim; a dispatcher only finishes rows it still holds. */
  claim_token: string | null;
  /** 1 when an earlier attempt may have reached DingTalk (timeout, crash mid-send). */
  uncertain: Generated<number>;
  /** Send-result reads of the current work-notice task. */
  checks: Generated<number>;
  /** Role at the school that gets the in-app copy when no person is named. */
  recipient_role: string | null;
  /** Note on how the final state was reached, shown on the console (Chinese). */
  delivery_note: string | null;
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
  /** The outbox notice this message copies; null for inbox-only messages. */
  outbox_id: string | null;
  recipient_guardian_id: string | null;
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

export type UserRole = 'district_admin' | 'school_admin' | 'head_teacher' | 'teacher' | 'school_doctor' | 'guard' | 'task_force';

export interface UserTable {
  id: string;
  username: string;
  display_name: string;
  /** `scrypt$N$r$p$salt$hash` (salt and hash base64url), so parameters can change per user. */
  password_hash: string;
  role: UserRole;
  /** Null only for district admins. */
  school_id: string | null;
  /** The class a head teacher is confined to. */
  class_id: string | null;
  person_id: string | null;
  failed_attempts: number;
  locked_until: number | null;
  created_at: number;
  password_changed_at: number;
}

export interface SessionTable {
  /** SHA-256 (hex) of the cookie token; the token itself is never stored. */
  id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  ip: string | null;
  user_agent: string | null;
}

export interface AuditLogTable {
  id: string;
  at: number;
  user_id: string | null;
  /** Username at the time, kept when the account is later renamed or removed. */
  username: string | null;
  /** The acting user's school, so a school admin can read its own entries. */
  school_id: string | null;
  action: string;
  target: string | null;
  /** JSON object. */
  detail: string;
  ip: string | null;
}

export type DeviceKind = 'hikvision' | 'api' | 'kiosk';
export type DeviceDirection = 'in' | 'out';

export interface DeviceTable {
  id: string;
  school_id: string;
  name: string;
  /** The lane or gate name (东门 1 号通道); staggered-entry windows name lanes. */
  lane: string | null;
  direction: DeviceDirection;
  kind: DeviceKind;
  /** Keyed HMAC-SHA256 (FieldCipher.hash) of the device key; the key is shown once. */
  key_hash: string;
  /** Encrypted HTTP Digest HA1 (MD5 of id:realm:key), only for Hikvision terminals. */
  digest_ha1_enc: string | null;
  last_seen_at: number | null;
  /** Highest Hikvision serialNo seen, for gap detection. */
  last_serial_no: number | null;
  /** When the last offline alert was raised; cleared in effect once last_seen_at passes it. */
  offline_alerted_at: number | null;
  created_at: number;
  active: number;
}

export interface CardTable {
  id: string;
  school_id: string;
  /** FieldCipher.hash of the card number. */
  card_hash: string;
  /** Last four characters, for screens. */
  card_masked: string;
  person_id: string;
  created_at: number;
}

export type GateMethod = 'face' | 'card' | 'id_number' | 'manual' | 'fingerprint';
export type GateDecision = 'pass' | 'deny';

export interface GateEventTable {
  id: string;
  school_id: string;
  device_id: string;
  /** The device's own id for the event; unique per device, so a resend is recorded once. */
  event_id: string;
  occurred_at: number;
  received_at: number;
  /** School day of occurred_at in Asia/Shanghai. */
  day: string;
  person_id: string | null;
  method: GateMethod;
  /** Degrees Celsius. */
  temperature: number | null;
  code_color: CodeColor | null;
  code_stale: number | null;
  decision: GateDecision;
  /** Reason code of the entry policy (ok, fever, code_red, ...). */
  reason: string;
  /** The Chinese text the lane showed and spoke. */
  prompt: string;
  /** JSON array of flag names (late, outside_window, stale_code, old_event, ...). */
  flags: string;
  face_distance: number | null;
  face_margin: number | null;
  /** Path under dataDir of the snapshot, kept for denials only until retention deletes it. */
  snapshot_path: string | null;
}

export interface AttendanceTable {
  person_id: string;
  day: string;
  school_id: string;
  first_pass_at: number;
  late: number;
  gate_event_id: string;
  /** 'gate' for a pass, 'recheck' for a pupil admitted after a normal re-check. */
  source: 'gate' | 'recheck';
}

export type AlertKind = 'fever' | 'code' | 'unknown_face' | 'device_offline';
export type AlertStatus = 'open' | 'acknowledged' | 'closed';

export interface AlertTable {
  id: string;
  school_id: string;
  person_id: string | null;
  device_id: string | null;
  gate_event_id: string | null;
  kind: AlertKind;
  status: AlertStatus;
  title: string;
  detail: string;
  /** Deterministic key, so a replayed event or a repeated check raises one alert. */
  dedupe_key: string;
  created_at: number;
  acknowledged_at: number | null;
  /** Handling note given when the alert was acknowledged. */
  acknowledged_note: string | null;
  /** Display name of the user who acknowledged it. */
  acknowledged_by: string | null;
  closed_at: number | null;
  closed_note: string | null;
}

export interface RecheckTable {
  id: string;
  alert_id: string;
  school_id: string;
  person_id: string;
  temperature: number;
  measured_at: number;
  /** Name of the person who measured: a user name or a staff member's name. */
  measured_by: string;
  result: 'normal' | 'fever';
  note: string | null;
  created_at: number;
}

/** One of the N send slots of a rate-limited channel; a slot is free 60 s after `used_at`. */
export interface NotifyRateSlotTable {
  bucket: string;
  slot: number;
  used_at: number;
}

/** One enrolled face descriptor; the 128 floats are encrypted with the field cipher. */
export interface FaceDescriptorTable {
  id: string;
  school_id: string;
  person_id: string;
  /** Sealed base64 of the float32 little-endian bytes. */
  descriptor_enc: string;
  /** Enrolment channel: 'api', 'cli' or 'batch'. */
  source: string;
  created_at: number;
}

/** Counter bumped with every enrolment change of a school, so each process detects that it must reload its gallery. */
export interface FaceGalleryRevisionTable {
  school_id: string;
  revision: number;
  updated_at: number;
}

export type FaceEnrolmentJobStatus = 'running' | 'done';

/** Batch enrolment from a folder; one row per school and folder, reused by a re-run. */
export interface FaceEnrolmentJobTable {
  id: string;
  school_id: string;
  /** Absolute path of the folder. */
  source_path: string;
  status: FaceEnrolmentJobStatus;
  total: number;
  done: number;
  failed: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export type FaceEnrolmentItemStatus = 'pending' | 'done' | 'failed';

export interface FaceEnrolmentItemTable {
  id: string;
  job_id: string;
  /** Keyed hash of the file name: names can be ID numbers, which are not stored in the clear. */
  file_key: string;
  /** The file name for reports, with an ID number masked. */
  file_label: string;
  /** SHA-256 of the photo; a changed photo under the same name is enrolled again. */
  content_hash: string;
  status: FaceEnrolmentItemStatus;
  person_id: string | null;
  descriptor_id: string | null;
  /** FaceRejection code or error code of a failed item. */
  reason_code: string | null;
  /** Chinese message of a failed item. */
  reason: string | null;
  updated_at: number;
}

export type VenueKind = 'bus' | 'shop' | 'school_gate' | 'hall' | 'other';
export type VenueStatus = 'active' | 'retired';

/** A place with its own venue code: a bus vehicle, a shop, a school gate, a hall. */
export interface VenueTable {
  id: string;
  kind: VenueKind;
  name: string;
  address: string | null;
  /** The organisation that runs the venue (a bus company, a shop owner, a school). */
  operator: string;
  /** Bus line (for example 'K101'); null for other kinds. */
  line: string | null;
  /** Bus licence plate (for example '浙A·12345'); null for other kinds. */
  plate: string | null;
  /** The school a school gate or hall belongs to; its school admin manages the venue. */
  school_id: string | null;
  /** WGS-84 degrees, used to flag one person at far-apart venues within minutes. */
  latitude: number | null;
  longitude: number | null;
  status: VenueStatus;
  /** Version in the current code URL; a code with a lower version is retired. */
  code_version: number;
  code_issued_at: number;
  created_at: number;
  updated_at: number;
  retired_at: number | null;
}

export type VenueDeviceKind = 'card_reader' | 'staff_phone';

/** A card reader at a venue, or a staff phone of an operator (bound to one venue or to all of the operator's). */
export interface VenueDeviceTable {
  id: string;
  kind: VenueDeviceKind;
  name: string;
  operator: string;
  /** Null for a staff phone that may register at every venue of its operator. */
  venue_id: string | null;
  /** Keyed HMAC-SHA256 (FieldCipher.hash) of the device key; the key is shown once. */
  key_hash: string;
  active: number;
  created_at: number;
  last_seen_at: number | null;
}

export type VenueCardKind = 'senior' | 'student' | 'citizen';

/** A senior, student or citizen card and its holder, for people who cannot scan. */
export interface VenueCardTable {
  id: string;
  kind: VenueCardKind;
  /** FieldCipher.hash of the normalised card number. */
  card_hash: string;
  /** Last four characters, for screens. */
  card_masked: string;
  holder_name: string;
  id_number_enc: string;
  id_number_hash: string;
  id_number_masked: string;
  phone_enc: string | null;
  phone_hash: string | null;
  phone_masked: string | null;
  /** 'lost' cards are rejected at every reader. */
  status: 'active' | 'lost';
  lost_at: number | null;
  created_at: number;
  updated_at: number;
}

/** scan: own phone; card_reader: swiped; card_typed: card number typed by staff; manual: registered by staff. */
export type VenueCheckinMethod = 'scan' | 'card_reader' | 'card_typed' | 'manual';
/** cache or bureau: looked up; unavailable: the bureau failed; not_found: no record; no_id_number: phone only. */
export type VenueCodeSource = 'cache' | 'bureau' | 'unavailable' | 'not_found' | 'no_id_number';

export interface VenueCheckinTable {
  id: string;
  venue_id: string;
  checked_in_at: number;
  method: VenueCheckinMethod;
  /** id_number_hash when an ID number was given, otherwise phone_hash: one person's key. */
  subject_hash: string;
  /** As typed; exports write it as text so a leading = + - @ is never a formula. */
  name: string;
  id_number_enc: string | null;
  id_number_hash: string | null;
  id_number_masked: string | null;
  phone_enc: string | null;
  phone_hash: string | null;
  phone_masked: string | null;
  /** The code at check-in; 'unknown' when it could not be verified. */
  code_color: CodeColor;
  code_source: VenueCodeSource;
  /** Manual registrations only: 1 when the staff saw the person's code, 0 when not. */
  code_seen: number | null;
  /** Manual registrations only: the colour the staff saw, when they gave it. */
  seen_color: CodeColor | null;
  card_id: string | null;
  device_id: string | null;
  /** 1 when a far-apart flag was raised on this check-in. */
  flagged: number;
}

/** One person at two venues too far apart for the minutes between the check-ins. */
export interface VenueFlagTable {
  id: string;
  subject_hash: string;
  checkin_id: string;
  previous_checkin_id: string;
  distance_m: number;
  minutes: number;
  status: 'open' | 'reviewed';
  created_at: number;
  reviewed_by: string | null;
  reviewed_at: number | null;
  review_note: string | null;
}

/** One run of the check-in retention job, with what it deleted. */
export interface VenueRetentionRunTable {
  id: string;
  ran_at: number;
  /** Check-ins before this instant were deleted. */
  cutoff: number;
  retention_days: number;
  checkins_deleted: number;
  flags_deleted: number;
  duration_ms: number;
}

export interface AppMetaTable {
  name: string;
  value: string;
  updated_at: number;
}

export type CheckSession = 'morning' | 'noon';
export type CheckStatus = 'present' | 'absent';
export type AbsenceReason = 'illness' | 'personal' | 'unknown';

/** A pupil's morning or noon check (晨午检) on a school day. */
export interface DailyCheckTable {
  id: string;
  school_id: string;
  class_id: string;
  person_id: string;
  /** School day, 'YYYY-MM-DD' in Asia/Shanghai. */
  day: string;
  session: CheckSession;
  status: CheckStatus;
  /** Degrees Celsius, pre-filled from the gate or taken in class. */
  temperature: number | null;
  /** JSON array of symptom codes from the school's symptom list. */
  symptoms: string;
  /** Set when status is 'absent'. */
  absence_reason: AbsenceReason | null;
  note: string | null;
  /** 1 when the gate had recorded the pupil's arrival when the check was saved. */
  arrived: number;
  /** 1 on first entry, raised by each correction. */
  version: number;
  /** User id of the last change. */
  recorded_by: string;
  recorded_by_name: string;
  created_at: number;
  updated_at: number;
}

/** One entry or correction of a check or follow-up, with the values before and after. */
export interface CheckHistoryTable {
  id: string;
  school_id: string;
  entity: 'check' | 'follow_up';
  entity_id: string;
  person_id: string;
  /** create, update, contact, certificate, cancel, ... */
  action: string;
  /** JSON of the changed fields before, null on create. */
  before: string | null;
  /** JSON of the changed fields after. */
  after: string;
  /** 1 when a check was entered or corrected after its session's due time. */
  late: number;
  changed_by: string;
  changed_by_name: string;
  changed_at: number;
}

export type FollowUpStatus = 'open' | 'closed' | 'cancelled';

/** Follow-up of one illness-absence episode (因病缺勤追踪), open until the return-to-school certificate. */
export interface AbsenceFollowUpTable {
  id: string;
  school_id: string;
  class_id: string;
  person_id: string;
  /** The person id while open, null once closed or cancelled (unique). */
  open_key: string | null;
  status: FollowUpStatus;
  /** First school day of the absence, 'YYYY-MM-DD'. */
  absence_began_on: string;
  /** The check whose illness absence opened this follow-up. */
  source_check_id: string | null;
  /** JSON array of symptom codes. */
  symptoms: string;
  /** 1 seen by a doctor, 0 not, null not known yet. */
  saw_doctor: number | null;
  /** Code from the notifiable-disease list, or null while unknown. */
  diagnosis: string | null;
  diagnosis_note: string | null;
  expected_return_on: string | null;
  certificate_issued_on: string | null;
  certificate_issuer: string | null;
  certificate_note: string | null;
  certificate_recorded_by: string | null;
  certificate_recorded_at: number | null;
  closed_at: number | null;
  closed_note: string | null;
  created_at: number;
  updated_at: number;
}

export type ContactResult = 'reached' | 'no_answer' | 'unreachable' | 'other';

/** One attempt to reach a pupil's guardian during a follow-up. */
export interface FollowUpContactTable {
  id: string;
  follow_up_id: string;
  contacted_at: number;
  result: ContactResult;
  note: string | null;
  recorded_by: string;
  recorded_by_name: string;
  created_at: number;
}

export type ClusterRule = 'same_day' | 'school_days';
export type ClusterAlertStatus = 'open' | 'acknowledged' | 'closed';

/** A cluster of similar illness in one class (聚集性预警). */
export interface ClusterAlertTable {
  id: string;
  school_id: string;
  class_id: string;
  rule: ClusterRule;
  /** The case count the rule needed when it fired. */
  threshold: number;
  /** First and last school day of the window, 'YYYY-MM-DD'. */
  window_start: string;
  window_end: string;
  case_count: number;
  /** JSON array of the shared signs: { kind: 'symptom' | 'diagnosis', code, label, count }. */
  signs: string;
  /** JSON array of the cases: { personId, name, day, symptoms, diagnosis, absent }. */
  cases: string;
  status: ClusterAlertStatus;
  dedupe_key: string;
  created_at: number;
  updated_at: number;
}

/** 'expected' until the gate checks the visitor; 'inside' after a pass; 'left' after the exit; 'denied' after a refused check. */
export type VisitorStatus = 'expected' | 'inside' | 'left' | 'denied' | 'cancelled';
/** Where a visitor's code colour came from: the bureau, its 'not found' answer, a failed lookup, or the code the visitor showed. */
export type VisitorCodeSource = 'bureau' | 'not_found' | 'unavailable' | 'shown' | 'none';

/** One visit of a person from outside the school, registered in advance or at the gate. */
export interface VisitorTable {
  id: string;
  school_id: string;
  /** The visit's school day, 'YYYY-MM-DD' in Asia/Shanghai. */
  day: string;
  name: string;
  id_number_enc: string | null;
  id_number_hash: string | null;
  /** Only the last 4 characters shown. */
  id_number_masked: string | null;
  phone_enc: string | null;
  phone_hash: string | null;
  phone_masked: string | null;
  purpose: string;
  expected_from: number | null;
  expected_to: number | null;
  host_user_id: string | null;
  host_name: string;
  registered_by: string | null;
  walk_in: number;
  walk_in_reason: string | null;
  status: VisitorStatus;
  entered_at: number | null;
  exited_at: number | null;
  /** The latest check at the gate. */
  temperature: number | null;
  code_color: CodeColor | null;
  code_source: VisitorCodeSource | null;
  reason: string | null;
  checked_at: number | null;
  created_at: number;
  updated_at: number;
}

/** One check of a visitor at the gate. */
export interface VisitorCheckTable {
  id: string;
  visitor_id: string;
  school_id: string;
  checked_at: number;
  temperature: number;
  code_color: CodeColor;
  code_source: VisitorCodeSource;
  decision: GateDecision;
  reason: string;
  prompt: string;
  checked_by: string | null;
  checked_by_name: string | null;
}

export type DailyReportStatus = 'draft' | 'submitted';

/**
 * One version of a school's daily report (日报). A draft is rebuilt in place; a submitted
 * version is frozen, and a correction after submission becomes the next version.
 */
export interface DailyReportTable {
  id: string;
  school_id: string;
  district_id: string;
  /** School day, 'YYYY-MM-DD' in Asia/Shanghai. */
  day: string;
  /** 1 for the first version of the day, then 2, 3, ... for each correction. */
  version: number;
  status: DailyReportStatus;
  /** 'schedule' for the school's set time, 'manual' for a build on demand. */
  trigger: string;
  built_at: number;
  /** User id of the builder, null for the schedule. */
  built_by: string | null;
  built_by_name: string;
  submitted_at: number | null;
  submitted_by: string | null;
  submitted_by_name: string | null;
  /** The submitter's explanation of a correction (version 2 and later). */
  change_note: string | null;
  /** JSON array of key figures that differ from the previous submitted version. */
  changes: string;
  /** JSON of DailyReportContent: the whole report as built. */
  content: string;
  expected_count: number;
  arrived_count: number;
  absent_count: number;
  late_count: number;
  fever_count: number;
  non_green_count: number;
  /** Fetched codes older than the stale age; before unsynced_count existed, never-synced codes too. */
  stale_count: number;
  /** Codes the bureau never returned; null for reports built before this figure. */
  unsynced_count: number | null;
  /** Null when the report was built without that module's data. */
  illness_absence_count: number | null;
  open_follow_up_count: number | null;
  cluster_count: number | null;
  visitor_count: number | null;
  /** 1 for a zero report (零报告): nothing abnormal to report. */
  is_zero: number;
}

/** A district's reporting rules: the daily deadline for submitted reports. */
export interface DistrictReportSettingsTable {
  district_id: string;
  /** 'HH:MM' in Asia/Shanghai. */
  deadline: string;
  updated_at: number;
  updated_by: string | null;
}

/** Settings a district admin sets once for every school of the district. */
export interface DistrictSettingsTable {
  district_id: string;
  /** 1 while 全区每天同步 is on: every school of the district runs its scheduled syncs every day. */
  sync_every_day: number;
  /** Time of the last change and the user who made it (user id and display name); null before the first change. */
  sync_every_day_changed_at: number | null;
  sync_every_day_changed_by: string | null;
  sync_every_day_changed_by_name: string | null;
}

/**
 * One day of the school calendar (校历) set by the district or by one school; it overrides
 * the weekday rule for that day. A school's row wins over its district's.
 */
export interface CalendarDayTable {
  scope: 'district' | 'school';
  /** The district id for a district row, the school id for a school row. */
  scope_id: string;
  district_id: string;
  /** 'YYYY-MM-DD' in Asia/Shanghai. */
  day: string;
  /** 1 for a day with school (调休上课), 0 for a day without (放假, 停课). */
  is_school_day: number;
  /** Why, as users read it: 国庆节, 流感停课. */
  reason: string;
  updated_at: number;
  updated_by: string | null;
  updated_by_name: string;
}
