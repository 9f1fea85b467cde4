// The web console imports this file into its bundle, so it imports nothing.

/** The parts of a district day view (district.ts) that the deadline sentence reads. */
export interface DeadlineSummaryInput {
  deadlinePassed: boolean;
  schools: Array<{ name: string; state: 'submitted' | 'draft' | 'missing' | 'no_school'; missedDeadline: boolean }>;
  totals: { missing: number };
}

/**
 * Describe who had reported at the district's deadline, for the line under the totals of
 * 日报汇总. A school that first submitted after the deadline had not reported at the
 * deadline, so it is listed with the schools that missed it and counted again as late.
 */
export function describeDeadline(view: DeadlineSummaryInput): string {
  if (!view.deadlinePassed) return `尚未到截止时间，目前 ${view.totals.missing} 所未上报。`;

  const missed = view.schools.filter((school) => school.missedDeadline);
  if (missed.length === 0) return '截止时所有学校均已上报。';

  const lateCount = missed.filter((school) => school.state === 'submitted').length;
  const stillMissing = missed.length - lateCount;
  const names = missed.map((school) => school.name).join('、');
  let text = `截止时 ${missed.length} 所学校未上报：${names}。`;
  if (lateCount > 0 && stillMissing > 0) text += `其中 ${lateCount} 所已逾期上报，${stillMissing} 所仍未上报。`;
  else if (lateCount > 0) text += `其中 ${lateCount} 所已逾期上报。`;
  return text;
}
