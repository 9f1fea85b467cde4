import type { CodeColor } from '../../db/schema.js';
import { formatLocalDateTime } from '../../shared/time.js';
import type { ChangeForNotice, GuardianContact, PupilState, Recipient, StayHomeWindow, SyncOutcomeStatus } from './code-change.js';
import { MAX_LINES_PER_NOTICE } from './code-change.js';

/**
 * The Chinese texts of health-code notices, as DingTalk markdown. Every title and body
 * carries the time it was written (2026-12-07 04:31), because DingTalk drops a work
 * notice whose content repeats one already sent that day, and a real second alert must
 * not look like a repeat.
 */

export interface NoticeText {
  title: string;
  body: string;
}

const COLOR_NAMES: Record<CodeColor, string> = { green: '绿码', yellow: '黄码', red: '红码', unknown: '无记录' };

export function colorName(color: CodeColor | null): string {
  return color ? COLOR_NAMES[color] : '未同步';
}

function who(person: { name: string; className: string | null; kind: 'student' | 'staff' }): string {
  if (person.className) return `${person.className} ${person.name}`;
  return person.kind === 'staff' ? `教职工 ${person.name}` : person.name;
}

function dayPhrase(window: StayHomeWindow): string {
  const [, month, day] = window.targetDay.split('-').map(Number);
  return `${window.when === 'today' ? '今天' : '明天'}（${month}月${day}日）`;
}

function changeLine(change: ChangeForNotice): string {
  const reason = change.reason ? `，${change.reason}` : '';
  return `- ${who(change)}：${colorName(change.from)} → **${colorName(change.to)}**（${formatLocalDateTime(change.bureauUpdatedAt ?? change.changedAt)}${reason}）`;
}

function adviceFor(to: CodeColor, role: 'head_teacher' | 'management'): string {
  if (to === 'green') return '已恢复绿码，可正常入校。';
  if (to === 'unknown') return role === 'head_teacher' ? '健康码查询无结果，入校前请联系本人或家长在健康码平台核实。' : '健康码查询无结果，请班主任跟进核实。';
  return role === 'head_teacher' ? '请勿让其入校；请联系本人或家长了解情况，并按要求安排核酸检测。' : '请督促班主任跟进，必要时按防控预案处置。';
}

/** Write the notice of one change, for its head teacher or a manager. */
export function singleChangeNotice(change: ChangeForNotice, role: 'head_teacher' | 'management', now: number): NoticeText {
  const time = formatLocalDateTime(now);
  return {
    title: `健康码变化：${change.name} ${colorName(change.from)}→${colorName(change.to)}（${time}）`,
    body: [`### 健康码变化提醒（${time}）`, '', changeLine(change), '', adviceFor(change.to, role)].join('\n'),
  };
}

/** Write one digest of several changes: a head teacher's pupils, or the school's summary. */
export function changeDigest(changes: ChangeForNotice[], role: 'head_teacher' | 'management', schoolName: string, now: number): NoticeText {
  const time = formatLocalDateTime(now);
  const nonGreen = changes.filter((c) => c.to !== 'green').length;
  const backToGreen = changes.length - nonGreen;
  const scope = role === 'management' ? `${schoolName}本次同步` : '您班上';
  const listedLines = changes.slice(0, MAX_LINES_PER_NOTICE).map(changeLine);
  const hidden = changes.length - listedLines.length;

  const lines = [
    `### 健康码变化汇总（${time}）`,
    '',
    `${scope}共 ${changes.length} 人健康码变化：转为非绿码 ${nonGreen} 人，恢复绿码 ${backToGreen} 人。`,
    '',
    ...listedLines,
  ];
  if (hidden > 0) lines.push(`- 另有 ${hidden} 人，请在平台“健康码”页查看全部。`);
  lines.push('', nonGreen > 0 ? adviceFor('red', role) : adviceFor('green', role));
  return { title: `健康码变化汇总：${changes.length} 人（${time}）`, body: lines.join('\n') };
}

