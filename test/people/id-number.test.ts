import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  LOST_DIGITS_REASON,
  OLD_15_DIGIT_REASON,
  computeCheckCharacter,
  normalizeIdNumber,
  validateIdNumber,
  type IdNumberProblem,
} from '../../src/modules/people/id-number.js';

const TODAY = '2026-12-07';

interface Vector {
  id: string;
  expectedBySource: string;
  comment: string;
  recheck: string;
}

/** Test vectors from public ID-validator suites; see test/fixtures/id-numbers/SOURCES.md. */
function readVectors(): Vector[] {
  const file = fileURLToPath(new URL('../fixtures/id-numbers/cn-resident-id-vectors.tsv', import.meta.url));
  const [header, ...lines] = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '');
  expect(header.split('\t').slice(0, 4)).toEqual(['id', 'expected_by_source', 'source_comment', 'independent_recheck_mod11_2_and_date']);
  return lines.map((line) => {
    const [id, expectedBySource, comment, recheck] = line.split('\t');
    return { id, expectedBySource, comment, recheck };
  });
}

const vectors = readVectors();

const isOld15 = (v: Vector) => /^\d{15}$/.test(v.id);
/** Invalid only because of the address code: checksum and date are fine. */
const dependsOnAddressCode = (v: Vector) => !isOld15(v) && v.expectedBySource.startsWith('invalid') && v.recheck.startsWith('check digit ok; date ok');

const validRows = vectors.filter((v) => !isOld15(v) && v.expectedBySource === 'valid');
const old15Rows = vectors.filter(isOld15);
const addressCodeRows = vectors.filter(dependsOnAddressCode);
const invalidRows = vectors.filter((v) => !isOld15(v) && v.expectedBySource.startsWith('invalid') && !dependsOnAddressCode(v));

/** The problem our validator must report, read from the independent recheck column. */
function expectedProblem(v: Vector): IdNumberProblem {
  if (/^length (\d+) \/ not all digits/.test(v.recheck)) {
    return /^length 18 /.test(v.recheck) ? 'format' : 'length';
  }
  if (v.recheck.includes('date INVALID')) return 'birth_date_invalid';
  if (v.recheck.includes('check digit WRONG')) return 'check_digit';
  throw new Error(`no expectation for vector ${v.id}: ${v.recheck}`);
}

describe('ID number vectors', () => {
  it('cover every row of the file', () => {
    expect(vectors.length).toBe(39);
    expect(validRows.length + old15Rows.length + addressCodeRows.length + invalidRows.length).toBe(vectors.length);
  });

  it.each(validRows.map((v) => [v.id, v] as const))('accepts valid %s', (_id, v) => {
    const result = validateIdNumber(v.id, { today: TODAY });
    expect(result.ok).toBe(true);
    if (!result.ok) return;

    expect(result.idNumber).toBe(v.id.toUpperCase());
    expect(result.birthDate).toBe(`${v.id.slice(6, 10)}-${v.id.slice(10, 12)}-${v.id.slice(12, 14)}`);
    expect(result.gender).toBe(v.recheck.includes('sex M') ? 'male' : 'female');
  });

  it.each(invalidRows.map((v) => [v.id, expectedProblem(v), v] as const))('rejects invalid %s as %s', (_id, problem, v) => {
    const result = validateIdNumber(v.id, { today: TODAY });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(problem);
    expect(result.reason).toMatch(/[\u4e00-\u9fff]/);
  });

  it.each(old15Rows.map((v) => [v.id, v] as const))('rejects 15-digit %s asking for 18 digits', (_id, v) => {
    expect(validateIdNumber(v.id, { today: TODAY })).toEqual({ ok: false, code: 'old_15_digit', reason: OLD_15_DIGIT_REASON });
  });

  // The source suites reject these in strict mode, against address-code timelines; our
  // validator checks only the check digit and the date, so it accepts them.
  it.each(addressCodeRows.map((v) => [v.id, v] as const))('address-code row %s: checksum+date validator accepts (strict mode rejects)', (_id, v) => {
    expect(v.comment).toMatch(/address[- ]code|birth-place code|county code|strict mode/);
    const result = validateIdNumber(v.id, { today: TODAY });
    expect(result.ok).toBe(true);
  });
});

