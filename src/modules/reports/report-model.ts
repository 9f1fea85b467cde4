import type { CodeColor, PersonKind } from '../../db/schema.js';
import { chineseNumeral } from '../people/class-name.js';

/**
 * The daily report as data: its sections, the key figures the district sums, the zero
 * report line and the differences between two versions. No IO here.
 */

export interface GradeRow {
  /** Null for pupils in no class. */
  grade: number | null;
  /** 一年级, 二年级, ... or 未分班. */
  label: string;
  expected: number;
  arrived: number;
  absent: number;
  late: number;
  /** Pupils absent for illness by the class checks; null when the checks were not available. */
  illnessAbsent: number | null;
}

export interface FeverEntry {
  personId: string | null;
  /** 未识别人员 for a face the gate did not recognise. */
  name: string;
  kind: PersonKind | null;
  className: string | null;
  maxTemperature: number | null;
  firstAt: number;
  readings: number;
  recheck: 'normal' | 'fever' | null;
  recheckTemperature: number | null;
}

export interface CodeEntry {
  personId: string;
  name: string;
  kind: PersonKind;
  className: string | null;
  color: CodeColor;
  isStale: boolean;
  /** Null for a code the bureau never returned (未同步): its color is unknown and isStale true. */
  fetchedAt: number | null;
}

export interface IllnessAbsenceEntry {
  personId: string;
  name: string;
  className: string | null;
  /** Chinese symptom names. */
  symptoms: string[];
  note: string | null;
}

export interface FollowUpEntry {
  personId: string;
  name: string;
  className: string | null;
  /** School day the absence began. */
  since: string;
  /** Chinese summary of the latest state, for example 缺勤第 2 天；诊断：流行性感冒；最近联系：已联系上. */
  state: string;
  expectedReturn: string | null;
}

export interface ClusterEntry {
  className: string | null;
  /** The rule with its thresholds as users read it, from the checks module. */
  rule: string;
  cases: number;
  symptoms: string[];
  raisedAt: number;
  /** Chinese status name. */
  status: string;
}

export interface VisitorEntry {
  name: string;
  purpose: string;
  host: string | null;
  entryAt: number | null;
  exitAt: number | null;
  temperature: number | null;
  codeColor: CodeColor | null;
  /** 预约登记 or 临时登记（reason）. */
  registration: string;
  /** Chinese state: 未到校, 在校, 已离校, 拒绝入校. */
  status: string;
}

/** A section filled from another module, which may not be installed or may have failed. */
export interface ReportSection<T> {
  available: boolean;
  items: T[];
  /** Reason the section is empty when not available (Chinese). */
  note: string | null;
}

/** The figures stored in columns: what the district sums and compares. */
export interface KeyFigures {
  expected: number;
  arrived: number;
  absent: number;
  late: number;
  fevers: number;
  /** Fetched codes that are not green; a never-synced code counts in unsynced instead. */
  nonGreen: number;
  /** Fetched codes older than the stale age; a never-synced code counts in unsynced instead. */
  stale: number;
  /**
   * Codes the bureau never returned (未同步). Null in reports built before this figure
   * existed: they keep the figures they were built with, in which such a code counted in
   * nonGreen and stale, until they are rebuilt.
   */
  unsynced: number | null;
  illnessAbsences: number | null;
  openFollowUps: number | null;
  clusters: number | null;
  visitors: number | null;
}

export interface DailyReportContent {
  schoolCode: string;
  schoolName: string;
  day: string;
  builtAt: number;
  grades: GradeRow[];
  total: GradeRow;
  fevers: FeverEntry[];
  /** Non-green, stale or never-synced codes at build time: codes are current, not as of the day. */
  codes: CodeEntry[];
  illnessAbsences: ReportSection<IllnessAbsenceEntry>;
  followUps: ReportSection<FollowUpEntry>;
  clusters: ReportSection<ClusterEntry>;
  visitors: ReportSection<VisitorEntry>;
  figures: KeyFigures;
  isZero: boolean;
  /** One line for the top of the report: the zero report line, or what there is to report. */
  summary: string;
  /**
   * Note on why a report exists for a day without school in the school calendar, naming
   * the day and the gate arrivals and check records it had. Null on a school day, and
   * absent from reports built before the calendar was checked.
   */
  calendarNote?: string | null;
  /**
   * True for a day without school in the school calendar. Nobody is expected, so every
   * grade row has expected 0 and absent 0 and counts only arrivals. Absent from reports
   * built before this rule, which counted the whole roster as expected.
   */
  noSchoolDay?: boolean;
}

