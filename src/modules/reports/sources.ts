import type { AppContext } from '../../context.js';
import { countArrivalsByGrade, listFeversOfDay } from '../gate/day-figures.js';
import { listSchoolCodes } from '../healthcode/service.js';
import type { SchoolSummary } from '../people/service.js';
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

/** Read every section of a school's day. */
export async function readReportSources(ctx: AppContext, school: SchoolSummary, day: string): Promise<ReportSources> {
  const [arrivals, fevers, codes] = await Promise.all([
    countArrivalsByGrade(ctx, school.id, day),
    listFeversOfDay(ctx, school.id, day),
    listSchoolCodes(ctx, school.code),
  ]);

  // TODO: illness absences, follow-ups and clusters come from the class checks module once it exports its read functions.
  const illnessAbsences = unavailable<IllnessAbsenceEntry>('晨午检模块未接入，暂无因病缺勤数据');
  const followUps = unavailable<FollowUpEntry>('晨午检模块未接入，暂无缺勤跟进数据');
  const clusters = unavailable<ClusterEntry>('晨午检模块未接入，暂无聚集性预警数据');
  // TODO: visitors come from the visitors module once it exports its read functions.
  const visitors = unavailable<VisitorEntry>('外来人员模块未接入，暂无外来人员数据');

  const grades: GradeRow[] = arrivals.map((row) => ({
    grade: row.grade,
    label: gradeLabel(row.grade),
    expected: row.expected,
    arrived: row.arrived,
    absent: row.expected - row.arrived,
    late: row.late,
    illnessAbsent: null,
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