describe('normalizeIdNumber', () => {
  it.each([
    [' 110101199003078670 ', '110101199003078670'],
    ['1101 0119 9003 0786 70', '110101199003078670'],
    ['110101\u3000199003078670', '110101199003078670'],
    ['１１０１０１１９９００３０７８６７０', '110101199003078670'],
    ['44011320141005001x', '44011320141005001X'],
    ['44011320141005001Ｘ', '44011320141005001X'],
    ['44011320141005001ｘ', '44011320141005001X'],
    ['\u00a044011320141005001x\t', '44011320141005001X'],
  ])('normalises %j', (input, expected) => {
    expect(normalizeIdNumber(input)).toBe(expected);
    expect(validateIdNumber(input, { today: TODAY }).ok).toBe(true);
  });
});

describe('validateIdNumber', () => {
  const withCheck = (first17: string) => first17 + computeCheckCharacter(first17);

  it('rejects a birth date after today', () => {
    const result = validateIdNumber(withCheck('11010120261208001'), { today: TODAY });
    expect(result).toMatchObject({ ok: false, code: 'birth_date_future' });
  });

  it('accepts a birth date of today', () => {
    expect(validateIdNumber(withCheck('11010120261207001'), { today: TODAY }).ok).toBe(true);
  });

  it('rejects a birth date before 1900', () => {
    const result = validateIdNumber(withCheck('11010118991231001'), { today: TODAY });
    expect(result).toMatchObject({ ok: false, code: 'birth_date_too_early' });
  });

  it('accepts 29 February only in leap years', () => {
    expect(validateIdNumber(withCheck('11010120190229001'), { today: TODAY })).toMatchObject({ code: 'birth_date_invalid' });
    expect(validateIdNumber(withCheck('11010121000229001'), { today: '2200-01-01' })).toMatchObject({ code: 'birth_date_invalid' });
    expect(validateIdNumber(withCheck('11010120200229001'), { today: TODAY }).ok).toBe(true);
    expect(validateIdNumber(withCheck('11010120000229001'), { today: TODAY }).ok).toBe(true);
  });

  it.each([['11010120191301001'], ['11010120190001001'], ['11010120190431001'], ['11010120190100001']])('rejects impossible date in %s', (first17) => {
    expect(validateIdNumber(withCheck(first17), { today: TODAY })).toMatchObject({ code: 'birth_date_invalid' });
  });

  it('rejects an empty value', () => {
    expect(validateIdNumber('   ', { today: TODAY })).toMatchObject({ ok: false, code: 'empty' });
  });

  it.each([
    ['3.30106E+17'],
    ['3.30106199003071E+17'],
    ['3.30106e17'],
    ['1.10101E+17 '],
  ])('rejects scientific notation text %j as lost digits', (text) => {
    expect(validateIdNumber(text, { today: TODAY })).toEqual({ ok: false, code: 'lost_digits', reason: LOST_DIGITS_REASON });
  });

  it.each([
    [330106199003071230],
    [3.30106e17],
    [2 ** 53 + 2],
    [1101011990030786],
  ])('rejects number cell %d as lost digits', (value) => {
    expect(validateIdNumber(value, { today: TODAY })).toMatchObject({ ok: false, code: 'lost_digits' });
  });

  it('rejects a 15-digit number cell as an old number', () => {
    expect(validateIdNumber(110101900307867, { today: TODAY })).toMatchObject({ ok: false, code: 'old_15_digit' });
  });

  it('rejects a short number cell by its length', () => {
    expect(validateIdNumber(12345, { today: TODAY })).toMatchObject({ ok: false, code: 'length' });
  });

  it('does not reveal the expected check character', () => {
    const result = validateIdNumber('110101199003078671', { today: TODAY });
    expect(result).toMatchObject({ ok: false, code: 'check_digit' });
    if (!result.ok) expect(result.reason).not.toContain('0');
  });
});
