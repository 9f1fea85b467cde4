/**
 * A tolerant multipart reader for what gate terminals actually send. Terminals write
 * multipart by hand: Content-Length headers that do not match the part, parts without
 * Content-Disposition, empty parts between doubled boundaries, LF instead of CRLF, and
 * uploads cut off inside the picture. A strict parser drops the whole request. This one
 * returns every part it can delimit and marks the last one incomplete when the closing
 * boundary never came, so a JSON event that arrived whole is still used.
 */

export interface MultipartPart {
  /** Lower-cased header names; values as sent. */
  headers: Record<string, string>;
  /** The `name` of Content-Disposition, or null. */
  name: string | null;
  filename: string | null;
  /** Content-Type of the part without parameters, lower-cased, or null. */
  contentType: string | null;
  body: Buffer;
  /** False for a final part that was cut off before its closing boundary. */
  complete: boolean;
}

/** Read the boundary parameter of a Content-Type header, unquoted; undefined when absent. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;,\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

/**
 * Read the boundary from the body itself: the first line when it starts with `--`. Terminals
 * sometimes send a Content-Type without one, or with one that differs from the body.
 */
export function sniffBoundary(body: Buffer): string | undefined {
  const start = skipLeadingBlankLines(body, 0);
  if (body[start] !== 0x2d || body[start + 1] !== 0x2d) return undefined;
  let end = body.indexOf(0x0a, start);
  if (end === -1) end = Math.min(body.length, start + 200);
  const line = body.subarray(start + 2, end).toString('latin1').replace(/\r$/, '').trim();
  return line.length > 0 && line.length <= 200 ? line.replace(/--$/, '') : undefined;
}

/**
 * Split a multipart body into parts. The declared boundary is tried first; if it never
 * occurs in the body, the boundary on the body's first line is used instead.
 */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartPart[] {
  const declared = boundaryOf(contentType);
  const sniffed = sniffBoundary(body);
  const boundary = declared && body.includes(`--${declared}`) ? declared : (sniffed ?? declared);
  if (!boundary) return [];

  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const starts = findDelimiters(body, delimiter);
  const parts: MultipartPart[] = [];

  for (let i = 0; i < starts.length; i++) {
    const afterDelimiter = starts[i] + delimiter.length;
    if (body[afterDelimiter] === 0x2d && body[afterDelimiter + 1] === 0x2d) break;

    const contentStart = skipLineEnd(body, afterDelimiter);
    const next = starts[i + 1];
    const isLast = next === undefined;
    const contentEnd = isLast ? body.length : trimLineEndBefore(body, next);
    if (contentEnd <= contentStart) continue;

    const part = readPart(body.subarray(contentStart, contentEnd), !isLast);
    if (part) parts.push(part);
  }
  return parts;
}

/** Offsets of every delimiter that starts the body or a line. */
function findDelimiters(body: Buffer, delimiter: Buffer): number[] {
  const offsets: number[] = [];
  let from = 0;
  while (from < body.length) {
    const at = body.indexOf(delimiter, from);
    if (at === -1) break;
    const startsLine = at === 0 || body[at - 1] === 0x0a || isOnlyBlankBefore(body, at);
    if (startsLine) offsets.push(at);
    from = at + delimiter.length;
  }
  return offsets;
}

function isOnlyBlankBefore(body: Buffer, at: number): boolean {
  return skipLeadingBlankLines(body, 0) === at;
}

function skipLeadingBlankLines(body: Buffer, from: number): number {
  let i = from;
  while (i < body.length && (body[i] === 0x0d || body[i] === 0x0a || body[i] === 0x20 || body[i] === 0x09)) i++;
  return i;
}

/** Skip the rest of the delimiter line (transport padding and its CRLF or LF). */
function skipLineEnd(body: Buffer, from: number): number {
  const lineEnd = body.indexOf(0x0a, from);
  return lineEnd === -1 ? body.length : lineEnd + 1;
}

/** Find the end of a part's content; the CRLF or LF before the next delimiter belongs to the delimiter. */
function trimLineEndBefore(body: Buffer, delimiterAt: number): number {
  let end = delimiterAt;
  if (end > 0 && body[end - 1] === 0x0a) end--;
  if (end > 0 && body[end - 1] === 0x0d) end--;
  return end;
}

/**
 * Read a part's headers and content. When no blank line ends the headers, the part has
 * none (or was cut off inside them) and is returned as bare content only if it is not
 * itself a header block.
 */
function readPart(raw: Buffer, complete: boolean): MultipartPart | undefined {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let headerEnd = -1;
  let bodyStart = 0;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    headerEnd = crlf;
    bodyStart = crlf + 4;
  } else if (lf !== -1) {
    headerEnd = lf;
    bodyStart = lf + 2;
  }

  const headerText = headerEnd === -1 ? '' : raw.subarray(0, headerEnd).toString('utf8');
  const looksLikeHeaders = headerEnd !== -1 && /^[A-Za-z][A-Za-z0-9-]*\s*:/.test(headerText);
  const headers: Record<string, string> = {};
  if (looksLikeHeaders) {
    for (const line of headerText.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }

  const content = looksLikeHeaders ? raw.subarray(bodyStart) : raw;
  if (!looksLikeHeaders && /^[A-Za-z][A-Za-z0-9-]*\s*:/.test(raw.subarray(0, 64).toString('latin1'))) return undefined;

  const disposition = headers['content-disposition'] ?? '';
  const name = /\bname\s*=\s*"([^"]*)"/i.exec(disposition)?.[1] ?? /\bname\s*=\s*([^;\s]+)/i.exec(disposition)?.[1] ?? null;
  const filename = /\bfilename\s*=\s*"([^"]*)"/i.exec(disposition)?.[1] ?? null;
  const contentType = headers['content-type']?.split(';')[0].trim().toLowerCase() ?? null;
  return { headers, name, filename, contentType, body: content, complete };
}
