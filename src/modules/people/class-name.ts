const CHINESE_DIGITS = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/** Chinese numeral for 1-99 as written in class names: 1 一, 10 十, 12 十二, 21 二十一. */
export function chineseNumeral(value: number): string {
  if (value < 10) return CHINESE_DIGITS[value];
  const tens = Math.floor(value / 10);
  const ones = value % 10;
  return `${tens === 1 ? '' : CHINESE_DIGITS[tens]}十${ones === 0 ? '' : CHINESE_DIGITS[ones]}`;
}

/** The usual display name of a class: grade 2, class 3 is 二(3)班. */
export function className(grade: number, number: number): string {
  return `${chineseNumeral(grade)}(${number})班`;
}

/**
 * Maximum entries a message lists, where a run such as 二(1)班至二(12)班 is one entry. A
 * longer list is replaced by the number of classes and `classListHint`.
 */
export const MAX_CLASS_ENTRIES_LISTED = 60;

/** Split ascending class numbers of a grade into entries: a run of three or more without gaps is one range, others are named alone. */
function classNumberEntries(grade: number, numbers: number[]): string[] {
  const entries: string[] = [];
  let start = 0;
  while (start < numbers.length) {
    let end = start;
    while (end + 1 < numbers.length && numbers[end + 1] === numbers[end] + 1) end += 1;
    if (end - start >= 2) {
      entries.push(`${className(grade, numbers[start])}至${className(grade, numbers[end])}`);
    } else {
      for (let i = start; i <= end; i++) entries.push(className(grade, numbers[i]));
    }
    start = end + 1;
  }
  return entries;
}

/** Return where a user sees every class of a school, for a message whose list would be too long. */
export function classListHint(schoolCode: string): string {
  return `全部班级可在控制台“晨午检”页的班级下拉框中查看，或运行 npx fangkong classes --school ${schoolCode} 列出`;
}

/**
 * Describe the ascending class numbers of a grade, every class listed: 二(1)班至二(7)班、二(9)班、二(10)班.
 * Returns undefined beyond MAX_CLASS_ENTRIES_LISTED entries, so the caller gives the number
 * of classes and `classListHint` instead.
 */
export function describeClassNumbers(grade: number, numbers: number[]): string | undefined {
  const entries = classNumberEntries(grade, numbers);
  return entries.length <= MAX_CLASS_ENTRIES_LISTED ? entries.join('、') : undefined;
}

/**
 * Describe every class of a school, grade by grade, such as 一(1)班至一(12)班、二(3)班、二(5)班;
 * 本校还没有任何班级 when there is none. Beyond MAX_CLASS_ENTRIES_LISTED entries it gives
 * the number of classes and `classListHint`.
 */
export function describeSchoolClasses(classes: ReadonlyArray<{ grade: number; number: number }>, schoolCode: string): string {
  if (classes.length === 0) return '本校还没有任何班级';
  const byGrade = new Map<number, number[]>();
  for (const klass of classes) byGrade.set(klass.grade, [...(byGrade.get(klass.grade) ?? []), klass.number]);
  const grades = [...byGrade.keys()].sort((a, b) => a - b);
  const entries = grades.flatMap((grade) => classNumberEntries(grade, [...new Set(byGrade.get(grade))].sort((a, b) => a - b)));
  if (entries.length <= MAX_CLASS_ENTRIES_LISTED) return entries.join('、');
  return `共 ${classes.length} 个班，${classListHint(schoolCode)}`;
}