/** 一年级 for grade 1; 未分班 for pupils in no class. */
export function gradeLabel(grade: number | null): string {
  return grade === null ? '未分班' : `${chineseNumeral(grade)}年级`;
}

/**
 * Return grade rows for a day without school: nobody was expected, so expected and absent
 * are 0 and the rows keep the arrivals. No pass is late on such a day.
 */
export function withoutExpected(grades: GradeRow[]): GradeRow[] {
  return grades.map((grade) => ({ ...grade, expected: 0, absent: 0, late: 0 }));
}

/** Sum grade rows into the school's total row. */
export function totalOf(grades: GradeRow[]): GradeRow {
  const illness = grades.every((g) => g.illnessAbsent === null) ? null : grades.reduce((sum, g) => sum + (g.illnessAbsent ?? 0), 0);
  return {
    grade: null,
    label: '合计',
    expected: grades.reduce((sum, g) => sum + g.expected, 0),
    arrived: grades.reduce((sum, g) => sum + g.arrived, 0),
    absent: grades.reduce((sum, g) => sum + g.absent, 0),
    late: grades.reduce((sum, g) => sum + g.late, 0),
    illnessAbsent: illness,
  };
}

type ContentSections = Pick<DailyReportContent, 'total' | 'fevers' | 'codes' | 'illnessAbsences' | 'followUps' | 'clusters' | 'visitors'>;

function countOf<T>(section: ReportSection<T>): number | null {
  return section.available ? section.items.length : null;
}

/** True for a code the bureau never returned: nothing was fetched that could be non-green or expire. */
export function isUnsynced(code: Pick<CodeEntry, 'fetchedAt'>): boolean {
  return code.fetchedAt === null;
}

/** Compute the key figures of a report's sections. */
export function keyFiguresOf(content: ContentSections): KeyFigures {
  return {
    expected: content.total.expected,
    arrived: content.total.arrived,
    absent: content.total.absent,
    late: content.total.late,
    fevers: content.fevers.length,
    nonGreen: content.codes.filter((c) => !isUnsynced(c) && c.color !== 'green').length,
    stale: content.codes.filter((c) => !isUnsynced(c) && c.isStale).length,
    unsynced: content.codes.filter(isUnsynced).length,
    illnessAbsences: countOf(content.illnessAbsences),
    openFollowUps: countOf(content.followUps),
    clusters: countOf(content.clusters),
    visitors: countOf(content.visitors),
  };
}

/** The abnormal figures a zero report must have at 0, with the words of the zero line. */
const ZERO_FIGURES: Array<[keyof KeyFigures, string]> = [
  ['fevers', '无发热人员'],
  ['nonGreen', '无非绿码人员'],
  ['stale', '无健康码过期人员'],
  ['unsynced', '无健康码未同步人员'],
  ['illnessAbsences', '无因病缺勤'],
  ['openFollowUps', '无待跟进的缺勤'],
  ['clusters', '无聚集性病例'],
];

/**
 * Whether there is nothing abnormal to report: no fever, no non-green, stale or never-synced code, no
 * illness absence, no open follow-up, no cluster. Plain absences and visitors are not
 * abnormal. A section that was not available (null) is left out, and the zero line then
 * names it as not covered instead of claiming it is clear.
 */
export function isZeroReport(figures: KeyFigures): boolean {
  return ZERO_FIGURES.every(([key]) => figures[key] === null || figures[key] === 0);
}

/** The zero report line (零报告), such as 零报告：今日无发热人员、……，无异常情况。 */
export function zeroReportLine(figures: KeyFigures): string {
  const clear = ZERO_FIGURES.filter(([key]) => figures[key] !== null).map(([, words]) => words);
  const missing = SECTION_NAMES.filter(([key]) => figures[key] === null).map(([, name]) => name);
  const gap = missing.length > 0 ? `（${missing.join('、')}数据未接入，未计入）` : '';
  return `零报告：今日${clear.join('、')}，无异常情况。${gap}`;
}

