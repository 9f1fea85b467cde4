import type { CliLogProblem } from './cli-log.js';

/**
 * Chinese names of the warnings and errors that command-line runs can log, keyed by the
 * log message. A message missing here is summed under 其他警告 or 其他错误, so a renamed
 * message still shows up in the summary.
 */
const PROBLEM_LABELS: Record<string, string> = {
  'dingtalk returned an error': '钉钉接口返回错误',
  'dingtalk returned an unusable reply': '钉钉接口返回无法识别的内容',
  'dingtalk request failed': '钉钉接口请求失败（连接失败或超时）',
  'dingtalk rejected the access token; fetching a new one': '钉钉拒绝访问令牌后重新获取',
  'dingtalk user lookup failed': '按手机号查询钉钉用户失败',
  'bureau request failed; retrying': '大数据局接口请求失败后重试',
  'bureau rejected the request': '大数据局拒绝请求',
  'bureau batch failed': '大数据局批量查询失败',
  'health-code sync broke': '健康码同步中断',
  'could not record the failed sync': '无法记录失败的同步',
  'sync heartbeat failed': '同步心跳更新失败',
  'notices are dead': '通知多次发送失败后停止重试',
  'sending notices failed unexpectedly': '发送通知时出现意外错误',
  'notice dispatch pass failed': '一轮通知发送失败',
  'reading a send result failed': '读取钉钉发送结果失败',
  'face models unavailable': '人脸识别模型不可用',
  'face descriptor unreadable; left out of the gallery': '人脸特征值无法读取',
  'old command-line log file not deleted': '无法删除过期的命令行日志文件',
};

/**
 * Format the Chinese summary of the warnings and errors a run logged, with the log file to
 * read; undefined when there were none.
 *
 *   本次运行记录了 115 条警告，详情见日志文件 data/logs/cli-2026-12-05.log：
 *     钉钉接口返回错误 115 条
 */
export function formatLogSummary(problems: CliLogProblem[], file: string): string | undefined {
  const errors = sumCounts(problems.filter((p) => p.level === 'error'));
  const warnings = sumCounts(problems.filter((p) => p.level === 'warn'));
  if (errors === 0 && warnings === 0) return undefined;

  const byLabel = new Map<string, number>();
  for (const problem of problems) {
    const label = PROBLEM_LABELS[problem.message] ?? (problem.level === 'error' ? '其他错误' : '其他警告');
    byLabel.set(label, (byLabel.get(label) ?? 0) + problem.count);
  }
  const totals = [errors > 0 ? `${errors} 条错误` : '', warnings > 0 ? `${warnings} 条警告` : ''].filter(Boolean).join('、');
  const lines = [`本次运行记录了 ${totals}，详情见日志文件 ${file}：`];
  for (const [label, count] of [...byLabel].sort((a, b) => b[1] - a[1])) lines.push(`  ${label} ${count} 条`);
  return lines.join('\n') + '\n';
}

function sumCounts(problems: CliLogProblem[]): number {
  return problems.reduce((sum, problem) => sum + problem.count, 0);
}
