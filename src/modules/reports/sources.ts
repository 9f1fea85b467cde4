import type { AppContext } from '../../context.js';
import { listFeversOfDay } from '../gate/day-figures.js';
import { listSchoolCodes } from '../healthcode/service.js';
import { getCheckSettings, listChecksForDay, listClusterAlerts, listOpenFollowUps, type FollowUpView } from '../checks/service.js';
import { CONTACT_RESULT_LABELS } from '../checks/follow-ups.js';
import { diagnosisName } from '../checks/notifiable-diseases.js';
import { getContacts, type SchoolSummary } from '../people/service.js';
import { listVisitorsForDay } from '../visitors/service.js';
import {
  gradeLabel,
  type ClusterEntry,
  type CodeEntry,
  type FeverEntry,
  type FollowUpEntry,
  type GradeRow,
  type IllnessAbsenceEntry,
  type ReportSection,
  type VisitorEntry,
} from './report-model.js';
import { countAttendanceByGrade } from './store.js';

/**
 * Reads each section of a daily report from the module that owns it, through that
 * module's exported read functions. The reports module writes nothing here.
 */

export interface ReportSources {
  grades: GradeRow[];
  fevers: FeverEntry[];
  codes: CodeEntry[];
  illnessAbsences: ReportSection<IllnessAbsenceEntry>;
  followUps: ReportSection<FollowUpEntry>;
  clusters: ReportSection<ClusterEntry>;
  visitors: ReportSection<VisitorEntry>;
}

function unavailable<T>(note: string): ReportSection<T> {
  return { available: false, items: [], note };
}

const CLUSTER_STATUS_NAMES = { open: '待处置', acknowledged: '处置中', closed: '已关闭' } as const;
const VISITOR_STATUS_NAMES = { expected: '未到校', inside: '在校', left: '已离校', denied: '拒绝入校', cancelled: '已取消' } as const;

/**
 * Read a section from another module. A failure leaves the section out, marked as not
 * available, and is logged, so one module's fault does not stop the report.
 */
async function readSection<T>(ctx: AppContext, school: SchoolSummary, name: string, note: string, read: () => Promise<T[]>): Promise<ReportSection<T>> {
  try {
    return { available: true, items: await read(), note: null };
  } catch (error) {
    ctx.log.error({ err: error, schoolId: school.id, section: name }, 'daily report section failed');
    return unavailable<T>(note);
  }
}

/** Pupils absent for illness on the day, by either check, with the symptoms of both sessions. */
async function readIllnessAbsences(ctx: AppContext, school: SchoolSummary, day: string, symptomLabel: (code: string) => string): Promise<Array<IllnessAbsenceEntry & { grade: number | null }>> {
  const checks = (await listChecksForDay(ctx, school.id, day)).filter((check) => check.status === 'absent' && check.absenceReason === 'illness');
  const contacts = await getContacts(ctx, [...new Set(checks.map((check) => check.personId))]);
  const byPerson = new Map<string, IllnessAbsenceEntry & { grade: number | null }>();
  for (const check of checks.sort((a, b) => a.session.localeCompare(b.session))) {
    const contact = contacts.get(check.personId);
    let entry = byPerson.get(check.personId);
    if (!entry) {
      entry = { personId: check.personId, name: contact?.person.name ?? '', className: contact?.className ?? null, grade: contact?.grade ?? null, symptoms: [], note: null };
      byPerson.set(check.personId, entry);
    }
    for (const symptom of check.symptoms.map(symptomLabel)) if (!entry.symptoms.includes(symptom)) entry.symptoms.push(symptom);
    if (check.note) entry.note = entry.note ? `${entry.note}；${check.note}` : check.note;
  }
  return [...byPerson.values()].sort((a, b) => (a.className ?? '').localeCompare(b.className ?? '', 'zh-CN') || a.name.localeCompare(b.name, 'zh-CN'));
}

