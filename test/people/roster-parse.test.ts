import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LOST_DIGITS_REASON, OLD_15_DIGIT_REASON, computeCheckCharacter } from '../../src/modules/people/id-number.js';
import { readRosterFile } from '../../src/modules/people/roster-read.js';
import { parseRosterSheets, type ParsedRoster, type StaffRecord, type StudentRecord } from '../../src/modules/people/roster-rows.js';
import { AppError } from '../../src/shared/errors.js';
import { maskIdNumber, maskPhone } from '../../src/shared/crypto.js';
import { STUDENT_HEADERS, buildXlsx, csvText, encodeGb18030, pupil, studentRow } from './roster-fixtures.js';

const TODAY = '2026-12-07';

async function parse(bytes: Uint8Array, maxFileMb = 20): Promise<ParsedRoster> {
  const workbook = await readRosterFile(bytes, { maxFileMb });
  return parseRosterSheets(workbook.sheets, { today: TODAY });
}

async function parseStudents(bytes: Uint8Array): Promise<ParsedRoster & { kind: 'student' }> {
  const parsed = await parse(bytes);
  expect(parsed.kind).toBe('student');
  return parsed as ParsedRoster & { kind: 'student' };
}

/** Await the promise and return the AppError it rejects with. */
async function errorOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the promise to reject');
}

function byRow(records: StudentRecord[]): Map<number, StudentRecord> {
  return new Map(records.map((r) => [r.row, r]));
}

describe('roster header', () => {
  it('finds the header below merged title rows', async () => {
    const p = pupil(1);
    const bytes = await buildXlsx({
      titles: ['某某小学2026学年学生名单', '（2026年9月更新）'],
      headers: STUDENT_HEADERS,
      rows: [studentRow(p, '一年级', '一(1)班', 'XS001')],
    });

    const parsed = await parseStudents(bytes);
    expect(parsed.headerRow).toBe(3);
    expect(parsed.rejected).toEqual([]);
    expect(parsed.records).toHaveLength(1);
    expect(parsed.records[0]).toMatchObject({ row: 4, name: p.name, idNumber: p.idNumber, class: { grade: 1, number: 1 }, consent: true });
  });

  it('reads header variants and ignores unknown columns', async () => {
    const p = pupil(2);
    const bytes = await buildXlsx({
      headers: ['序号', '学生姓名', '身份证号码', '班级', '家长姓名', '手机号', '授权', '备注'],
      rows: [[1, p.name, p.idNumber, '一(2)班', p.guardian, p.phone, '是', '走读']],
    });

    const parsed = await parseStudents(bytes);
    expect(parsed.records[0]).toMatchObject({ guardian: { name: p.guardian, phone: p.phone, dingtalkUserId: null }, consent: true });
    expect(parsed.warnings.join()).toContain('序号、备注');
  });

  it('reads 证件号码, 身份证, 监护人姓名 and 监护人电话', async () => {
    const p = pupil(3);
    for (const idHeader of ['证件号码', '身份证']) {
      const bytes = await buildXlsx({
        headers: ['姓名', idHeader, '班级', '监护人姓名', '监护人电话', '健康码授权', '钉钉用户ID', '人员类型'],
        rows: [[p.name, p.idNumber, '2-3', p.guardian, p.phone, '否', 'dt-parent-3', '学生']],
      });
      const parsed = await parseStudents(bytes);
      expect(parsed.records[0]).toMatchObject({ idNumber: p.idNumber, consent: false, guardian: { dingtalkUserId: 'dt-parent-3' } });
    }
  });

  it('skips an instructions sheet before the roster', async () => {
    const p = pupil(4);
    const bytes = await buildXlsx({
      sheetsBefore: [{ name: '填写说明', rows: [['请按模板填写'], ['身份证号请设为文本格式']] }],
      sheetName: '名单',
      headers: STUDENT_HEADERS,
      rows: [studentRow(p, '一年级', '1班', '1')],
    });
    const parsed = await parseStudents(bytes);
    expect(parsed.sheetName).toBe('名单');
    expect(parsed.records).toHaveLength(1);
  });

  it('warns when the consent column is absent', async () => {
    const p = pupil(5);
    const bytes = await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [[p.name, p.idNumber, '101']] });
    const parsed = await parseStudents(bytes);
    expect(parsed.hasConsentColumn).toBe(false);
    expect(parsed.records[0].consent).toBeNull();
    expect(parsed.warnings[0]).toContain('没有“健康码授权”列');
  });

  it('rejects a sheet without a header row', async () => {
    const bytes = await buildXlsx({ headers: ['编号', '名称'], rows: [['1', 'x']] });
    const error = await errorOf(parse(bytes));
    expect(error.code).toBe('ROSTER_UNREADABLE');
    expect(error.userMessage).toContain('未找到表头行');
  });

  it('names a missing required column', async () => {
    const bytes = await buildXlsx({ headers: ['姓名', '班级', '联系电话'], rows: [['张三', '101', '10012345678']] });
    const error = await errorOf(parse(bytes));
    expect(error.userMessage).toContain('“身份证号”');
  });
});

