/** Shapes of the daily report API (src/modules/reports). */

export interface KeyFigures {
  expected: number;
  arrived: number;
  absent: number;
  late: number;
  fevers: number;
  nonGreen: number;
  stale: number;
  illnessAbsences: number | null;
  openFollowUps: number | null;
  clusters: number | null;
  visitors: number | null;
}

export interface GradeRow {
  grade: number | null;
  label: string;
  expected: number;
  arrived: number;
  absent: number;
  late: number;
  illnessAbsent: number | null;
}

export interface Section<T> {
  available: boolean;
  items: T[];
  note: string | null;
}

export interface ReportContent {
  schoolCode: string;
  schoolName: string;
  day: string;
  builtAt: number;
  grades: GradeRow[];
  total: GradeRow;
  fevers: Array<{ personId: string | null; name: string; kind: 'student' | 'staff' | null; className: string | null; maxTemperature: number | null; firstAt: number; readings: number; recheck: 'normal' | 'fever' | null; recheckTemperature: number | null }>;
  codes: Array<{ personId: string; name: string; kind: 'student' | 'staff'; className: string | null; color: 'green' | 'yellow' | 'red' | 'unknown'; isStale: boolean; fetchedAt: number | null }>;
  illnessAbsences: Section<{ personId: string; name: string; className: string | null; symptoms: string[]; note: string | null }>;
  followUps: Section<{ personId: string; name: string; className: string | null; since: string; state: string; expectedReturn: string | null }>;
  clusters: Section<{ className: string | null; rule: string; cases: number; symptoms: string[]; raisedAt: number; status: string }>;
  visitors: Section<{ name: string; purpose: string; host: string | null; entryAt: number | null; exitAt: number | null; temperature: number | null; codeColor: string | null; registration: string; status: string }>;
  figures: KeyFigures;
  isZero: boolean;
  summary: string;
  /** Note on why a day without school in the school calendar has a report, or null (absent in older reports) on a school day. */
  calendarNote?: string | null;
  /** True for a day without school: nobody was expected, so expected and absent are 0. Absent in older reports. */
  noSchoolDay?: boolean;
}

export interface ReportVersion {
  version: number;
  status: 'draft' | 'submitted';
  trigger: string;
  builtAt: number;
  builtBy: string;
  submittedAt: number | null;
  submittedBy: string | null;
  changeNote: string | null;
  changes: Array<{ field: string; label: string; from: number | null; to: number | null }>;
  changeSummary: string | null;
  figures: KeyFigures;
  isZero: boolean;
}

export interface Report extends ReportVersion {
  content: ReportContent;
  versions: ReportVersion[];
}

export interface DistrictSchoolRow {
  code: string;
  name: string;
  /** 'no_school': the day has no school in the school's calendar, so no report is expected. */
  state: 'submitted' | 'draft' | 'missing' | 'no_school';
  version: number | null;
  firstSubmittedAt: number | null;
  submittedAt: number | null;
  submittedBy: string | null;
  late: boolean;
  missedDeadline: boolean;
  isSchoolDay: boolean;
  /** Why the day has no school (周六, 全区放假：国庆节, 本校停课：…); null on a school day. */
  noSchoolLabel: string | null;
  figures: KeyFigures | null;
  isZero: boolean | null;
}

export interface DistrictDay {
  districtId: string;
  day: string;
  deadline: string;
  deadlinePassed: boolean;
  schools: DistrictSchoolRow[];
  totals: { schools: number; submitted: number; missing: number; noSchool: number; zero: number; lateSubmissions: number; figures: KeyFigures };
}

export interface TrendPoint {
  day: string;
  /** Schools with school that day; days without school anywhere are left out of the trend. */
  expectedSchools: number;
  submitted: number;
  expected: number;
  arrived: number;
  absent: number;
  fevers: number;
  nonGreen: number;
  stale: number;
  illnessAbsences: number;
  clusters: number;
  attendanceRate: number | null;
}
