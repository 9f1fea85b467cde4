import type { StaffRole } from '../../db/schema.js';
import { STAFF_ROLE_LABELS, type RosterKind } from './roster-fields.js';
import type * as store from './store.js';

/**
 * Descriptions of the changes a roster import made to the people it updated, for the
 * import report. Names, birth dates and DingTalk user ids are listed by field only, and ID
 * numbers and phones appear masked as the store keeps them.
 */

/** One changed field of an updated person. */
export interface RosterFieldChange {
  /** Field name as the roster header writes it (姓名, 班级, 学号…). */
  field: string;
  /** Value before the import; null when the field is listed by name only. */
  from: string | null;
  /** Value after the import; null when the field is listed by name only. */
  to: string | null;
}

/** A person an import updated, with what changed. */
export interface RosterUpdate {
  /** Row of the file, counted as a spreadsheet does. */
  row: number;
  /** Name stored before the import. */
  previousName: string;
  /** Name after the import. */
  name: string;
  changes: RosterFieldChange[];
}

/** Row numbers listed in the name-change warning; longer lists end with 等. */
const MAX_ROWS_IN_NAME_WARNING = 20;

const BY_NAME_ONLY = { from: null, to: null };

/** Format a yes/no value as the roster writes it. */
function yesNo(value: boolean): string {
  return value ? '是' : '否';
}

/**
 * Describe the changed columns of a person row. `before` is the row as stored before the
 * import, `changes` the columns the import writes, and `classNameOf` names a class by id.
 */
export function describePersonChanges(
  before: Readonly<store.PersonRow>,
  changes: Partial<store.PersonRow>,
  classNameOf: (classId: string | null) => string | null,
): RosterFieldChange[] {
  const described: RosterFieldChange[] = [];
  if (changes.name !== undefined) described.push({ field: '姓名', ...BY_NAME_ONLY });
  if (changes.staff_number !== undefined) described.push({ field: '工号', from: before.staff_number, to: changes.staff_number });
  if (changes.class_id !== undefined) described.push({ field: '班级', from: classNameOf(before.class_id), to: classNameOf(changes.class_id) });
  if (changes.student_number !== undefined) described.push({ field: '学号', from: before.student_number, to: changes.student_number });
  if (changes.gender !== undefined) described.push({ field: '性别', from: before.gender, to: changes.gender });
  if (changes.birth_date !== undefined) described.push({ field: '出生日期', ...BY_NAME_ONLY });
  if (changes.id_number_hash !== undefined) described.push({ field: '身份证号', from: before.id_number_masked, to: changes.id_number_masked ?? null });
  if (changes.phone_hash !== undefined) described.push({ field: '手机号', from: before.phone_masked, to: changes.phone_masked ?? null });
  if (changes.staff_role !== undefined) described.push({ field: '职务', from: roleLabel(before.staff_role), to: roleLabel(changes.staff_role) });
  if (changes.dingtalk_user_id !== undefined) described.push({ field: '钉钉用户ID', ...BY_NAME_ONLY });
  if (changes.active !== undefined) described.push({ field: '重新启用', ...BY_NAME_ONLY });
  return described;
}

function roleLabel(role: StaffRole | null): string | null {
  return role ? STAFF_ROLE_LABELS[role] : null;
}

/** Describe the changes of a pupil's guardian: added (`before` undefined), renamed, new phone (masked) or new DingTalk user id. */
export function describeGuardianChanges(before: Readonly<store.GuardianRow> | undefined, changes: Partial<store.GuardianRow>): RosterFieldChange[] {
  if (!before) return [{ field: '新增监护人', ...BY_NAME_ONLY }];

  const described: RosterFieldChange[] = [];
  if (changes.name !== undefined) described.push({ field: '监护人姓名', from: before.name, to: changes.name });
  if (changes.phone_hash !== undefined) described.push({ field: '监护人手机号', from: before.phone_masked, to: changes.phone_masked ?? null });
  if (changes.dingtalk_user_id !== undefined) described.push({ field: '监护人钉钉用户ID', ...BY_NAME_ONLY });
  return described;
}

/** Describe a consent the import recorded (true) or revoked (false). */
export function describeConsentChange(consent: boolean): RosterFieldChange {
  return { field: '健康码授权', from: yesNo(!consent), to: yesNo(consent) };
}

/** Describe a change of the classes a staff member heads, by class name. */
export function describeHeadTeacherChange(before: string[], after: string[]): RosterFieldChange {
  return { field: '班主任班级', from: before.length > 0 ? before.join('、') : '无', to: after.length > 0 ? after.join('、') : '无' };
}

/**
 * Format one updated person for a report, as in
 * "第 5 行 张子杰 → 李子杰：姓名、班级 二(1)班 → 二(3)班、学号 0105 → 0305".
 */
export function formatRosterUpdate(update: RosterUpdate): string {
  const who = update.previousName === update.name ? update.name : `${update.previousName} → ${update.name}`;
  return `第 ${update.row} 行 ${who}：${formatFieldChanges(update.changes)}`;
}

/** Format the changes of one person, joined by 、. */
export function formatFieldChanges(changes: RosterFieldChange[]): string {
  return changes.map(formatFieldChange).join('、');
}

function formatFieldChange(change: RosterFieldChange): string {
  if (change.from === null && change.to === null) return change.field;
  return `${change.field} ${change.from ?? '（空）'} → ${change.to ?? '（空）'}`;
}

/**
 * Build the warning about updated people whose name changed. A pupil is matched by ID
 * number, and a staff member by 工号 or ID number, so another name on a known number may
 * well be a mistyped number rather than a renamed person. Undefined when no name changed.
 */
export function nameChangeWarning(updates: RosterUpdate[], kind: RosterKind): string | undefined {
  const renamed = updates.filter((update) => update.previousName !== update.name);
  if (renamed.length === 0) return undefined;

  const listed = renamed
    .slice(0, MAX_ROWS_IN_NAME_WARNING)
    .map((update) => `第 ${update.row} 行 ${update.previousName} → ${update.name}`)
    .join('、');
  const more = renamed.length > MAX_ROWS_IN_NAME_WARNING ? ` 等 ${renamed.length} 人` : '';
  const matchedBy = kind === 'student' ? '身份证号' : '工号或身份证号';
  return `${renamed.length} 人的姓名与已登记的不同（${listed}${more}）：这些行的${matchedBy}已登记给另一个姓名的人，已按新姓名更新。如果不是同一人改名，多半是${matchedBy}填错了，请核对后改正并重新导入`;
}