describe('roster classes', () => {
  it('reads every class format', async () => {
    const headers = ['姓名', '身份证号', '年级', '班级'];
    const cases: Array<[string, string, number, number]> = [
      ['', '一(1)班', 1, 1],
      ['', '一（2）班', 1, 2],
      ['一年级', '3班', 1, 3],
      ['2年级', '1班', 2, 1],
      ['', '101', 1, 1],
      ['', '一年级1班', 1, 1],
      ['', '1年级4班', 1, 4],
      ['', '2-3', 2, 3],
      ['', '初一(3)班', 7, 3],
    ];
    const rows = cases.map(([grade, klass], i) => [pupil(100 + i).name, pupil(100 + i).idNumber, grade, klass]);
    const parsed = await parseStudents(await buildXlsx({ headers, rows }));

    expect(parsed.rejected).toEqual([]);
    expect(parsed.records.map((r) => [r.class.grade, r.class.number])).toEqual(cases.map(([, , g, n]) => [g, n]));
  });

  it('takes the value of a vertically merged class cell', async () => {
    const rows = [0, 1, 2].map((i) => [pupil(200 + i).name, pupil(200 + i).idNumber, i === 0 ? '三(2)班' : null]);
    const bytes = await buildXlsx({ titles: ['三年级名单'], headers: ['姓名', '身份证号', '班级'], rows, merges: ['C3:C5'] });
    const parsed = await parseStudents(bytes);
    expect(parsed.records.map((r) => r.class)).toEqual([
      { grade: 3, number: 2 },
      { grade: 3, number: 2 },
      { grade: 3, number: 2 },
    ]);
  });

  it('rejects a class that Excel turned into a date', async () => {
    const p = pupil(210);
    const bytes = await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [[p.name, p.idNumber, new Date(Date.UTC(2026, 1, 3))]] });
    const parsed = await parseStudents(bytes);
    expect(parsed.rejected).toEqual([{ row: 2, problems: [expect.objectContaining({ column: '班级', value: '2026-02-03' })] }]);
    expect(parsed.rejected[0].problems[0].reason).toContain('识别成了日期');
  });

  it('rejects a class without a grade', async () => {
    const p = pupil(211);
    const parsed = await parseStudents(await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [[p.name, p.idNumber, '3班']] }));
    expect(parsed.rejected[0].problems[0]).toMatchObject({ column: '班级', value: '3班' });
    expect(parsed.rejected[0].problems[0].reason).toContain('没有写年级');
  });
});

