/** One problem of a rejected roster row, as the import reply lists it. */
export interface RejectedProblem {
  row: number;
  column: string;
  value: string;
  reason: string;
}

/** A CSV field: quoted when it holds a comma, quote or line break; a leading = + - @ is neutralised so spreadsheets do not run it. */
function csvField(text: string): string {
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The rejected rows as CSV text for Excel: a BOM so Excel reads UTF-8, Chinese headers,
 * CRLF line ends. Values are the ones the server sent (ID numbers and phones masked).
 */
export function rejectedRowsCsv(problems: RejectedProblem[]): string {
  const lines = [['行号', '列', '内容', '原因'], ...problems.map((p) => [String(p.row), p.column, p.value, p.reason])];
  return '\ufeff' + lines.map((line) => line.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Save the rejected rows as 〈upload name〉-被拒绝的行.csv through a temporary link. */
export function downloadRejectedRows(problems: RejectedProblem[], uploadName: string): void {
  const base = uploadName.replace(/\.(xlsx|csv)$/i, '') || '花名册';
  const url = URL.createObjectURL(new Blob([rejectedRowsCsv(problems)], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${base}-被拒绝的行.csv`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
