import { inflateRawSync } from 'node:zlib';
import type { RosterCell, RosterRow, RosterSheet } from './roster-read.js';

/**
 * Read the cell values of a plain .xlsx roster without ExcelJS. ExcelJS builds its whole
 * document model, which took 85 to 130 ms for the 3,000-pupil roster of
 * bench/import-roster.ts, about a third of the import. This reader inflates the zip
 * entries with node:zlib and scans the sheet XML for cell values only, in about 40 ms.
 *
 * It accepts only what it fully understands: shared and inline strings, numbers that are
 * not formatted as dates, booleans, error values, styled empty cells and merged ranges,
 * in XML with the default namespace. For anything else (formulas, dates, hyperlinks,
 * unknown cell types, CDATA, zip64, prefixed XML) it returns undefined, and the caller
 * reads the file with ExcelJS. For a file it accepts it returns the sheets that
 * `readRosterFile` builds from ExcelJS 4.4 (`test/people/roster-xlsx.test.ts` compares
 * the two): the same sheets in the same order, the same rows and the same cells.
 */
export function readPlainXlsx(bytes: Uint8Array): RosterSheet[] | undefined {
  try {
    return readWorkbook(new ZipEntries(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** Thrown inside this module when the file needs ExcelJS; never leaves it. */
class Unsupported extends Error {}

function unsupported(): never {
  throw new Unsupported();
}

/** Largest inflated part read here; a bigger part is left to ExcelJS. */
const MAX_PART_BYTES = 256 * 1024 * 1024;

/** The entries of a zip file, inflated on first use. Zip64, encryption and other methods are unsupported. */
class ZipEntries {
  private readonly entries = new Map<string, { method: number; start: number; compressedSize: number; size: number }>();

  constructor(private readonly zip: Buffer) {
    const end = findEndOfCentralDirectory(zip);
    const count = zip.readUInt16LE(end + 10);
    let offset = zip.readUInt32LE(end + 16);
    if (zip.readUInt16LE(end + 4) !== 0 || count === 0xffff || offset === 0xffffffff) unsupported();

    for (let i = 0; i < count; i++) {
      if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== 0x02014b50) unsupported();
      const flags = zip.readUInt16LE(offset + 8);
      const method = zip.readUInt16LE(offset + 10);
      const compressedSize = zip.readUInt32LE(offset + 20);
      const size = zip.readUInt32LE(offset + 24);
      const nameLength = zip.readUInt16LE(offset + 28);
      const extraLength = zip.readUInt16LE(offset + 30);
      const commentLength = zip.readUInt16LE(offset + 32);
      const localOffset = zip.readUInt32LE(offset + 42);
      const name = zip.toString('latin1', offset + 46, offset + 46 + nameLength).replace(/^\//, '');
      offset += 46 + nameLength + extraLength + commentLength;

      if ((flags & 1) !== 0 || (method !== 0 && method !== 8) || size > MAX_PART_BYTES || this.entries.has(name)) unsupported();
      if (localOffset + 30 > zip.length || zip.readUInt32LE(localOffset) !== 0x04034b50) unsupported();
      const start = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
      if (start + compressedSize > zip.length) unsupported();
      this.entries.set(name, { method, start, compressedSize, size });
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Return the part as text without a byte order mark; undefined when the zip has no such entry. */
  text(name: string): string | undefined {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    const stored = this.zip.subarray(entry.start, entry.start + entry.compressedSize);
    let data: Buffer;
    try {
      data = entry.method === 0 ? stored : inflateRawSync(stored, { maxOutputLength: Math.max(entry.size, 1) });
    } catch {
      unsupported();
    }
    if (data.length !== entry.size) unsupported();
    const text = data.toString('utf8');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
}

function findEndOfCentralDirectory(zip: Buffer): number {
  const last = zip.length - 22;
  for (let offset = last; offset >= 0 && offset >= last - 0xffff; offset--) {
    if (zip.readUInt32LE(offset) === 0x06054b50) return offset;
  }
  unsupported();
}

/** A sheet listed in xl/workbook.xml, with the zip entry of its worksheet part. */
interface SheetEntry {
  name: string;
  part: string;
}

const WORKSHEET_PART = /xl\/worksheets\/sheet(\d+)[.]xml/;

function readWorkbook(zip: ZipEntries): RosterSheet[] {
  const workbook = zip.text('xl/workbook.xml') ?? unsupported();
  const rels = zip.text('xl/_rels/workbook.xml.rels') ?? unsupported();
  const sharedStrings = zip.text('xl/sharedStrings.xml');
  const styles = zip.text('xl/styles.xml');

  const sheets = listSheets(workbook, rels, zip);
  const strings = sharedStrings === undefined ? undefined : readSharedStrings(sharedStrings);
  const numberFormats = styles === undefined ? undefined : readNumberFormats(styles);
  return sheets.map((sheet) => readSheet(sheet.name, zip.text(sheet.part) ?? unsupported(), strings, numberFormats));
}

/** List the worksheets in workbook order. ExcelJS skips chart sheets, so a file with one is left to it. */
function listSheets(workbook: string, rels: string, zip: ZipEntries): SheetEntry[] {
  checkPlainXml(workbook, 'workbook');
  checkPlainXml(rels, 'Relationships');

  const targets = new Map<string, string>();
  for (const match of rels.matchAll(/<Relationship\b([^>]*?)\/?>/g)) {
    const attributes = parseAttributes(match[1]);
    const id = attributes.get('Id');
    const target = attributes.get('Target');
    if (id === undefined || target === undefined || targets.has(id)) unsupported();
    targets.set(id, target);
  }

  const sheets: SheetEntry[] = [];
  const sheetIds = new Set<number>();
  for (const match of workbook.matchAll(/<sheet\b([^>]*?)\/?>/g)) {
    const attributes = parseAttributes(match[1]);
    const name = attributes.get('name');
    const sheetId = Number(attributes.get('sheetId'));
    const target = targets.get(attributes.get('r:id') ?? '');
    if (name === undefined || target === undefined || !Number.isInteger(sheetId) || sheetId < 1 || sheetIds.has(sheetId)) unsupported();
    sheetIds.add(sheetId);

    const part = `xl/${target.replace(/^(\s|\/xl\/)+/, '')}`;
    if (!zip.has(part) || !WORKSHEET_PART.test(part)) unsupported();
    sheets.push({ name, part });
  }
  return sheets;
}

/** Cell values of the shared string table, each a plain or rich text joined to one string. */
function readSharedStrings(xml: string): string[] {
  checkPlainXml(xml, 'sst');
  const strings: string[] = [];
  // Phonetic guides (rPh, phoneticPr) carry readings, not cell text; ExcelJS drops them too.
  const items = xml.replace(/<rPh\b[^>]*\/>|<rPh\b[\s\S]*?<\/rPh>|<phoneticPr\b[^>]*\/>/g, '');
  for (const match of items.matchAll(/<si>([\s\S]*?)<\/si>|<si\/>/g)) {
    strings.push(readStringItem(match[1] ?? '', true));
  }
  return strings;
}

/**
 * Join the text of a string item: one `<t>`, or rich-text runs `<r>` each with an
 * optional `<rPr>` and one `<t>`. `_xHHHH_` escapes are decoded where ExcelJS decodes them.
 */
function readStringItem(content: string, decodeEscapes: boolean): string {
  const plain = /^<t(?:\s[^>]*)?(?:\/>|>([^<]*)<\/t>)$/.exec(content);
  if (plain) return decodeText(plain[1] ?? '', decodeEscapes);

  let text = '';
  let rest = content;
  while (rest !== '') {
    const run = /^<r>(?:<rPr>[\s\S]*?<\/rPr>|<rPr\/>)?(?:<t(?:\s[^>]*)?(?:\/>|>([^<]*)<\/t>))?<\/r>/.exec(rest) ?? unsupported();
    text += decodeText(run[1] ?? '', true);
    rest = rest.slice(run[0].length);
  }
  if (content === '') unsupported();
  return text;
}

/** Built-in number formats that ExcelJS 4.4 reads as dates (its defaultnumformats table). */
const BUILT_IN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47]);

/** ExcelJS's test for a date format: a date or time letter outside quotes and brackets. */
export function isDateFormat(code: string): boolean {
  return /[ymdhMsb]+/.test(code.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

/** Read, for each cell style (cellXfs entry), whether it formats numbers as dates. */
function readNumberFormats(xml: string): boolean[] {
  checkPlainXml(xml, 'styleSheet');
  const custom = new Map<number, string>();
  for (const match of xml.matchAll(/<numFmt\b([^>]*?)\/?>/g)) {
    const attributes = parseAttributes(match[1]);
    custom.set(Number.parseInt(attributes.get('numFmtId') ?? '', 10), attributes.get('formatCode') ?? '');
  }

  const cellXfs = /<cellXfs\b[^>]*>([\s\S]*?)<\/cellXfs>/.exec(xml);
  if (!cellXfs) return [];
  const isDate: boolean[] = [];
  for (const match of cellXfs[1].matchAll(/<xf\b([^>]*?)(?:\/>|>[\s\S]*?<\/xf>)/g)) {
    const id = Number.parseInt(parseAttributes(match[1]).get('numFmtId') ?? '0', 10);
    const code = custom.get(id);
    if (!id) isDate.push(false);
    else if (code !== undefined) isDate.push(isDateFormat(code));
    else isDate.push(BUILT_IN_DATE_FORMATS.has(id));
  }
  return isDate;
}

/** One cell as ExcelJS's model keeps it: a value, a styled empty cell, or a merged cell. */
type ParsedCell = { kind: 'value'; cell: RosterCell } | { kind: 'styled-empty' } | { kind: 'merged'; master: ParsedCell | undefined };

const EMPTY: RosterCell = { kind: 'empty' };
const STYLED_EMPTY: ParsedCell = { kind: 'styled-empty' };

const CELL_ADDRESS = /^([A-Z]{1,3})(\d+)$/;

function readSheet(name: string, xml: string, strings: string[] | undefined, dateStyles: boolean[] | undefined): RosterSheet {
  checkPlainXml(xml, 'worksheet');
  if (xml.includes('<hyperlinks')) unsupported();

  const rows = new Map<number, Array<ParsedCell | undefined>>();
  const { start, end } = sheetDataOf(xml);
  let position = skipWhitespace(xml, start, end);
  let lastRow = 0;

  while (position < end) {
    if (!xml.startsWith('<row', position) || !TAG_NAME_END.has(xml.charAt(position + 4))) unsupported();
    const tagEnd = xml.indexOf('>', position);
    if (tagEnd < 0 || tagEnd >= end) unsupported();
    const selfClosing = xml.charCodeAt(tagEnd - 1) === SLASH;
    const rowNumber = Number(parseAttributes(xml, position + 4, selfClosing ? tagEnd - 1 : tagEnd).get('r'));
    if (!Number.isInteger(rowNumber) || rowNumber <= lastRow || rowNumber > 1_048_576) unsupported();
    lastRow = rowNumber;

    const cells: Array<ParsedCell | undefined> = [];
    position = tagEnd + 1;
    if (!selfClosing) {
      const close = xml.indexOf('</row>', position);
      if (close < 0 || close >= end) unsupported();
      readCells(xml, position, close, rowNumber, cells, strings, dateStyles);
      position = close + '</row>'.length;
    }
    rows.set(rowNumber, cells);
    position = skipWhitespace(xml, position, end);
  }

  applyMerges(xml, rows);
  return { name, rows: toRosterRows(rows) };
}

/** Bounds of the XML inside `<sheetData>`; empty for `<sheetData/>`. */
function sheetDataOf(xml: string): { start: number; end: number } {
  const open = xml.indexOf('<sheetData');
  if (open < 0) unsupported();
  if (xml.startsWith('<sheetData/>', open)) return { start: open, end: open };
  if (!xml.startsWith('<sheetData>', open)) unsupported();
  const close = xml.indexOf('</sheetData>', open);
  if (close < 0 || xml.indexOf('<sheetData', open + 1) >= 0) unsupported();
  return { start: open + '<sheetData>'.length, end: close };
}

/** Read the `<c>` elements of one row, between `start` and `end` of the sheet XML. */
function readCells(
  xml: string,
  start: number,
  end: number,
  rowNumber: number,
  cells: Array<ParsedCell | undefined>,
  strings: string[] | undefined,
  dateStyles: boolean[] | undefined,
): void {
  const rowSuffix = String(rowNumber);
  let position = skipWhitespace(xml, start, end);
  let lastColumn = 0;
  // Hand-written scanning: regular expressions with lazy groups were several times slower here.
  while (position < end) {
    if (!xml.startsWith('<c', position) || !TAG_NAME_END.has(xml.charAt(position + 2))) unsupported();
    const tagEnd = xml.indexOf('>', position);
    if (tagEnd < 0 || tagEnd >= end) unsupported();
    const selfClosing = xml.charCodeAt(tagEnd - 1) === SLASH;
    const attributes = readCellAttributes(xml, position + 2, selfClosing ? tagEnd - 1 : tagEnd);

    let inner = '';
    position = tagEnd + 1;
    if (!selfClosing) {
      const close = xml.indexOf('</c>', position);
      if (close < 0 || close >= end) unsupported();
      inner = xml.slice(position, close);
      position = close + '</c>'.length;
    }
    position = skipWhitespace(xml, position, end);

    const address = CELL_ADDRESS.exec(attributes.r ?? '') ?? unsupported();
    const column = columnNumber(address[1]);
    if (address[2] !== rowSuffix || column <= lastColumn || column > 16_384) unsupported();
    lastColumn = column;

    const parsed = readCell(attributes, inner, strings, dateStyles);
    // ExcelJS keeps a styled empty cell (it counts towards the column count) and drops an unstyled one.
    if (parsed) cells[column - 1] = parsed;
  }
}

/** Characters that may follow a tag name. */
const TAG_NAME_END = new Set([' ', '\t', '\n', '\r', '>', '/']);

/** The attributes of a cell tag that matter here: address, style and type. */
interface CellAttributes {
  r?: string;
  s?: string;
  t?: string;
}

function readCellAttributes(xml: string, start: number, end: number): CellAttributes {
  const attributes: CellAttributes = {};
  forEachAttribute(xml, start, end, (name, value) => {
    if (name === 'r' || name === 's' || name === 't') attributes[name] = value;
  });
  return attributes;
}

function readCell(attributes: CellAttributes, content: string, strings: string[] | undefined, dateStyles: boolean[] | undefined): ParsedCell | undefined {
  const style = attributes.s === undefined ? 0 : Number.parseInt(attributes.s, 10);
  const type = attributes.t ?? 'n';

  let raw: string | undefined;
  if (type === 'inlineStr') {
    const inline = content.startsWith('<is>') && content.endsWith('</is>');
    if (!inline && content !== '') unsupported();
    raw = inline ? readInlineString(content.slice('<is>'.length, -'</is>'.length)) : undefined;
  } else if (content.startsWith('<v>') && content.endsWith('</v>')) {
    const text = content.slice('<v>'.length, -'</v>'.length);
    if (text.includes('<')) unsupported();
    raw = decodeText(text, false);
  } else if (content !== '' && content !== '<v/>') {
    unsupported();
  }
  if (raw === undefined || raw === '') return style ? STYLED_EMPTY : undefined;

  switch (type) {
    case 's': {
      const text = strings?.[Number(raw)];
      if (text === undefined || !/^\d+$/.test(raw)) unsupported();
      return { kind: 'value', cell: textCell(text) };
    }
    case 'inlineStr':
      return { kind: 'value', cell: textCell(raw) };
    case 'b':
      return { kind: 'value', cell: { kind: 'boolean', value: Number.parseInt(raw, 10) !== 0 } };
    case 'e':
      return { kind: 'value', cell: { kind: 'error', text: raw } };
    case 'n': {
      // A style that formats the number as a date makes ExcelJS return a Date; such files use ExcelJS.
      if (style && dateStyles?.[style]) unsupported();
      return { kind: 'value', cell: { kind: 'number', value: Number.parseFloat(raw) } };
    }
    default:
      return unsupported();
  }
}

/**
 * Text of an inline string; undefined when a plain `<t>` is empty, which ExcelJS reads as
 * no value. ExcelJS decodes `_x` escapes in runs but not in a plain inline `<t>`, and an
 * empty run still counts as a value there, so both cases use ExcelJS.
 */
function readInlineString(content: string): string | undefined {
  if (content.includes('<rPh') || content.includes('_x')) unsupported();
  if (content === '' || /^<t(?:\s[^>]*)?(?:\/>|><\/t>)$/.test(content)) return undefined;
  const text = readStringItem(content, false);
  if (text === '') unsupported();
  return text;
}

function textCell(text: string): RosterCell {
  return text.trim() === '' ? EMPTY : { kind: 'text', text };
}

/**
 * Apply merged ranges as ExcelJS does: every cell of a range but the top-left one takes
 * the top-left cell's value, and missing rows and cells are created. Overlapping ranges
 * make ExcelJS reject the file, so such files use ExcelJS.
 */
function applyMerges(xml: string, rows: Map<number, Array<ParsedCell | undefined>>): void {
  const section = /<mergeCells\b[^>]*>([\s\S]*?)<\/mergeCells>/.exec(xml);
  if (!section) return;

  const ranges: Array<{ top: number; left: number; bottom: number; right: number }> = [];
  for (const match of section[1].matchAll(/<mergeCell\b([^>]*?)\/?>/g)) {
    const ref = /^([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?$/.exec(parseAttributes(match[1]).get('ref') ?? '') ?? unsupported();
    const [first, second] = [
      { row: Number(ref[2]), column: columnNumber(ref[1]) },
      { row: Number(ref[4] ?? ref[2]), column: columnNumber(ref[3] ?? ref[1]) },
    ];
    const range = {
      top: Math.min(first.row, second.row),
      left: Math.min(first.column, second.column),
      bottom: Math.max(first.row, second.row),
      right: Math.max(first.column, second.column),
    };
    if (range.top < 1 || range.bottom > 1_048_576 || range.right > 16_384) unsupported();
    if (ranges.some((other) => other.top <= range.bottom && range.top <= other.bottom && other.left <= range.right && range.left <= other.right)) unsupported();
    ranges.push(range);
  }

  for (const range of ranges) {
    const masterRow = rowOf(rows, range.top);
    // A missing master is created empty, as ExcelJS's getCell does.
    masterRow[range.left - 1] ??= STYLED_EMPTY;
    const master = masterRow[range.left - 1];
    for (let row = range.top; row <= range.bottom; row++) {
      const cells = rowOf(rows, row);
      for (let column = range.left; column <= range.right; column++) {
        if (row > range.top || column > range.left) cells[column - 1] = { kind: 'merged', master };
      }
    }
  }
}

function rowOf(rows: Map<number, Array<ParsedCell | undefined>>, number: number): Array<ParsedCell | undefined> {
  let cells = rows.get(number);
  if (!cells) {
    cells = [];
    rows.set(number, cells);
  }
  return cells;
}

/**
 * Rows as `readRosterFile` takes them from ExcelJS: rows that hold a value or a merged
 * cell, in row order, each with as many cells as the longest such row has cell slots.
 */
function toRosterRows(rows: Map<number, Array<ParsedCell | undefined>>): RosterRow[] {
  const kept = [...rows.entries()]
    .filter(([, cells]) => cells.some((cell) => cell !== undefined && cell.kind !== 'styled-empty'))
    .sort(([a], [b]) => a - b);
  const columnCount = kept.reduce((max, [, cells]) => Math.max(max, cells.length), 0);

  return kept.map(([number, cells]) => {
    const rosterCells: RosterCell[] = new Array(columnCount);
    for (let column = 0; column < columnCount; column++) rosterCells[column] = valueOf(cells[column]);
    return { number, cells: rosterCells };
  });
}

function valueOf(cell: ParsedCell | undefined): RosterCell {
  if (cell === undefined || cell.kind === 'styled-empty') return EMPTY;
  if (cell.kind === 'merged') return valueOf(cell.master);
  return cell.cell;
}

function columnNumber(letters: string): number {
  let number = 0;
  for (let i = 0; i < letters.length; i++) number = number * 26 + (letters.charCodeAt(i) - 64);
  return number;
}

/**
 * Require an XML part whose root element is `root` without a namespace prefix, and
 * without CDATA, comments, DOCTYPE or processing instructions after the declaration.
 */
function checkPlainXml(xml: string, root: string): void {
  const declaration = /^<\?xml[^>]*\?>\s*/.exec(xml.slice(0, 200));
  const start = declaration ? declaration[0].length : 0;
  if (!xml.startsWith(`<${root}`, start) || !TAG_NAME_END.has(xml.charAt(start + root.length + 1))) unsupported();
  if (xml.includes('<!', start) || xml.includes('<?', start)) unsupported();
}

const SLASH = 0x2f;

function isXmlSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function skipWhitespace(text: string, position: number, end = text.length): number {
  let index = position;
  while (index < end && isXmlSpace(text.charCodeAt(index))) index++;
  return index;
}

/** Call `visit` with each attribute of the tag text between `start` and `end`, values decoded. */
function forEachAttribute(text: string, start: number, end: number, visit: (name: string, value: string) => void): void {
  let index = skipWhitespace(text, start, end);
  while (index < end) {
    const equals = text.indexOf('=', index);
    if (equals < 0 || equals >= end) unsupported();
    const name = text.slice(index, equals).trimEnd();
    if (name === '' || /[\s"'<>]/.test(name)) unsupported();

    const open = skipWhitespace(text, equals + 1, end);
    const quote = text.charAt(open);
    if (quote !== '"' && quote !== "'") unsupported();
    const close = text.indexOf(quote, open + 1);
    if (close < 0 || close >= end) unsupported();
    const raw = text.slice(open + 1, close);
    // An XML parser turns tabs and line breaks in attribute values into spaces.
    if (/[\t\n\r<]/.test(raw)) unsupported();
    visit(name, decodeText(raw, false));

    index = skipWhitespace(text, close + 1, end);
    if (index === close + 1 && index < end) unsupported();
  }
}

function parseAttributes(text: string, start = 0, end = text.length): Map<string, string> {
  const attributes = new Map<string, string>();
  forEachAttribute(text, start, end, (name, value) => attributes.set(name, value));
  return attributes;
}

const REFERENCE = /&([^;&]*);/g;
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decode XML character and entity references, and ExcelJS's `_xHHHH_` escapes when asked. */
function decodeText(raw: string, decodeEscapes: boolean): string {
  // An XML parser turns CR LF and a lone CR into LF; such rare text is left to ExcelJS.
  if (raw.includes('\r')) unsupported();
  let text = raw;
  if (raw.includes('&')) {
    text = raw.replace(REFERENCE, (_, name: string) => {
      if (name in NAMED_ENTITIES) return NAMED_ENTITIES[name];
      const code = name.startsWith('#x') ? Number.parseInt(name.slice(2), 16) : name.startsWith('#') ? Number.parseInt(name.slice(1), 10) : NaN;
      if (!/^#(x[0-9a-fA-F]+|\d+)$/.test(name) || !isXmlCharacter(code)) unsupported();
      return String.fromCodePoint(code);
    });
    if (raw.replace(REFERENCE, '').includes('&')) unsupported();
  }
  return decodeEscapes && text.includes('_x') ? text.replace(/_x([0-9A-F]{4})_/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : text;
}

function isXmlCharacter(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}