describe('roster ID numbers', () => {
  it('normalises x, X, full-width and spaced ID numbers', async () => {
    const base = '44011320141005001X';
    const variants = ['44011320141005001x', '４４０１１３２０１４１００５００１Ｘ', ' 4401 1320 1410 0500 1x ', '440113\u300020141005001ｘ'];
    const rows = variants.map((id, i) => [`学生${i}`, id, '一年级', `${i + 1}班`]);
    const parsed = await parseStudents(await buildXlsx({ headers: ['姓名', '身份证号', '年级', '班级'], rows }));

    // The same person four times: all four normalise to one number, so all are duplicates.
    expect(parsed.records).toEqual([]);
    expect(parsed.rejected).toHaveLength(4);
    for (const rejected of parsed.rejected) {
      expect(rejected.problems[0]).toMatchObject({ column: '身份证号', value: maskIdNumber(base) });
      expect(rejected.problems[0].reason).toContain('重复');
    }
  });

  it('accepts each normalised variant on its own', async () => {
    const parsed = await parseStudents(
      await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [['学生', '４４０１１３２０１４１００５００１ｘ', '101']] }),
    );
    expect(parsed.records[0]).toMatchObject({ idNumber: '44011320141005001X', birthDate: '2014-10-05', gender: '男' });
  });

  it('rejects bad ID numbers with the Excel row, header, masked value and reason', async () => {
    const good = pupil(300);
    const badCheck = good.idNumber.slice(0, 17) + (good.idNumber[17] === '0' ? '1' : '0');
    const future = '11010120270101001' + computeCheckCharacter('11010120270101001');
    const rows = [
      [good.name, good.idNumber, '101'],
      ['科学计数', 330106199003071230, '101'],
      ['文本科学计数', '3.30106E+17', '101'],
      ['校验码', badCheck, '101'],
      ['旧号码', '110101900307867', '101'],
      ['未来', future, '101'],
      ['缺号', '', '101'],
    ];
    const parsed = await parseStudents(await buildXlsx({ titles: ['学生名单'], headers: ['姓名', '身份证号码', '班级'], rows }));

    expect(parsed.records.map((r) => r.row)).toEqual([3]);
    const reasons = new Map(parsed.rejected.map((r) => [r.row, r.problems[0]]));
    expect(reasons.get(4)).toEqual({ column: '身份证号码', value: '3.30106E+17', reason: LOST_DIGITS_REASON });
    expect(reasons.get(5)).toEqual({ column: '身份证号码', value: '3.30106E+17', reason: LOST_DIGITS_REASON });
    expect(reasons.get(6)).toMatchObject({ value: maskIdNumber(badCheck) });
    expect(reasons.get(6)!.reason).toContain('校验码');
    expect(reasons.get(7)).toMatchObject({ value: maskIdNumber('110101900307867'), reason: OLD_15_DIGIT_REASON });
    expect(reasons.get(8)!.reason).toContain('晚于今天');
    expect(reasons.get(9)!.reason).toBe('身份证号为空');
    for (const problem of reasons.values()) expect(problem.value).not.toMatch(/\d{7}/);
  });

  it('rejects a gender that contradicts the ID number', async () => {
    const p = pupil(301);
    const other = p.gender === '男' ? '女' : '男';
    const parsed = await parseStudents(await buildXlsx({ headers: ['姓名', '性别', '身份证号', '班级'], rows: [[p.name, other, p.idNumber, '101']] }));
    expect(parsed.rejected[0].problems[0]).toMatchObject({ column: '性别', value: other });
  });

  it('masks phones in problems', async () => {
    const p = pupil(302);
    const parsed = await parseStudents(
      await buildXlsx({ headers: ['姓名', '身份证号', '班级', '联系电话'], rows: [[p.name, p.idNumber, '101', '1001234567']] }),
    );
    expect(parsed.rejected[0].problems[0]).toMatchObject({ column: '联系电话', value: maskPhone('1001234567') });
  });
});

