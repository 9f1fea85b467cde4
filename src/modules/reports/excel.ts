import ExcelJS from 'exceljs';
import type { CodeColor } from '../../db/schema.js';
import { formatLocalDateTime, formatLocalTime } from '../../shared/time.js';
import type { DistrictDayView } from './district.js';
import { FIGURE_LABELS, isUnsynced, type CodeEntry, type DailyReportContent, type KeyFigures, type ReportSection } from './report-model.js';
import type { ReportVersionView } from './service.js';

/**
 * The daily report in the district's Excel layout. Every sheet is a title row, a header
 * row and data rows. Counts and temperatures are numbers, and everything else is a text
 * cell in the text format '@'. An .xlsx keeps a formula in a cell's <f> element, never in
 * a text cell, so a value starting with = + - @ is written as is, as in the roster and
 * venue exports.
 */

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export type Cell = string | number | null;

export interface SheetLayout {
  name: string;
  title: string;
  /** Lines between the title and the header, such as the report's state. */
  notes: string[];
  headers: string[];
  rows: Cell[][];
}

const COLOR_NAMES: Record<CodeColor, string> = { green: '绿码', yellow: '黄码', red: '红码', unknown: '未知' };
const KIND_NAMES = { student: '学生', staff: '教职工' } as const;
const NONE_ROW = '无';
/** The 未同步 figure of a version built before it was counted apart (see KeyFigures.unsynced). */
const NOT_COUNTED_APART = '未单独统计';
const RECHECK_NAMES = { none: '未复测', normal: '复测正常', fever: '复测仍发热' } as const;

function dateTime(ms: number | null): string {
  return ms === null ? '' : formatLocalDateTime(ms);
}

function attendanceRate(arrived: number, expected: number): string {
  return expected === 0 ? '—' : `${((arrived / expected) * 100).toFixed(1)}%`;
}

/** Rows of a section, or one row saying it is empty or was not available. */
function sectionRows<T>(section: ReportSection<T>, toRow: (item: T) => Cell[]): Cell[][] {
  if (!section.available) return [[`未接入：${section.note ?? '该项数据暂不可用'}`]];
  return section.items.length === 0 ? [[NONE_ROW]] : section.items.map(toRow);
}

/** The 健康码 and 是否过期 cells: a code the bureau never returned is 未同步, with no colour and nothing to expire. */
function codeCells(code: CodeEntry): Cell[] {
  if (isUnsynced(code)) return ['未同步', '—'];
  return [COLOR_NAMES[code.color], code.isStale ? '已过期' : '否'];
}

function listRows<T>(items: T[], toRow: (item: T) => Cell[]): Cell[][] {
  return items.length === 0 ? [[NONE_ROW]] : items.map(toRow);
}

/** A Chinese date such as 2026年12月7日. */
export function chineseDate(day: string): string {
  const [year, month, date] = day.split('-').map(Number);
  return `${year}年${month}月${date}日`;
}

