/**
 * Shapes of the daily report API. They are the server's own types, imported type-only,
 * so the console cannot drift from the API and no server code reaches the bundle.
 */
export type { DailyReportContent as ReportContent, GradeRow, KeyFigures, ReportSection as Section } from '../../../../src/modules/reports/report-model.js';
export type { DistrictDayView as DistrictDay, DistrictSchoolRow, TrendPoint } from '../../../../src/modules/reports/district.js';
export type { ReportVersionView as ReportVersion, ReportView as Report } from '../../../../src/modules/reports/service.js';
