import { maskIdNumber, maskPhone } from '../../shared/crypto.js';
import { normalizeIdNumber } from './id-number.js';
import { writeRosterXlsx, type RosterTable } from './roster-export.js';
import { fieldOfHeader, normalizePhone } from './roster-fields.js';
import type { RejectedRow } from './roster-rows.js';

/**
 * The rejected rows of a roster import as a file to work through: one line per problem,
 * with the row number, the column, the value read and the reason. The console also
 * writes the same columns as CSV in the browser.
 */

export const REJECTED_ROWS_HEADERS = ['行号', '列', '内容', '原因'];

/** A whole 18-character ID number standing alone in a text. */
const WHOLE_ID_NUMBER = /(?<![\dA-Za-z*])\d{17}[\dXx](?![\dA-Za-z])/g;
/** A long number in Excel's General format (3.30106E+17), which shows fewer digits than a masked ID. */
const SCIENTIFIC_TEXT = /^\d(\.\d+)?E[+-]\d+$/i;

/**
 * Mask a value again before it goes into a file. The import reply already masks ID
 * numbers and phones, but this body comes from the client, so a value of an ID-number or
 * phone column that has no mask yet, and a whole ID number anywhere, is masked here.
 */
export function maskRejectedValue(column: string, value: string): string {
  const field = fieldOfHeader(column);
  const trimmed = value.trim();
  const masked = trimmed === '' || trimmed.includes('*');
  if (field === 'idNumber' && !masked && !SCIENTIFIC_TEXT.test(trimmed)) return maskIdNumber(normalizeIdNumber(trimmed));
  if (field === 'phone' && !masked) return maskPhone(normalizePhone(trimmed));
  return value.replace(WHOLE_ID_NUMBER, (idNumber) => maskIdNumber(idNumber.toUpperCase()));
}

/** Return the upload's name without path and extension, safe for a download name; 花名册 when empty. */
function baseName(uploadName: string): string {
  const withoutPath = uploadName.split(/[\\/]/).pop() ?? '';
  const base = withoutPath
    .replace(/\.(xlsx|csv)$/i, '')
    .replace(/[\p{Cc}"<>:|?*]/gu, '')
    .trim()
    .slice(0, 100);
  return base || '花名册';
}

/** Build the table: a title naming the upload, the Chinese headers, one line per problem. */
export function rejectedRowsTable(rejected: RejectedRow[], uploadName: string): RosterTable {
  const rows = rejected.flatMap((row) =>
    row.problems.map((problem) => [String(row.row), problem.column, maskRejectedValue(problem.column, problem.value), maskRejectedValue('', problem.reason)]),
  );
  return {
    title: `${baseName(uploadName)} 被拒绝的行（共 ${rejected.length} 行）`,
    headers: REJECTED_ROWS_HEADERS,
    rows,
    // The value column contains masked ID numbers and phones, so it gets the wide column.
    digitColumns: [2],
  };
}

/**
 * Write the rejected rows as .xlsx with the roster writer: every cell is a text cell, so
 * a value that starts with = + - @ is shown as written and never run as a formula.
 */
export async function writeRejectedRowsXlsx(rejected: RejectedRow[], uploadName: string): Promise<{ fileName: string; bytes: Buffer; lines: number }> {
  const table = rejectedRowsTable(rejected, uploadName);
  return { fileName: `${baseName(uploadName)}-被拒绝的行.xlsx`, bytes: await writeRosterXlsx(table), lines: table.rows.length };
}
