/**
 * Synthetic people for the demo, tests and benchmarks: generated names, fake ID numbers
 * with a valid GB 11643 check digit, and phone numbers in the unassigned 100 prefix
 * (no Chinese mobile number starts with 100), so no real person is ever touched.
 */

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '子涵欣怡梓轩浩宇诗琪思远一诺雨桐俊杰佳怡宇航嘉豪若曦明轩可馨晨阳语嫣天佑梦瑶博文静怡泽宇雅琳皓然芷若志强婉清睿哲安琪奕辰紫萱';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/** The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits. */
export function idCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARS[sum % 11];
}

/** A deterministic Chinese name for a seed; different seeds give mostly different names. */
export function makeName(seed: number): string {
  const surname = SURNAMES[seed % SURNAMES.length];
  const first = GIVEN[Math.floor(seed / SURNAMES.length) % GIVEN.length];
  const second = GIVEN[(seed * 7 + 3) % GIVEN.length];
  return seed % 3 === 0 ? surname + first : surname + first + second;
}

/**
 * A fake 18-character ID number with a valid check digit, for a birth date
 * ('YYYY-MM-DD'). The region is 330106 and the sequence comes from the seed.
 */
export function makeIdNumber(seed: number, birthDate: string, region = '330106'): string {
  const sequence = String(Math.abs(seed) % 1000).padStart(3, '0');
  const first17 = region + birthDate.replaceAll('-', '') + sequence;
  return first17 + idCheckCharacter(first17);
}

/** An 11-digit phone number in the unassigned 100 prefix. */
export function makePhone(seed: number): string {
  return '100' + String(Math.abs(seed) % 100000000).padStart(8, '0');
}
