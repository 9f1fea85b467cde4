import type { CodeColor, VenueCheckinMethod, VenueKind } from '../../db/schema.js';

/**
 * What the check-in result page shows: the verdict for a code colour, the masked name,
 * and the colour of the day's moving frame. Pure functions, table-tested.
 */

export type Verdict = 'pass' | 'restricted' | 'stop' | 'unverified';

export interface VerdictView {
  verdict: Verdict;
  /** One character that reads without colour vision: ✓ pass, ! restricted, ✕ stop, ? unverified. */
  symbol: string;
  /** Short Chinese label shown in large print. */
  label: string;
  /** What the person or staff should do. */
  advice: string;
  /** CSS colour of the result panel. */
  color: string;
}

const VERDICTS: Record<CodeColor, VerdictView> = {
  green: { verdict: 'pass', symbol: '✓', label: '绿码 可通行', advice: '健康码已核验，请通行。', color: '#1a9c4a' },
  yellow: { verdict: 'restricted', symbol: '!', label: '黄码 限制通行', advice: '请勿进入，按当地要求进行核酸检测，并联系社区。', color: '#d69e00' },
  red: { verdict: 'stop', symbol: '✕', label: '红码 禁止通行', advice: '请勿进入，原地等候工作人员处置，并联系社区。', color: '#cf1322' },
  unknown: { verdict: 'unverified', symbol: '?', label: '无法核验', advice: '无法核验，请向工作人员出示健康码', color: '#595959' },
};

/** The verdict, symbol and words for a code colour. */
export function verdictOf(color: CodeColor): VerdictView {
  return VERDICTS[color];
}

/** Source of the colour that a check-in result shows. */
export type VerdictSource = 'bureau' | 'staff';

export interface CheckinVerdictView extends VerdictView {
  /** 'staff' when the result shows the colour the staff saw (人工核验), 'bureau' otherwise. */
  source: VerdictSource;
}

/** The fields of a stored check-in that decide what its result shows. */
export type CheckinCodeFields = { code_color: CodeColor; code_seen: number | null; seen_color: CodeColor | null };

/** Green before yellow before red: a higher rank stops more. */
const COLOR_RANK: Record<CodeColor, number> = { unknown: -1, green: 0, yellow: 1, red: 2 };

/**
 * Decide what the result of a stored check-in shows. A manual registration on which the
 * staff saw the code and chose its colour shows that colour, marked 人工核验, when the
 * bureau lookup returned no colour or a less strict one. A stricter looked-up colour (red
 * looked up, green seen) still decides, and the advice names what the staff saw. The
 * stored `code_color` stays what the lookup returned.
 */
export function verdictOfCheckin(checkin: CheckinCodeFields): CheckinVerdictView {
  const lookedUp = checkin.code_color;
  const seenColor = checkin.code_seen === 1 ? checkin.seen_color : null;

  if (seenColor === null || seenColor === 'unknown') {
    if (checkin.code_seen === 1 && lookedUp === 'unknown') return { ...VERDICTS.unknown, advice: '工作人员已查看健康码，但未记录颜色。', source: 'bureau' };
    return { ...VERDICTS[lookedUp], source: 'bureau' };
  }

  if (COLOR_RANK[seenColor] > COLOR_RANK[lookedUp]) {
    const view = VERDICTS[seenColor];
    return { ...view, label: `${view.label}（人工核验）`, advice: `工作人员查看健康码为${COLOR_LABELS[seenColor]}。${view.advice}`, source: 'staff' };
  }
  const view = VERDICTS[lookedUp];
  if (seenColor === lookedUp) return { ...view, source: 'bureau' };
  return { ...view, advice: `${view.advice}（工作人员查看为${COLOR_LABELS[seenColor]}，以健康码查询结果${COLOR_LABELS[lookedUp]}为准）`, source: 'bureau' };
}

/**
 * Mask a name for the result page, keeping the first and (for three or more characters)
 * the last: 张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜, A → *.
 */
export function maskName(name: string): string {
  const characters = [...name.trim()];
  if (characters.length <= 1) return '*';
  if (characters.length === 2) return `${characters[0]}*`;
  return characters[0] + '*'.repeat(characters.length - 2) + characters[characters.length - 1];
}

export interface FrameColor {
  /** CSS colour. */
  css: string;
  /** Chinese name, told to drivers and staff on their page. */
  name: string;
}

/** Seven colours far apart on the wheel, each with a name a driver can say. */
export const FRAME_COLORS: readonly FrameColor[] = [
  { css: '#e8590c', name: '橙色' },
  { css: '#1971c2', name: '蓝色' },
  { css: '#9c36b5', name: '紫色' },
  { css: '#2b8a3e', name: '深绿色' },
  { css: '#c2255c', name: '玫红色' },
  { css: '#0c8599', name: '青色' },
  { css: '#5c3d2e', name: '棕色' },
];

/** First day of the frame colour sequence. */
export const FRAME_EPOCH_DAY = '2026-01-01';
const DAY_MS = 86_400_000;

/**
 * The frame colour of a day ('YYYY-MM-DD'). Each day steps 1 to 6 places round the
 * palette from the day before, by a keyed hash of the day, so two days in a row never
 * share a colour and tomorrow's colour cannot be worked out without the server key.
 * `dayHash` maps a day to an unpredictable non-negative integer.
 */
export function frameColorIndex(day: string, dayHash: (day: string) => number, cache?: Map<string, number>): number {
  const target = Date.parse(`${day}T00:00:00Z`);
  const epoch = Date.parse(`${FRAME_EPOCH_DAY}T00:00:00Z`);
  if (Number.isNaN(target)) throw new Error(`invalid day "${day}"; expected YYYY-MM-DD`);
  if (target <= epoch) return 0;

  const cached = cache?.get(day);
  if (cached !== undefined) return cached;

  // Walk from the nearest cached earlier day (or the epoch); a server computes each day once.
  let index = 0;
  let at = epoch;
  if (cache) {
    const previous = new Date(target - DAY_MS).toISOString().slice(0, 10);
    const known = cache.get(previous);
    if (known !== undefined) {
      index = known;
      at = target - DAY_MS;
    }
  }
  while (at < target) {
    at += DAY_MS;
    const current = new Date(at).toISOString().slice(0, 10);
    index = (index + 1 + (dayHash(current) % (FRAME_COLORS.length - 1))) % FRAME_COLORS.length;
  }
  cache?.set(day, index);
  return index;
}

export const METHOD_LABELS: Record<VenueCheckinMethod, string> = {
  scan: '扫码',
  card_reader: '刷卡',
  card_typed: '工作人员录入卡号',
  manual: '工作人员代登记',
};

export const KIND_LABELS: Record<VenueKind, string> = {
  bus: '公交车',
  shop: '商铺',
  school_gate: '校门',
  hall: '场馆',
  other: '其他场所',
};

export const COLOR_LABELS: Record<CodeColor, string> = {
  green: '绿码',
  yellow: '黄码',
  red: '红码',
  unknown: '未核验',
};
