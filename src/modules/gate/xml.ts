/**
 * A small XML reader for ISAPI event documents: elements become object keys, text-only
 * elements become strings, repeated elements become arrays, attributes (xmlns, version)
 * are dropped. It reads well-formed documents of plain elements only, which is what
 * terminals send. It skips the XML declaration and comments and has no DTD, CDATA or
 * processing-instruction support.
 */
export function parseXml(text: string): Record<string, unknown> {
  const source = text.replace(/<\?xml[^>]*\?>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  const state = { source, at: 0 };
  skipSpace(state);
  const root = readElement(state);
  if (!root) throw new Error('invalid XML: no root element');
  return { [root.name]: root.value };
}

interface State {
  source: string;
  at: number;
}

function skipSpace(state: State): void {
  while (state.at < state.source.length && /\s/.test(state.source[state.at])) state.at++;
}

function readElement(state: State): { name: string; value: unknown } | undefined {
  const open = /^<([A-Za-z_][\w.:-]*)([^>]*?)(\/?)>/.exec(state.source.slice(state.at, state.at + 2000));
  if (!open) return undefined;
  const name = open[1].replace(/^.*:/, '');
  state.at += open[0].length;
  if (open[3] === '/') return { name, value: '' };

  const children: Record<string, unknown> = {};
  let text = '';
  let hasChildren = false;
  for (;;) {
    if (state.at >= state.source.length) throw new Error(`invalid XML: <${name}> is not closed`);
    if (state.source.startsWith('</', state.at)) {
      const close = state.source.indexOf('>', state.at);
      if (close === -1) throw new Error(`invalid XML: </${name} is cut off`);
      state.at = close + 1;
      break;
    }
    if (state.source[state.at] === '<') {
      const child = readElement(state);
      if (!child) throw new Error(`invalid XML inside <${name}>`);
      hasChildren = true;
      const existing = children[child.name];
      if (existing === undefined) children[child.name] = child.value;
      else if (Array.isArray(existing)) existing.push(child.value);
      else children[child.name] = [existing, child.value];
      continue;
    }
    const next = state.source.indexOf('<', state.at);
    const end = next === -1 ? state.source.length : next;
    text += state.source.slice(state.at, end);
    state.at = end;
  }
  return { name, value: hasChildren ? children : decodeEntities(text.trim()) };
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&amp;/g, '&');
}
