const CHINESE_DIGITS: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** Read a Chinese numeral from 1 to 99 as class names write it: 一, 十, 十二, 二十一. */
function parseChineseNumeral(text: string): number | undefined {
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const match = /^([一二三四五六七八九]?)(十?)([一二三四五六七八九]?)$/.exec(text);
  if (!match || text === '') return undefined;
  const [, first, ten, last] = match;
  if (!ten) return first && !last ? CHINESE_DIGITS[first] : undefined;
  return (first ? CHINESE_DIGITS[first] : 1) * 10 + (last ? CHINESE_DIGITS[last] : 0);
}

/**
 * Parse a class name such as 二(3)班, 二（3）班, 2(3)班 or 十二(10)班 into grade and
 * number; undefined when the text is not a class name.
 */
export function parseClassName(text: string): { grade: number; number: number } | undefined {
  const match = /^\s*([一二三四五六七八九十\d]{1,3})\s*[(（]\s*(\d{1,2})\s*[)）]\s*班?\s*$/.exec(text);
  if (!match) return undefined;
  const grade = parseChineseNumeral(match[1]);
  const number = Number(match[2]);
  if (grade === undefined || grade < 1 || number < 1) return undefined;
  return { grade, number };
}
