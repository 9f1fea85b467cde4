import { ApiError, csrfToken } from '../../api/client';

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

/** Save a file through a temporary link. */
function saveFile(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function baseName(uploadName: string): string {
  return uploadName.replace(/\.(xlsx|csv)$/i, '') || '花名册';
}

/** Save the rejected rows as 〈upload name〉-被拒绝的行.csv, written in the browser. */
export function downloadRejectedRows(problems: RejectedProblem[], uploadName: string): void {
  saveFile(new Blob([rejectedRowsCsv(problems)], { type: 'text/csv;charset=utf-8' }), `${baseName(uploadName)}-被拒绝的行.csv`);
}

/** One rejected row as the import reply lists it. */
export interface RejectedRow {
  row: number;
  problems: Array<{ column: string; value: string; reason: string }>;
}

/**
 * Save the rejected rows as 〈upload name〉-被拒绝的行.xlsx. The server writes the workbook
 * from the `rejected` list of the import reply, which `path` (POST …/roster/rejected.xlsx)
 * takes back. Throws ApiError with the server's message when the request fails.
 */
export async function downloadRejectedRowsXlsx(path: string, rejected: RejectedRow[], uploadName: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
      body: JSON.stringify({ fileName: uploadName, rejected }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', '无法连接服务器，请检查网络后重试');
  }
  if (!response.ok) {
    const reply = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(response.status, reply.error ?? 'HTTP_ERROR', reply.message ?? `下载失败（HTTP ${response.status}）`);
  }
  saveFile(await response.blob(), `${baseName(uploadName)}-被拒绝的行.xlsx`);
}
