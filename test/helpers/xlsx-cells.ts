import { inflateRawSync } from 'node:zlib';

/**
 * Read cells of an .xlsx as the file stores them, below what ExcelJS reports, so a test
 * can show that a cell is a text cell without a formula. Handles the zip files
 * ExcelJS writes (stored or deflated entries, no zip64).
 */

/** One cell as stored in the worksheet XML. */
export interface StoredCell {
  /** The `t` attribute: 's' for a shared string, 'inlineStr', 'str', 'n', 'b' or null when absent (a number). */
  type: string | null;
  /** Whether the cell has an `<f>` formula element. */
  hasFormula: boolean;
  /** The cell's text: the shared string it points to, its inline string, or the raw `<v>` value. */
  text: string | null;
  /** The number format id of the cell's style: 49 is the built-in text format '@'. */
  numberFormatId: number | null;
}

/** Return the zip entries of the file by name, inflated. */
function readZip(bytes: Uint8Array): Map<string, string> {
  const zip = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error('not a zip file: no end of central directory record');

  const entries = new Map<string, string>();
  let offset = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);

    const start = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(start, start + compressedSize);
    entries.set(name, (method === 0 ? data : inflateRawSync(data)).toString('utf8'));
  }
  return entries;
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name]!);
}

/** Join the `<t>` runs of a string item. */
function textOf(xml: string): string {
  return [...xml.matchAll(/<t(?:\s[^>]*)?>([^<]*)<\/t>/g)].map((match) => unescapeXml(match[1])).join('');
}

/**
 * Read the cells `refs` (such as 'G3') of a worksheet, by its part number (1 for
 * xl/worksheets/sheet1.xml). A cell missing from the XML is left out of the result.
 */
export function readStoredCells(bytes: Uint8Array, refs: string[], sheet = 1): Map<string, StoredCell> {
  const parts = readZip(bytes);
  const sheetXml = parts.get(`xl/worksheets/sheet${sheet}.xml`);
  if (sheetXml === undefined) throw new Error(`the file has no xl/worksheets/sheet${sheet}.xml`);
  const sharedStrings = [...(parts.get('xl/sharedStrings.xml') ?? '').matchAll(/<si>([\s\S]*?)<\/si>/g)].map((match) => textOf(match[1]));
  const cellXfs = /<cellXfs[^>]*>([\s\S]*?)<\/cellXfs>/.exec(parts.get('xl/styles.xml') ?? '')?.[1] ?? '';
  const formatIds = [...cellXfs.matchAll(/<xf\b[^>]*>/g)].map((match) => Number(/\bnumFmtId="(\d+)"/.exec(match[0])?.[1] ?? 0));

  const cells = new Map<string, StoredCell>();
  for (const match of sheetXml.matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
    const attributes = match[1];
    const ref = /\br="([A-Z]+\d+)"/.exec(attributes)?.[1];
    if (!ref || !refs.includes(ref)) continue;

    const body = match[2] ?? '';
    const type = /\bt="([^"]+)"/.exec(attributes)?.[1] ?? null;
    const style = /\bs="(\d+)"/.exec(attributes)?.[1];
    const value = /<v>([^<]*)<\/v>/.exec(body)?.[1];
    let text: string | null = value === undefined ? null : unescapeXml(value);
    if (type === 's' && value !== undefined) text = sharedStrings[Number(value)] ?? null;
    if (type === 'inlineStr') text = textOf(body);
    cells.set(ref, {
      type,
      hasFormula: /<f[\s>/]/.test(body),
      text,
      numberFormatId: style === undefined ? null : (formatIds[Number(style)] ?? null),
    });
  }
  return cells;
}
