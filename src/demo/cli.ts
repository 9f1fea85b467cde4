import type { Logger } from 'pino';
import { demoDataDir, loadConfig } from '../config.js';
import { openRuntime } from '../runtime.js';
import { printJson, wantsJson, type Command } from '../cli/command.js';
import { createDingTalkClient } from '../modules/notify/dingtalk-client.js';
import { startDispatcherLoop } from '../modules/notify/dispatcher.js';
import { closeBureauClient } from '../modules/healthcode/service.js';
import { readDemoEndpoints, startDemoEnvironment } from './environment.js';
import { replayMorning, type MorningReport } from './morning.js';
import { seedDemo } from './seed.js';
import { GATE_REASON_LABELS } from '../modules/gate/reason-labels.js';

const COLOR_NAMES: Record<string, string> = { green: '绿码', yellow: '黄码', red: '红码', unknown: '未知' };

async function runningServerUrl(): Promise<string | undefined> {
  const endpoints = readDemoEndpoints(loadConfig());
  if (!endpoints?.serverUrl) return undefined;
  try {
    const reply = await fetch(`${endpoints.serverUrl}/api/health`, { signal: AbortSignal.timeout(2000) });
    return reply.ok ? endpoints.serverUrl : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Replay in the running demo server when there is one (so its console shows the result),
 * otherwise in this process with its own simulators and dispatcher.
 */
async function replay(log: Logger): Promise<{ report: MorningReport; where: string }> {
  const base = loadConfig();
  if (!base.demo) throw new Error('`demo morning` runs only in demo mode, when FANGKONG_BUREAU_URL is not set');

  const serverUrl = await runningServerUrl();
  if (serverUrl) {
    const reply = await fetch(`${serverUrl}/api/demo/morning`, { method: 'POST', signal: AbortSignal.timeout(120_000) });
    if (!reply.ok) throw new Error(`the demo server at ${serverUrl} answered ${reply.status}: ${await reply.text()}`);
    return { report: (await reply.json()) as MorningReport, where: serverUrl };
  }

  // The simulators of this process stop when it ends, so their addresses must not replace
  // the ones a demo server wrote to simulators.json.
  const demo = await startDemoEnvironment(base, { recordEndpoints: false });
  const runtime = await openRuntime({ config: demo.config, log });
  try {
    await seedDemo(runtime.ctx);
    const client = createDingTalkClient(runtime.ctx.config.dingtalk, runtime.ctx.log);
    const stopDispatcher = startDispatcherLoop(runtime.ctx, client, { confirmDelayMs: 200 });
    try {
      const report = await replayMorning(runtime.ctx, demo);
      return { report, where: '本进程' };
    } finally {
      await stopDispatcher();
      await closeBureauClient(runtime.ctx);
    }
  } finally {
    await runtime.close();
    await demo.close();
  }
}

function printReport(report: MorningReport, where: string): void {
  const lines = [`学校早晨重放（${report.day}，运行于 ${where}）`];
  for (const step of report.steps) {
    const counts = Object.entries(step.run.counts)
      .filter(([key]) => key !== 'stale')
      .map(([color, n]) => `${COLOR_NAMES[color] ?? color} ${n}`)
      .join('，');
    lines.push(`  ${step.at}  ${step.label}：${step.run.total} 人，跳码 ${step.run.changes} 人（${counts}）`);
  }
  lines.push('  跳码学生：');
  for (const pupil of report.changed) lines.push(`    ${pupil.className} ${pupil.name}：${pupil.colors}`);
  const n = report.notices;
  lines.push(`  通知：共 ${n.queued} 条，已送达 ${n.sent}，被钉钉过滤 ${n.filtered}，等待中 ${n.waiting}，失败 ${n.failed}`);
  lines.push(`  模拟钉钉收到工作通知 ${report.dingtalkDeliveries} 条；需电话联系的家长提醒 ${report.phoneRequests} 条`);
  lines.push(...gateLines(report));
  const samples = report.sampleNotices;
  if (samples.headTeacher) lines.push('  二(3)班班主任收到的通知示例：', ...indent(samples.headTeacher));
  if (samples.management) lines.push('  学校管理层收到的通知示例：', ...indent(samples.management));
  process.stdout.write(lines.join('\n') + '\n');
}

function indent(text: string): string[] {
  return text.split('\n').map((line) => `    ${line}`);
}

/**
 * Format the gate part of the report. For a day replayed before, the lines state that the
 * gate kept its events once and that the figures are the ones recorded then.
 */
function gateLines(report: MorningReport): string[] {
  const g = report.gate;
  const reasons = Object.entries(g.reasons).map(([reason, n]) => `${GATE_REASON_LABELS[reason as keyof typeof GATE_REASON_LABELS] ?? reason} ${n}`).join('，');
  const lines: string[] = [];
  if (g.duplicates > 0 && g.duplicates === g.attempts) {
    lines.push(`  07:00-08:15 校门通行：${report.day} 已重放过，${g.attempts} 条通行事件已在校门记录中，按事件编号去重，未重复写入`);
    lines.push(`    此前记录的结果：放行 ${g.passed}，拒绝 ${g.denied}（${reasons || '无'}）`);
  } else {
    lines.push(`  07:00-08:15 校门通行：${g.attempts} 人次，放行 ${g.passed}，拒绝 ${g.denied}（${reasons || '无'}）`);
    if (g.duplicates > 0) lines.push(`    其中 ${g.duplicates} 条事件此前已重放过，按事件编号去重，未重复写入`);
  }
  lines.push(`    发热 ${g.fevers} 人，未识别人脸 ${g.unknownFaces} 人，迟到 ${g.late} 人，不在本年级入校时段 ${g.flaggedOutsideWindow} 人次`);
  for (const recheck of g.rechecks) {
    const earlier = recheck.alreadyRecorded ? '（此前已记录，未重复登记）' : '';
    lines.push(`    ${recheck.at} 临时观察点复测 ${recheck.temperature.toFixed(1)} °C：${recheck.result}${earlier}`);
  }
  return lines;
}

export const demoCommands: Command[] = [
  {
    name: ['demo', 'morning'],
    usage: 'demo morning [--json]',
    summary: '在演示学校重放前一晚 21:00、当天 04:30 和 06:30 的同步、相应通知和早晨校门通行；已重放过的日期不会重复记录通行事件',
    needsRuntime: false,
    logDataDir: demoDataDir,
    run: async (args, _runtime, log) => {
      const { report, where } = await replay(log);
      if (wantsJson(args)) printJson(report);
      else printReport(report, where);
    },
  },
];