function followUpState(followUp: FollowUpView): string {
  const lastContact = followUp.contacts.at(-1);
  const parts = [`缺勤第 ${followUp.daysSinceStart + 1} 天`];
  if (followUp.diagnosis) parts.push(`诊断：${diagnosisName(followUp.diagnosis)}`);
  else if (followUp.sawDoctor) parts.push('已就诊，诊断待定');
  else if (followUp.sawDoctor === false) parts.push('未就诊');
  parts.push(lastContact ? `最近联系：${CONTACT_RESULT_LABELS[lastContact.result]}` : '尚未联系家长');
  return parts.join('；');
}

/** Read every section of a school's day. */
export async function readReportSources(ctx: AppContext, school: SchoolSummary, day: string): Promise<ReportSources> {
  const [arrivals, fevers, codes, checkSettings] = await Promise.all([
    countAttendanceByGrade(ctx.db, school.id, day),
    listFeversOfDay(ctx, school.id, day),
    listSchoolCodes(ctx, school.code),
    getCheckSettings(ctx, school.id),
  ]);
  const symptomNames = new Map(checkSettings.symptoms.map((option) => [option.code, option.label]));
  const symptomLabel = (code: string) => symptomNames.get(code) ?? code;

  const absences = await readSection(ctx, school, 'illnessAbsences', '晨午检数据读取失败，请稍后重新生成', () => readIllnessAbsences(ctx, school, day, symptomLabel));
  const illnessAbsences: ReportSection<IllnessAbsenceEntry> = { ...absences, items: absences.items.map(({ grade: _grade, ...entry }) => entry) };
  const followUps = await readSection(ctx, school, 'followUps', '缺勤跟进数据读取失败，请稍后重新生成', async () =>
    (await listOpenFollowUps(ctx, school.id)).map((followUp) => ({
      personId: followUp.personId,
      name: followUp.name,
      className: followUp.className || null,
      since: followUp.absenceBeganOn,
      state: followUpState(followUp),
      expectedReturn: followUp.expectedReturnOn,
    })),
  );
  const clusters = await readSection(ctx, school, 'clusters', '聚集性预警数据读取失败，请稍后重新生成', async () =>
    (await listClusterAlerts(ctx, { schoolId: school.id, from: day, to: day })).map((alert) => ({
      className: alert.className || null,
      rule: alert.ruleText,
      cases: alert.caseCount,
      symptoms: alert.signs.map((sign) => `${sign.label} ${sign.count} 人`),
      raisedAt: alert.createdAt,
      status: CLUSTER_STATUS_NAMES[alert.status],
    })),
  );
  const visitors = await readSection(ctx, school, 'visitors', '外来人员数据读取失败，请稍后重新生成', async () =>
    (await listVisitorsForDay(ctx, school.id, day)).visitors
      .filter((visitor) => visitor.status !== 'cancelled')
      .map((visitor) => ({
        name: visitor.name,
        purpose: visitor.purpose,
        host: visitor.hostName || null,
        entryAt: visitor.enteredAt,
        exitAt: visitor.exitedAt,
        temperature: visitor.temperature,
        codeColor: visitor.codeColor,
        registration: visitor.walkIn ? `临时登记（${visitor.walkInReason ?? ''}）` : '预约登记',
        status: VISITOR_STATUS_NAMES[visitor.status],
      })),
  );

  const illnessByGrade = new Map<number | null, number>();
  for (const absence of absences.items) illnessByGrade.set(absence.grade, (illnessByGrade.get(absence.grade) ?? 0) + 1);
  const grades: GradeRow[] = arrivals.map((row) => ({
    grade: row.grade,
    label: gradeLabel(row.grade),
    expected: row.expected,
    arrived: row.arrived,
    absent: row.expected - row.arrived,
    late: row.late,
    illnessAbsent: absences.available ? (illnessByGrade.get(row.grade) ?? 0) : null,
  }));
  return {
    grades,
    fevers: fevers.map((fever) => ({ ...fever, name: fever.name ?? '未识别人员' })),
    codes: codes
      .filter((code) => code.color !== 'green' || code.isStale)
      .map((code) => ({
        personId: code.personId,
        name: code.name,
        kind: code.kind,
        className: code.className,
        color: code.color,
        isStale: code.isStale,
        fetchedAt: code.fetchedAt,
      })),
    illnessAbsences,
    followUps,
    clusters,
    visitors,
  };
}