describe('roster formula cells', () => {
  it('uses a text result and rejects a number result naming the cell', async () => {
    const a = pupil(400);
    const b = pupil(401);
    const rows = [
      [{ formula: 'CONCATENATE("王","小明")', result: a.name }, a.idNumber, '101', 'S1'],
      [b.name, b.idNumber, '101', { formula: 'ROW()-1', result: 2 }],
    ];
    const parsed = await parseStudents(await buildXlsx({ headers: ['姓名', '身份证号', '班级', '学号'], rows }));

    expect(parsed.records).toHaveLength(1);
    expect(parsed.records[0]).toMatchObject({ row: 2, name: a.name, studentNumber: 'S1' });
    expect(parsed.rejected).toHaveLength(1);
    expect(parsed.rejected[0].row).toBe(3);
    expect(parsed.rejected[0].problems[0]).toMatchObject({ column: '学号', value: '2' });
    expect(parsed.rejected[0].problems[0].reason).toContain('单元格 D3 是公式');
  });

  it('rejects an error value naming the cell', async () => {
    const p = pupil(402);
    const parsed = await parseStudents(
      await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [[p.name, p.idNumber, { formula: 'VLOOKUP(A2,X:Y,2,0)', result: { error: '#N/A' } }]] }),
    );
    expect(parsed.rejected[0].problems[0].reason).toContain('单元格 C2');
  });
});

describe('roster files', () => {
  it('rejects an empty file', async () => {
    const error = await errorOf(parse(Buffer.alloc(0)));
    expect(error.code).toBe('ROSTER_UNREADABLE');
    expect(error.userMessage).toContain('文件为空');
  });

  it('rejects a workbook without data', async () => {
    const error = await errorOf(parse(await buildXlsx({ headers: [], rows: [] })));
    expect(error.userMessage).toContain('没有任何数据');
  });

  it('rejects bytes that are not a spreadsheet', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2048)]);
    for (const bytes of [randomBytes(4096), png]) {
      const error = await errorOf(parse(bytes));
      expect(error.code).toBe('ROSTER_UNREADABLE');
      expect(error.userMessage).toContain('不是 Excel（.xlsx）或 CSV 表格');
    }
  });

  it('rejects a damaged xlsx and an old xls', async () => {
    const damaged = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), randomBytes(4096)]);
    expect((await errorOf(parse(damaged))).userMessage).toContain('可能已损坏');

    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(1024)]);
    expect((await errorOf(parse(xls))).userMessage).toContain('.xls');
  });

  it('rejects an oversize file before reading it', async () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 0x41);
    const started = performance.now();
    const error = await errorOf(parse(huge));
    expect(error.code).toBe('ROSTER_TOO_LARGE');
    expect(error.status).toBe(413);
    expect(error.userMessage).toBe('花名册文件过大（50.0 MB），上限为 20 MB，请拆分后分批导入');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('reads a UTF-8 CSV with a BOM', async () => {
    const p = pupil(500);
    const text = csvText([['某某小学学生名单'], STUDENT_HEADERS, studentRow(p, '一年级', '一(1)班', '001').map(String)]);
    const parsed = await parseStudents(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(parsed.headerRow).toBe(2);
    expect(parsed.records[0]).toMatchObject({ row: 3, name: p.name, idNumber: p.idNumber, guardian: { name: p.guardian, phone: p.phone } });
  });

  it('reads a GB18030 CSV as Excel on Chinese Windows saves it', async () => {
    const p = pupil(501);
    const text = csvText([STUDENT_HEADERS, studentRow(p, '二年级', '3班', '002').map(String), ['', '', '3.30106E+17', '二年级', '3班', '', '', '', '']]);
    const workbook = await readRosterFile(encodeGb18030(text), { maxFileMb: 20 });
    expect(workbook).toMatchObject({ format: 'csv', encoding: 'gb18030' });

    const parsed = parseRosterSheets(workbook.sheets, { today: TODAY });
    expect(parsed.records[0]).toMatchObject({ name: p.name, class: { grade: 2, number: 3 } });
    expect(parsed.rejected[0].row).toBe(3);
    expect(parsed.rejected[0].problems.map((x) => x.reason)).toEqual(['姓名为空', LOST_DIGITS_REASON]);
  });

  it('skips blank rows and counts data rows', async () => {
    const a = pupil(502);
    const b = pupil(503);
    const parsed = await parseStudents(
      await buildXlsx({ headers: ['姓名', '身份证号', '班级'], rows: [[a.name, a.idNumber, '101'], [], [null, null, null], [b.name, b.idNumber, '101']] }),
    );
    expect(parsed.dataRows).toBe(2);
    expect([...byRow(parsed.records).keys()]).toEqual([2, 5]);
  });
});

