import { describe, expect, it } from 'vitest';
import { gradeLabel, parseClass, parseGrade, parseNumeral } from '../../src/modules/people/roster-class.js';
import { decodeText, detectDelimiter, formatCsv, parseCsv } from '../../src/modules/people/roster-csv.js';
import {
  checkPersonType,
  escapeFormula,
  fieldOfHeader,
  parseConsent,
  parseGender,
  parsePhone,
  staffRoleOf,
  unescapeFormula,
} from '../../src/modules/people/roster-fields.js';
import { className, describeClassNumbers, describeSchoolClasses } from '../../src/modules/people/class-name.js';
import { columnLetter } from '../../src/modules/people/roster-read.js';
import { encodeGb18030 } from './roster-fixtures.js';

describe('parseClass', () => {
  it.each([
    ['一(1)班', undefined, 1, 1],
    ['一（1）班', undefined, 1, 1],
    ['二(12)班', undefined, 2, 12],
    ['十(3)班', undefined, 10, 3],
    ['十二(2)班', undefined, 12, 2],
    ['一年级1班', undefined, 1, 1],
    ['1年级1班', undefined, 1, 1],
    ['三年级(4)班', undefined, 3, 4],
    ['一年级（1）班', undefined, 1, 1],
    ['六年级十班', undefined, 6, 10],
    ['2-3', undefined, 2, 3],
    ['2－3', undefined, 2, 3],
    ['2-3班', undefined, 2, 3],
    ['101', undefined, 1, 1],
    ['612', undefined, 6, 12],
    ['1003', undefined, 10, 3],
    ['初一(3)班', undefined, 7, 3],
    ['高二3班', undefined, 11, 3],
    [' 一 ( 1 ) 班 ', undefined, 1, 1],
    ['二【3】班', undefined, 2, 3],
    ['二[3]班', undefined, 2, 3],
    ['二［3］班', undefined, 2, 3],
    ['二〔3〕班', undefined, 2, 3],
    ['2年级（3）班', undefined, 2, 3],
    ['１班', '一年级', 1, 1],
    ['1班', '一年级', 1, 1],
    ['3班', '2年级', 2, 3],
    ['3', '2', 2, 3],
    ['12', '五年级', 5, 12],
    ['一班', '三年级', 3, 1],
    ['一(1)班', '一年级', 1, 1],
    ['101', '1', 1, 1],
  ] as const)('reads %j with grade %j', (text, grade, expectedGrade, expectedNumber) => {
    expect(parseClass(text, grade)).toEqual({ ok: true, grade: expectedGrade, number: expectedNumber });
  });

  it.each([
    ['', undefined, '班级为空'],
    ['1班', undefined, '没有写年级'],
    ['12', undefined, '没有写年级'],
    ['一(1)班', '二年级', '不一致'],
    ['101', '2', '不一致'],
    ['2(5)班', '高一', '不一致'],
    ['十三(1)班', undefined, '超出范围'],
    ['一(0)班', undefined, '超出范围'],
    ['小班', undefined, '无法识别班级'],
    ['3班', '2020级', '无法识别年级'],
    ['1班', '十三年级', '无法识别年级'],
  ] as const)('rejects %j with grade %j', (text, grade, reason) => {
    const result = parseClass(text, grade);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('round-trips every class name and grade label of the export', () => {
    for (let grade = 1; grade <= 12; grade++) {
      expect(parseGrade(gradeLabel(grade))).toBe(grade);
      for (const number of [1, 9, 10, 15, 20, 99]) {
        expect(parseClass(className(grade, number), gradeLabel(grade))).toEqual({ ok: true, grade, number });
      }
    }
  });

  it('reads Chinese numerals', () => {
    expect([parseNumeral('一'), parseNumeral('十'), parseNumeral('十二'), parseNumeral('二十'), parseNumeral('九十九')]).toEqual([1, 10, 12, 20, 99]);
    expect(parseNumeral('一二')).toBeUndefined();
    expect(parseNumeral('')).toBeUndefined();
  });
});

describe('roster fields', () => {
  it.each([
    ['姓名', 'name'],
    ['身份证号', 'idNumber'],
    ['身份证号码', 'idNumber'],
    ['证件号码', 'idNumber'],
    ['身份证', 'idNumber'],
    ['身份证号（必填）', 'idNumber'],
    ['*身份证号', 'idNumber'],
    [' 姓 名 ', 'name'],
    ['监护人', 'guardianName'],
    ['家长姓名', 'guardianName'],
    ['监护人姓名', 'guardianName'],
    ['联系电话', 'phone'],
    ['手机号', 'phone'],
    ['家长电话', 'phone'],
    ['监护人电话', 'phone'],
    ['健康码授权', 'consent'],
    ['授权', 'consent'],
    ['钉钉用户ID', 'dingtalkUserId'],
    ['钉钉用户id', 'dingtalkUserId'],
    ['钉钉用户ＩＤ', 'dingtalkUserId'],
    ['人员类型', 'personType'],
    ['工号', 'staffNumber'],
    ['职务', 'position'],
    ['班主任班级', 'headTeacherClasses'],
  ])('maps header %j to %s', (header, field) => {
    expect(fieldOfHeader(header)).toBe(field);
  });

  it('ignores a title as a header', () => {
    expect(fieldOfHeader('某某小学2026学年学生名单')).toBeUndefined();
  });

  it.each([
    ['10012345678', '10012345678'],
    ['100 1234 5678', '10012345678'],
    ['100-1234-5678', '10012345678'],
    ['+86 10012345678', '10012345678'],
    ['８６１００１２３４５６７８', '10012345678'],
    ['13800138000', '13800138000'],
  ])('accepts phone %j', (text, phone) => {
    expect(parsePhone(text)).toEqual({ ok: true, value: phone });
  });

  it.each(['0571-88888888', '1001234567', '100123456789', '23800138000', 'abc'])('rejects phone %j', (text) => {
    expect(parsePhone(text).ok).toBe(false);
  });

  it('reads consent and gender', () => {
    expect(parseConsent('是')).toEqual({ ok: true, value: true });
    expect(parseConsent('否')).toEqual({ ok: true, value: false });
    expect(parseConsent('')).toEqual({ ok: true, value: null });
    expect(parseConsent('也许').ok).toBe(false);
    expect(parseGender('女')).toEqual({ ok: true, value: '女' });
    expect(parseGender('M')).toEqual({ ok: true, value: '男' });
    expect(parseGender('未知').ok).toBe(false);
  });

  it.each([
    ['班主任', false, 'head_teacher'],
    ['校长', false, 'management'],
    ['副校长', false, 'management'],
    ['防疫专员', false, 'management'],
    ['管理层', false, 'management'],
    ['副校长兼班主任', true, 'management'],
    ['校医', false, 'school_doctor'],
    ['门卫', false, 'guard'],
    ['保安', false, 'guard'],
    ['语文老师', false, 'teacher'],
    ['教师', true, 'teacher'],
    ['', true, 'head_teacher'],
    ['', false, 'teacher'],
  ] as const)('maps 职务 %j (heads classes %s) to %s', (position, heads, role) => {
    expect(staffRoleOf(position, heads)).toBe(role);
  });

  it('checks 人员类型 against the kind of file', () => {
    expect(checkPersonType('学生', 'student').ok).toBe(true);
    expect(checkPersonType('', 'student').ok).toBe(true);
    expect(checkPersonType('教师', 'staff').ok).toBe(true);
    expect(checkPersonType('教师', 'student').ok).toBe(false);
    expect(checkPersonType('学生', 'staff').ok).toBe(false);
    expect(checkPersonType('家长', 'student').ok).toBe(false);
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+8613800138000', "'+8613800138000"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['张三', '张三'],
    ["'plain", "'plain"],
  ])('escapes formula text %j', (value, escaped) => {
    expect(escapeFormula(value)).toBe(escaped);
    expect(unescapeFormula(escapeFormula(value))).toBe(value);
  });

  it('names columns like Excel', () => {
    expect([columnLetter(0), columnLetter(25), columnLetter(26), columnLetter(701), columnLetter(702)]).toEqual(['A', 'Z', 'AA', 'ZZ', 'AAA']);
  });
});

describe('roster CSV', () => {
  it('parses quotes, embedded line breaks and CRLF', () => {
    const text = '姓名,备注\r\n"张,三","第一行\r\n第二行"\r\n李四,"说""好"""\r\n';
    expect(parseCsv(text)).toEqual([
      ['姓名', '备注'],
      ['张,三', '第一行\r\n第二行'],
      ['李四', '说"好"'],
    ]);
  });

  it('keeps empty trailing fields', () => {
    expect(parseCsv('a,b,\n,,\n')).toEqual([
      ['a', 'b', ''],
      ['', '', ''],
    ]);
  });

  it('detects tab and semicolon delimiters', () => {
    expect(detectDelimiter('姓名\t身份证号\n')).toBe('\t');
    expect(detectDelimiter('姓名;身份证号\n')).toBe(';');
    expect(detectDelimiter('姓名,身份证号\n')).toBe(',');
  });

  it('round-trips through formatCsv', () => {
    const rows = [['a', 'b,c', 'd"e', 'f\ng']];
    expect(parseCsv(formatCsv(rows))).toEqual(rows);
  });

  it('decodes UTF-8 with and without BOM, GB18030 and UTF-16', () => {
    const text = '姓名,身份证号\n张三,110101199003078670\n';
    expect(decodeText(Buffer.from(text))).toMatchObject({ ok: true, text, encoding: 'utf-8' });
    expect(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))).toMatchObject({ ok: true, text, encoding: 'utf-8' });
    expect(decodeText(encodeGb18030(text))).toMatchObject({ ok: true, text, encoding: 'gb18030' });
    expect(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))).toMatchObject({ ok: true, text, encoding: 'utf-16le' });
  });

  it('rejects binary bytes', () => {
    expect(decodeText(Buffer.from([0x00, 0x01, 0x02, 0x41]))).toEqual({ ok: false });
    expect(decodeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toEqual({ ok: false });
  });
});

