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
