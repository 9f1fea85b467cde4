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

/** Most class names listed for one grade before a message gives only the count. */
const MAX_CLASSES_IN_WARNING = 12;

/** Describe class numbers of a grade: 二(1)班至二(12)班 for a run of three or more without gaps, else the names listed. */
export function describeClassNumbers(grade: number, numbers: number[]): string {
  const first = numbers[0];
  const last = numbers[numbers.length - 1];
  if (numbers.length === 1) return className(grade, first);
  if (numbers.length >= 3 && last - first + 1 === numbers.length) return `${className(grade, first)}至${className(grade, last)}`;
  const listed = numbers.slice(0, MAX_CLASSES_IN_WARNING).map((n) => className(grade, n)).join('、');
  return numbers.length > MAX_CLASSES_IN_WARNING ? `${listed} 等 ${numbers.length} 个班` : listed;
}

/**
 * Describe every class of a school, grade by grade, such as 一(1)班至一(12)班、二(3)班、二(5)班;
 * 本校还没有任何班级 when there is none.
 */
export function describeSchoolClasses(classes: ReadonlyArray<{ grade: number; number: number }>): string {
  if (classes.length === 0) return '本校还没有任何班级';
  const byGrade = new Map<number, number[]>();
  for (const klass of classes) byGrade.set(klass.grade, [...(byGrade.get(klass.grade) ?? []), klass.number]);
  const grades = [...byGrade.keys()].sort((a, b) => a - b);
  return grades.map((grade) => describeClassNumbers(grade, [...new Set(byGrade.get(grade))].sort((a, b) => a - b))).join('、');
}