/** Write the "do not come to school" notice to a guardian, with the next steps. */
export function stayHomeNotice(pupil: PupilState, window: StayHomeWindow, now: number): NoticeText {
  const time = formatLocalDateTime(now);
  const day = dayPhrase(window);
  const teacher = pupil.headTeacher ? `班主任${pupil.headTeacher.name}` : '班主任';
  const reason = pupil.reason ? `（${pupil.reason}）` : '';
  const steps =
    pupil.color === 'unknown'
      ? [
          `1. 请联系${teacher}说明情况；`,
          '2. 请在健康码平台核实孩子的健康码，并确认已授权学校查询；',
          '3. 健康码正常后，学校会通知您孩子可以到校。',
        ]
      : [
          `1. 请联系${teacher}说明情况；`,
          '2. 请按当地要求带孩子进行核酸检测，留意健康码变化；',
          '3. 健康码恢复为绿码后，学校会通知您孩子可以到校。',
        ];
  return {
    title: `${pupil.name}${day}请勿到校（${time}）`,
    body: [
      `### 健康码提醒（${time}）`,
      '',
      `您的孩子${pupil.name}（${pupil.className ?? '本校'}）的健康码为**${colorName(pupil.color)}**${reason}。`,
      '',
      `**${day}请勿到校。**`,
      '',
      '接下来请：',
      ...steps,
    ].join('\n'),
  };
}

/** Write the "may come to school again" notice to a guardian, after a return to green. */
export function mayReturnNotice(pupil: PupilState, window: StayHomeWindow, now: number): NoticeText {
  const time = formatLocalDateTime(now);
  const day = dayPhrase(window);
  return {
    title: `${pupil.name}健康码已恢复绿码，${day}可以到校（${time}）`,
    body: [
      `### 健康码提醒（${time}）`,
      '',
      `您的孩子${pupil.name}（${pupil.className ?? '本校'}）的健康码已恢复为**绿码**。`,
      '',
      `**${day}可以按时到校**，入校时请配合测温验码。`,
    ].join('\n'),
  };
}

/** Write the in-app request to the head teacher to phone a guardian who has no DingTalk. */
export function phoneGuardianRequest(
  pupil: PupilState,
  guardian: GuardianContact,
  kind: 'stay_home' | 'may_return',
  window: StayHomeWindow,
  now: number,
): NoticeText {
  const time = formatLocalDateTime(now);
  const day = dayPhrase(window);
  const contact = [guardian.relation, guardian.phoneMasked ? `电话 ${guardian.phoneMasked}` : null].filter(Boolean).join('，');
  const instruction =
    kind === 'stay_home'
      ? `${pupil.name}的健康码为${colorName(pupil.color)}，${day}请勿到校，请联系班主任并按要求进行核酸检测`
      : `${pupil.name}的健康码已恢复绿码，${day}可以到校`;
  return {
    title: `请电话联系${pupil.name}的家长（${time}）`,
    body: `${pupil.className ?? ''}${pupil.name}的家长${guardian.name}${contact ? `（${contact}）` : ''}未绑定钉钉，收不到通知。请电话告知：${instruction}。（${time}）`,
  };
}

/** Write the in-app request to the school admin to phone a teacher or manager without DingTalk. */
export function phoneStaffRequest(recipient: Recipient, role: 'head_teacher' | 'management', changes: number, now: number): NoticeText {
  const time = formatLocalDateTime(now);
  const title = role === 'head_teacher' ? '班主任' : '学校管理人员';
  return {
    title: `请电话联系${title}${recipient.name}（${time}）`,
    body: `${title}${recipient.name}未绑定钉钉，收不到 ${changes} 人的健康码变化通知（已放入其站内消息）。请电话告知并提醒其查看平台。（${time}）`,
  };
}

/** Write the notice of a failed or partial sync, for the school admin and management. */
export function syncFailedNotice(input: {
  schoolName: string;
  status: SyncOutcomeStatus;
  failedPersons: number;
  total: number;
  failure: string | null;
  staleAfterMinutes: number;
  now: number;
}): NoticeText {
  const time = formatLocalDateTime(input.now);
  const headline = input.status === 'failed' ? '健康码同步失败' : '健康码同步部分失败';
  const hours = input.staleAfterMinutes % 60 === 0 ? `${input.staleAfterMinutes / 60} 小时` : `${input.staleAfterMinutes} 分钟`;
  return {
    title: `${input.schoolName}${headline}（${time}）`,
    body: [
      `### ${input.schoolName}${headline}（${time}）`,
      '',
      `共 ${input.total} 人，其中 ${input.failedPersons} 人未能获取最新健康码${input.failure ? `，原因：${input.failure}` : ''}。`,
      '',
      `这些人员保留上次的健康码颜色，不会因此变为绿码；超过 ${hours} 未更新的健康码将显示为“已过期”，入校验码不予通过。`,
      '系统会按计划自动重试，也可在平台上点击“立即同步”。',
    ].join('\n'),
  };
}