/** The sheets of one school's report version. */
export function schoolReportSheets(content: DailyReportContent, version: Pick<ReportVersionView, 'version' | 'status' | 'submittedAt' | 'submittedBy' | 'builtAt' | 'changeNote'>): SheetLayout[] {
  const heading = `${content.schoolName} ${chineseDate(content.day)} 疫情防控日报`;
  const state =
    version.status === 'submitted'
      ? `第 ${version.version} 版，已于 ${dateTime(version.submittedAt)} 由 ${version.submittedBy ?? ''} 上报`
      : `第 ${version.version} 版草稿，尚未上报（生成于 ${dateTime(version.builtAt)}）`;
  const notes = [`学校代码：${content.schoolCode}；${state}`, content.summary];
  if (content.calendarNote) notes.push(content.calendarNote);
  if (version.changeNote) notes.push(`更正说明：${version.changeNote}`);
  // Stored content has no unsynced key (or null) when built before the figure existed.
  const unsyncedCounted = content.figures.unsynced !== undefined && content.figures.unsynced !== null;
  if (!unsyncedCounted) notes.push('本版生成时未单独统计健康码未同步人数：从未同步的健康码计入了非绿码和健康码过期人数，重新生成后分开统计');

  const figureRows = (Object.keys(FIGURE_LABELS) as Array<keyof KeyFigures>)
    .filter((key) => !['expected', 'arrived', 'absent', 'late'].includes(key))
    .map((key): Cell[] => {
      if (key === 'unsynced' && !unsyncedCounted) return [FIGURE_LABELS[key], NOT_COUNTED_APART];
      return [FIGURE_LABELS[key], content.figures[key] === null ? '未接入' : content.figures[key]];
    });
  const gradeRow = (g: DailyReportContent['total']): Cell[] => [g.label, g.expected, g.arrived, g.absent, g.late, g.illnessAbsent ?? '未接入', attendanceRate(g.arrived, g.expected)];

  return [
    {
      name: '汇总',
      title: heading,
      notes,
      headers: ['年级', '应到人数', '实到人数', '缺勤人数', '迟到人数', '因病缺勤人数', '出勤率'],
      rows: [...content.grades.map(gradeRow), gradeRow(content.total), [], ['项目', '数量'], ...figureRows],
    },
    {
      name: '发热人员',
      title: `${heading}：发热人员`,
      notes: [],
      headers: ['姓名', '人员类型', '班级', '最高体温(°C)', '首次测温时间', '测温异常次数', '复测结果', '复测体温(°C)'],
      rows: listRows(content.fevers, (f) => [
        f.name,
        f.kind ? KIND_NAMES[f.kind] : '未识别',
        f.className ?? '',
        f.maxTemperature,
        dateTime(f.firstAt),
        f.readings,
        RECHECK_NAMES[f.recheck ?? 'none'],
        f.recheckTemperature,
      ]),
    },
    {
      name: '健康码异常',
      title: `${heading}：非绿码、过期及未同步健康码（截至 ${dateTime(content.builtAt)}）`,
      notes: [],
      headers: ['姓名', '人员类型', '班级', '健康码', '是否过期', '最近获取时间'],
      rows: listRows(content.codes, (c) => [c.name, KIND_NAMES[c.kind], c.className ?? '', ...codeCells(c), dateTime(c.fetchedAt)]),
    },
    {
      name: '因病缺勤',
      title: `${heading}：因病缺勤`,
      notes: [],
      headers: ['姓名', '班级', '症状', '备注'],
      rows: sectionRows(content.illnessAbsences, (a) => [a.name, a.className ?? '', a.symptoms.join('、'), a.note ?? '']),
    },
    {
      name: '缺勤跟进',
      title: `${heading}：未结束的缺勤跟进`,
      notes: [],
      headers: ['姓名', '班级', '缺勤起始日', '当前情况', '预计返校日期'],
      rows: sectionRows(content.followUps, (f) => [f.name, f.className ?? '', f.since, f.state, f.expectedReturn ?? '']),
    },
    {
      name: '聚集性预警',
      title: `${heading}：聚集性预警`,
      notes: [],
      headers: ['班级', '触发规则', '病例数', '症状', '预警时间', '状态'],
      rows: sectionRows(content.clusters, (c) => [c.className ?? '', c.rule, c.cases, c.symptoms.join('、'), dateTime(c.raisedAt), c.status]),
    },
    {
      name: '外来人员',
      title: `${heading}：外来人员`,
      notes: [],
      headers: ['姓名', '来访事由', '接待人', '入校时间', '离校时间', '体温(°C)', '健康码', '登记方式', '状态'],
      rows: sectionRows(content.visitors, (v) => [
        v.name,
        v.purpose,
        v.host ?? '',
        v.entryAt === null ? '' : formatLocalTime(v.entryAt),
        v.exitAt === null ? '' : formatLocalTime(v.exitAt),
        v.temperature,
        v.codeColor ? COLOR_NAMES[v.codeColor] : '',
        v.registration,
        v.status,
      ]),
    },
  ];
}