describe('staff rosters', () => {
  it('is detected by its 工号 column and reads roles and classes', async () => {
    const bytes = await buildXlsx({
      titles: ['教职工名单'],
      headers: ['姓名', '工号', '手机号', '钉钉用户ID', '职务', '班主任班级'],
      rows: [
        ['王老师', 'T001', '10000000001', 'dt-wang', '班主任', '一(1)班'],
        ['李校长', 'T002', '10000000002', '', '校长', ''],
        ['赵医生', 'T003', '', '', '校医', ''],
        ['钱师傅', 'T004', '', '', '保安', ''],
        ['孙老师', 'T005', '', '', '数学老师', '一(2)班、一(3)班'],
      ],
    });
    const parsed = await parse(bytes);
    expect(parsed.kind).toBe('staff');
    const records = parsed.records as StaffRecord[];
    expect(records.map((r) => [r.staffNumber, r.role])).toEqual([
      ['T001', 'head_teacher'],
      ['T002', 'management'],
      ['T003', 'school_doctor'],
      ['T004', 'guard'],
      ['T005', 'teacher'],
    ]);
    expect(records[0]).toMatchObject({ phone: '10000000001', dingtalkUserId: 'dt-wang', headTeacherClasses: [{ grade: 1, number: 1 }] });
    expect(records[4].headTeacherClasses).toEqual([
      { grade: 1, number: 2 },
      { grade: 1, number: 3 },
    ]);
    expect(parsed.warnings[0]).toContain('本人授权');
  });

  it('rejects rows that share a 工号 or a class to head', async () => {
    const bytes = await buildXlsx({
      headers: ['姓名', '工号', '职务', '班主任班级'],
      rows: [
        ['甲', 'T1', '班主任', '一(1)班'],
        ['乙', 'T1', '班主任', '一(2)班'],
        ['丙', 'T3', '班主任', '一(1)班'],
        ['丁', 'T4', '班主任', '一(4)班'],
      ],
    });
    const parsed = await parse(bytes);
    expect((parsed.records as StaffRecord[]).map((r) => r.staffNumber)).toEqual(['T4']);
    expect(parsed.rejected.map((r) => r.row)).toEqual([2, 3, 4]);
    expect(parsed.rejected[0].problems.map((p) => p.column)).toEqual(['工号', '班主任班级']);
    expect(parsed.rejected[0].problems[1]).toMatchObject({ value: '一(1)班' });
    expect(parsed.rejected[0].problems[1].reason).toContain('第 4 行');
  });

  it('rejects a pupil row typed as staff', async () => {
    const parsed = await parse(await buildXlsx({ headers: ['姓名', '工号', '人员类型'], rows: [['甲', 'T1', '学生']] }));
    expect(parsed.rejected[0].problems[0]).toMatchObject({ column: '人员类型', value: '学生' });
  });
});

describe('formula-like names', () => {
  it('loads them and warns by row', async () => {
    const rows = [1, 2, 3].map((seed) => studentRow(pupil(seed), '一年级', '一(1)班', `XS00${seed}`));
    rows[0]![0] = '=1+1';
    rows[2]![0] = '+SUM(A1)';
    const parsed = await parseStudents(await buildXlsx({ headers: STUDENT_HEADERS, rows }));

    expect(parsed.records.map((record) => record.name)).toEqual(['=1+1', pupil(2).name, '+SUM(A1)']);
    expect(parsed.rejected).toEqual([]);
    const warning = parsed.warnings.find((text) => text.includes('像是表格公式'));
    expect(warning).toBeDefined();
    expect(warning).toContain('第 2 行“=1+1”、第 4 行“+SUM(A1)”的姓名以 =、+、-、@ 开头');
  });

  it('adds no warning for ordinary names', async () => {
    const parsed = await parseStudents(await buildXlsx({ headers: STUDENT_HEADERS, rows: [studentRow(pupil(4), '一年级', '一(1)班', 'XS004')] }));
    expect(parsed.warnings.some((text) => text.includes('像是表格公式'))).toBe(false);
  });
});
