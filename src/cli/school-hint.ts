import type { AppContext } from '../context.js';
import { listSchools } from '../modules/people/service.js';

/** Maximum number of codes listed when none is close to the typed one. */
const MAX_LISTED_CODES = 5;

/** Levenshtein distance between two strings, counting single-character inserts, deletes and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Return the codes close enough to `typed` to be a typo of it, closest first. Close means at
 * most 2 edits, or a third of the longer code's length for long codes, compared without case.
 */
export function closestCodes(typed: string, codes: string[]): string[] {
  const typedLower = typed.toLowerCase();
  return codes
    .map((code) => ({ code, distance: editDistance(typedLower, code.toLowerCase()) }))
    .filter(({ code, distance }) => distance <= Math.max(2, Math.floor(Math.max(code.length, typed.length) / 3)))
    .sort((a, b) => a.distance - b.distance || a.code.localeCompare(b.code))
    .map(({ code }) => code);
}

/**
 * Build the command line's message for a school code that matches no school: the closest
 * existing codes as a "是不是" question, else a few existing codes, then how to create one.
 * The HTTP API keeps its shorter message, because listing codes there would show a school
 * admin the codes of other schools.
 */
export async function describeUnknownSchool(ctx: AppContext, typed: string): Promise<string> {
  const schools = (await listSchools(ctx)).sort((a, b) => a.code.localeCompare(b.code));
  const codes = schools.map((school) => school.code);
  const create = '如需新建学校，请用 npx fangkong school add --code 代码 --name 名称 创建';
  if (codes.length === 0) return `未找到学校代码 ${typed}：还没有任何学校。${create}`;

  const close = closestCodes(typed, codes);
  if (close.length > 0) return `未找到学校代码 ${typed}，是不是 ${close.slice(0, 3).join('、')}？${create}`;

  const listed = schools
    .slice(0, MAX_LISTED_CODES)
    .map((school) => `${school.code}（${school.name}）`)
    .join('、');
  const more = codes.length > MAX_LISTED_CODES ? `等 ${codes.length} 所` : '';
  return `未找到学校代码 ${typed}。现有学校代码：${listed}${more}。${create}`;
}