const STATE_NAMES = { submitted: '已上报', draft: '未上报（草稿）', missing: '未上报', no_school: '非上学日' } as const;
const YES_NO: Record<string, string> = { true: '是', false: '否', null: '' };

/** The state column: a late first submission, a missed deadline and the reason of a day without school are named. */
function stateName(row: DistrictDayView['schools'][number]): string {
  if (row.state === 'submitted' && row.late) return '逾期上报';
  if (row.missedDeadline) return '逾期未报';
  if (row.state === 'no_school' && row.noSchoolLabel) return `非上学日（${row.noSchoolLabel}）`;
  return STATE_NAMES[row.state];
}

/** The district's sheet: one row per school and a totals row. */
export function districtSheets(view: DistrictDayView): SheetLayout[] {
  const figureCells = (f: KeyFigures | null): Cell[] =>
    f === null
      ? ['', '', '', '', '', '', '', '', '', '', '', '', '']
      : [f.expected, f.arrived, f.absent, attendanceRate(f.arrived, f.expected), f.late, f.fevers, f.nonGreen, f.stale, f.unsynced ?? NOT_COUNTED_APART, f.illnessAbsences ?? '未接入', f.openFollowUps ?? '未接入', f.clusters ?? '未接入', f.visitors ?? '未接入'];
  const t = view.totals;
  return [
    {
      name: '全区汇总',
      title: `${chineseDate(view.day)} 全区学校疫情防控日报汇总`,
      notes: [
        `上报截止时间 ${view.deadline}；共 ${t.schools} 所学校，已上报 ${t.submitted} 所，未上报 ${t.missing} 所，${t.noSchool > 0 ? `非上学日无需上报 ${t.noSchool} 所，` : ''}逾期上报 ${t.lateSubmissions} 所，零报告 ${t.zero} 所`,
      ],
      headers: ['学校代码', '学校名称', '上报状态', '版本', '上报时间', '应到人数', '实到人数', '缺勤人数', '出勤率', '迟到人数', '发热人数', '非绿码人数', '健康码过期人数', '健康码未同步人数', '因病缺勤人数', '待跟进缺勤人数', '聚集性预警数', '外来人员数', '零报告'],
      rows: [
        ...view.schools.map((s): Cell[] => [
          s.code,
          s.name,
          stateName(s),
          s.version,
          dateTime(s.submittedAt),
          ...figureCells(s.figures),
          YES_NO[String(s.isZero)],
        ]),
        ['合计', `${t.submitted} 所已上报`, '', null, '', ...figureCells(t.figures), `${t.zero} 所`],
      ],
    },
  ];
}

/** Write sheets into an .xlsx file. */
export async function writeSheets(sheets: SheetLayout[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  for (const layout of sheets) {
    const sheet = workbook.addWorksheet(layout.name);
    const width = Math.max(layout.headers.length, 2);
    sheet.columns = layout.headers.map((header) => ({ width: Math.max(10, header.length * 2 + 4) }));

    sheet.addRow([layout.title]).font = { bold: true, size: 14 };
    sheet.mergeCells(1, 1, 1, width);
    for (const note of layout.notes) {
      const row = sheet.addRow([note]);
      sheet.mergeCells(row.number, 1, row.number, width);
    }
    sheet.addRow(layout.headers).font = { bold: true };
    const headerRowNumber = sheet.rowCount;

    for (const values of layout.rows) sheet.addRow(values);
    sheet.eachRow((row) =>
      row.eachCell((cell) => {
        if (typeof cell.value === 'string') cell.numFmt = '@';
      }),
    );
    sheet.views = [{ state: 'frozen', ySplit: headerRowNumber }];
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
