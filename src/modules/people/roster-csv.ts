/**
 * CSV rosters: decoding (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK as
 * Excel on Chinese Windows saves them), parsing (RFC 4180 quoting) and writing.
 */

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'gb18030';

export type DecodeResult = { ok: true; text: string; encoding: TextEncodingName } | { ok: false };

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Decode the bytes of a text file. A BOM decides the encoding; without one the bytes are
 * tried as strict UTF-8 and then as strict GB18030 (a superset of GBK and GB2312).
 * Text in either that contains control characters other than tab and line breaks is
 * rejected, because a binary file sometimes decodes as GB18030.
 */
export function decodeText(bytes: Uint8Array): DecodeResult {
  const candidates: Array<{ encoding: TextEncodingName; start: number }> = [];
  if (startsWith(bytes, UTF8_BOM)) candidates.push({ encoding: 'utf-8', start: 3 });
  else if (startsWith(bytes, [0xff, 0xfe])) candidates.push({ encoding: 'utf-16le', start: 2 });
  else if (startsWith(bytes, [0xfe, 0xff])) candidates.push({ encoding: 'utf-16be', start: 2 });
  else candidates.push({ encoding: 'utf-8', start: 0 }, { encoding: 'gb18030', start: 0 });

  for (const { encoding, start } of candidates) {
    let text: string;
    try {
      text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
    } catch {
      continue;
    }
    if (/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(text)) return { ok: false };
    return { ok: true, text, encoding };
  }
  return { ok: false };
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

/**
 * Detect the delimiter of a CSV text: a tab when the first line has tabs and no commas
 * (Excel's "Unicode text" export), a semicolon likewise, otherwise a comma.
 */
export function detectDelimiter(text: string): string {
  const firstLine = text.slice(0, text.search(/\r|\n|$/));
  if (firstLine.includes('\t') && !firstLine.includes(',')) return '\t';
  if (firstLine.includes(';') && !firstLine.includes(',')) return ';';
  return ',';
}

/**
 * Split CSV text into records of fields. Quoted fields may contain the delimiter, line
 * breaks and doubled quotes; CRLF, LF and CR all end a record. A final empty line adds
 * no record.
 */
export function parseCsv(text: string, delimiter = detectDelimiter(text)): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let inQuotes = false;
  let fieldStarted = false;

  for (let i = 0; i < text.length; i++) {
    const char = text[i];

    if (inQuotes) {
      if (char !== '"') {
        field += char;
      } else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else {
        inQuotes = false;
      }
      continue;
    }

    if (char === '"' && !fieldStarted) {
      inQuotes = true;
      fieldStarted = true;
    } else if (char === delimiter) {
      record.push(field);
      field = '';
      fieldStarted = false;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      fieldStarted = false;
    } else {
      field += char;
      fieldStarted = true;
    }
  }

  if (fieldStarted || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** Write records as CSV with CRLF line ends, quoting fields that need it. */
export function formatCsv(records: string[][]): string {
  return records.map((record) => record.map(quoteField).join(',')).join('\r\n') + '\r\n';
}

function quoteField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