/** Sections filled by other modules, by the figure that counts them. */
const SECTION_NAMES: Array<[keyof KeyFigures, string]> = [
  ['illnessAbsences', '因病缺勤'],
  ['openFollowUps', '缺勤跟进'],
  ['clusters', '聚集性预警'],
];

/**
 * Write the summary line: the zero report line, or each abnormal figure in a sentence. On a
 * day without school (`noSchoolDay`) attendance names the arrivals only.
 */
export function summaryLine(figures: KeyFigures, noSchoolDay = false): string {
  if (isZeroReport(figures)) return zeroReportLine(figures);
  const attendance = noSchoolDay
    ? `非上学日，不计应到和缺勤，实到 ${figures.arrived} 人`
    : `应到 ${figures.expected} 人，实到 ${figures.arrived} 人，缺勤 ${figures.absent} 人`;
  const parts = [
    attendance,
    `发热 ${figures.fevers} 人`,
    `非绿码 ${figures.nonGreen} 人`,
    `健康码过期 ${figures.stale} 人`,
  ];
  if (figures.unsynced !== null) parts.push(`健康码未同步 ${figures.unsynced} 人`);
  const optional: Array<[number | null, string, string]> = [
    [figures.illnessAbsences, '因病缺勤', '人'],
    [figures.openFollowUps, '待跟进缺勤', '人'],
    [figures.clusters, '聚集性预警', '起'],
  ];
  for (const [value, label, unit] of optional) parts.push(value === null ? `${label}（未接入）` : `${label} ${value} ${unit}`);
  return `${parts.join('；')}。`;
}

/** Gate arrivals and morning/noon check records of one school's day. */
export interface DayRecords {
  /** People with a first pass at the gate (attendance rows). */
  arrivals: number;
  /** Morning and noon check entries. */
  checks: number;
}

export function hasDayRecords(records: DayRecords): boolean {
  return records.arrivals > 0 || records.checks > 0;
}

/**
 * Write the note of a report built for a day without school that had records, such as
 * "2026-12-12 是周六，不是上学日；当天有校门入校记录 35 人、晨午检记录 12 条，日报按这些记录生成".
 */
export function calendarNoteOf(notSchoolDayText: string, records: DayRecords): string {
  const parts: string[] = [];
  if (records.arrivals > 0) parts.push(`校门入校记录 ${records.arrivals} 人`);
  if (records.checks > 0) parts.push(`晨午检记录 ${records.checks} 条`);
  return `${notSchoolDayText}；当天有${parts.join('、')}，日报按这些记录生成`;
}

/** Chinese names of the key figures, in report order. */
export const FIGURE_LABELS: Record<keyof KeyFigures, string> = {
  expected: '应到人数',
  arrived: '实到人数',
  absent: '缺勤人数',
  late: '迟到人数',
  fevers: '发热人数',
  nonGreen: '非绿码人数',
  stale: '健康码过期人数',
  unsynced: '健康码未同步人数',
  illnessAbsences: '因病缺勤人数',
  openFollowUps: '待跟进缺勤人数',
  clusters: '聚集性预警数',
  visitors: '外来人员数',
};

export interface FigureChange {
  field: keyof KeyFigures;
  label: string;
  from: number | null;
  to: number | null;
}

/** List the key figures that differ between two versions, in report order. */
export function diffFigures(before: KeyFigures, after: KeyFigures): FigureChange[] {
  const changes: FigureChange[] = [];
  for (const field of Object.keys(FIGURE_LABELS) as Array<keyof KeyFigures>) {
    if (before[field] !== after[field]) changes.push({ field, label: FIGURE_LABELS[field], from: before[field], to: after[field] });
  }
  return changes;
}

/** '发热人数 1 → 2；实到人数 2870 → 2871' for a version list. */
export function describeChanges(changes: FigureChange[]): string {
  if (changes.length === 0) return '关键数字无变化';
  return changes.map((c) => `${c.label} ${c.from ?? '—'} → ${c.to ?? '—'}`).join('；');
}