describe('class lists in messages', () => {
  const odd = (count: number) => Array.from({ length: count }, (_, i) => 2 * i + 1);

  it.each([
    ['one class', [3], '二(3)班'],
    ['two in a row', [1, 2], '二(1)班、二(2)班'],
    ['a run', [1, 2, 3], '二(1)班至二(3)班'],
    ['runs around a gap', [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15], '二(1)班至二(7)班、二(9)班至二(15)班'],
    ['a run and two alone', [1, 2, 3, 5, 7], '二(1)班至二(3)班、二(5)班、二(7)班'],
  ])('describes %s', (_case, numbers, expected) => {
    expect(describeClassNumbers(2, numbers)).toBe(expected);
  });

  it('lists 60 scattered classes in full', () => {
    const text = describeClassNumbers(2, odd(60));
    expect(text?.split('、')).toHaveLength(60);
    expect(text?.endsWith('二(119)班')).toBe(true);
    expect(text).not.toContain('等');
  });

  it('leaves more than 60 to the caller', () => {
    expect(describeClassNumbers(2, odd(61))).toBeUndefined();
  });

  it('describes a whole school by grade', () => {
    const classes = [1, 2, 3].map((number) => ({ grade: 1, number })).concat([3, 5].map((number) => ({ grade: 2, number })));
    expect(describeSchoolClasses(classes, 'S1')).toBe('一(1)班至一(3)班、二(3)班、二(5)班');
    expect(describeSchoolClasses([], 'S1')).toBe('本校还没有任何班级');
    const scattered = odd(61).map((number) => ({ grade: 4, number }));
    expect(describeSchoolClasses(scattered, 'S1')).toBe('共 61 个班，全部班级可在控制台“晨午检”页的班级下拉框中查看，或运行 npx fangkong classes --school S1 列出');
  });
});
