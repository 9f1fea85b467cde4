import { UsageError, optionalOption, printJson, requireOption, wantsJson, type CliArgs, type Command } from '../../cli/command.js';
import { DEFAULT_SIMULATOR_OPTIONS, runTerminalSimulator } from '../../../tools/simulators/terminal.js';
import { formatLocalDateTime } from '../../shared/time.js';
import { assignCard } from './cards.js';
import { createDevice, listDevices } from './devices.js';
import { GATE_REASON_LABELS } from './reason-labels.js';

const KIND_LABELS: Record<string, string> = { hikvision: '海康测温终端', api: '通道设备（平台接口）', kiosk: '平板闸机' };

/** Decision reasons of the device API; 'unknown' is a reply without a reason. */
const REASON_LABELS: Record<string, string> = { ...GATE_REASON_LABELS, unknown: '未返回原因' };

/**
 * Reject the identity option the chosen mode cannot send. The simulated Hikvision terminal
 * names people by employee number only, and the device API (POST /api/devices/events)
 * takes a card number, face descriptor, ID number or person id, but no student or staff number.
 */
function checkIdentityOptions(args: CliArgs, mode: 'hikvision' | 'api'): void {
  if (mode === 'api' && args.options['employee-no'] !== undefined) {
    throw new UsageError(
      '--employee-no（学号或工号）只用于 --mode hikvision：平台设备接口按卡号、人脸特征值、身份证号或人员 ID 识别人员，不接受学号或工号。' +
        '请改用 --card 卡号1,卡号2（可先用 fangkong card assign 为人员绑定卡号）；两者都不给时发送随机人脸特征值',
    );
  }
  if (mode === 'hikvision' && args.options.card !== undefined) {
    throw new UsageError('--card 只用于 --mode api：模拟的海康终端按工号推送事件，请改用 --employee-no 学号或工号1,学号或工号2');
  }
}

function positiveInt(args: CliArgs, name: string, fallback: number, max: number): number {
  const raw = optionalOption(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new UsageError(`--${name} 应为 0 到 ${max} 的整数，收到“${raw}”`);
  return value;
}

function list(args: CliArgs, name: string): string[] {
  return (optionalOption(args, name) ?? '').split(',').map((v) => v.trim()).filter(Boolean);
}

/** `device add`, `device list`, `card assign` and `simulate terminal`. */
export const gateCommands: Command[] = [
  {
    name: ['device', 'add'],
    usage: 'device add --school C --kind hikvision|api|kiosk --name N [--lane L] [--direction in|out] [--json]',
    summary: '登记闸机设备，输出设备 ID 和密钥（密钥只显示一次）',
    run: async (args, runtime) => {
      const { device, key } = await createDevice(runtime!.ctx, {
        schoolCode: requireOption(args, 'school'),
        kind: requireOption(args, 'kind'),
        name: requireOption(args, 'name'),
        lane: optionalOption(args, 'lane'),
        direction: optionalOption(args, 'direction'),
      });
      if (wantsJson(args)) {
        printJson({ id: device.id, key, kind: device.kind, name: device.name, lane: device.lane, direction: device.direction });
        return;
      }
      const lines = [
        `已登记${KIND_LABELS[device.kind]}：${device.name}`,
        `设备 ID：${device.id}`,
        `设备密钥：${key}`,
        '密钥只显示这一次，请立即配置到设备上并妥善保存。',
      ];
      if (device.kind === 'hikvision') {
        lines.push(`终端推送地址：http(s)://<服务器地址>/api/terminals/hikvision/${device.id}/events?token=<设备密钥>`);
      } else {
        lines.push(`请求头：Authorization: Bearer ${device.id}.<设备密钥>`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    },
  },
  {
    name: ['device', 'list'],
    usage: 'device list --school C [--json]',
    summary: '列出学校的闸机设备及各自最后上报时间（北京时间）',
    run: async (args, runtime) => {
      const devices = await listDevices(runtime!.ctx, requireOption(args, 'school'));
      const rows = devices.map((d) => ({ id: d.id, kind: d.kind, name: d.name, lane: d.lane, direction: d.direction, active: d.active === 1, lastSeenAt: d.last_seen_at }));
      if (wantsJson(args)) {
        printJson({ devices: rows });
        return;
      }
      if (rows.length === 0) process.stdout.write('该学校还没有登记设备\n');
      for (const row of rows) {
        const seen = row.lastSeenAt ? `${formatLocalDateTime(row.lastSeenAt)}（北京时间）` : '从未上报';
        process.stdout.write(`${row.id}  ${KIND_LABELS[row.kind]}  ${row.name}  ${row.lane ?? '-'}  ${row.direction === 'in' ? '入校' : '离校'}  最后上报：${seen}\n`);
      }
    },
  },
  {
    name: ['card', 'assign'],
    usage: 'card assign --school C --card NUMBER (--student-number X | --staff-number X | --person ID) [--json]',
    summary: '为人员绑定卡号（该卡原属他人时改绑到此人）',
    run: async (args, runtime) => {
      const result = await assignCard(runtime!.ctx, {
        schoolCode: requireOption(args, 'school'),
        cardNumber: requireOption(args, 'card'),
        personId: optionalOption(args, 'person'),
        studentNumber: optionalOption(args, 'student-number'),
        staffNumber: optionalOption(args, 'staff-number'),
      });
      if (wantsJson(args)) printJson(result);
      else process.stdout.write(`已将卡号 ${result.cardMasked} 绑定给 ${result.personName}\n`);
    },
  },
  {
    name: ['simulate', 'terminal'],
    usage: 'simulate terminal --url U --device ID --key K [--mode hikvision|api] [--count N] [--rate R] [--concurrency C] [--employee-no A,B] [--card A,B] [--fever-every N] [--messy] [--picture] [--first-serial N] [--json]',
    summary: '模拟海康终端（按 --employee-no 学号或工号识别）或 API 通道（按 --card 卡号识别，不给时发送随机人脸特征值），向本机的防控平台发送通行事件',
    needsRuntime: false,
    run: async (args) => {
      const mode = optionalOption(args, 'mode') ?? 'hikvision';
      if (mode !== 'hikvision' && mode !== 'api') throw new UsageError(`--mode 应为 hikvision 或 api，收到“${mode}”`);
      checkIdentityOptions(args, mode);
      const report = await runTerminalSimulator({
        url: requireOption(args, 'url'),
        deviceId: requireOption(args, 'device'),
        key: requireOption(args, 'key'),
        mode,
        count: positiveInt(args, 'count', DEFAULT_SIMULATOR_OPTIONS.count, 1_000_000),
        rate: positiveInt(args, 'rate', DEFAULT_SIMULATOR_OPTIONS.rate, 100_000),
        concurrency: Math.max(1, positiveInt(args, 'concurrency', DEFAULT_SIMULATOR_OPTIONS.concurrency, 1000)),
        employeeNos: list(args, 'employee-no'),
        cardNumbers: list(args, 'card'),
        feverEvery: positiveInt(args, 'fever-every', 0, 1_000_000),
        messy: args.options.messy === true,
        picture: args.options.picture === true,
        firstSerial: positiveInt(args, 'first-serial', Date.now() % 1_000_000, Number.MAX_SAFE_INTEGER),
      });
      if (wantsJson(args)) printJson(report);
      else {
        process.stdout.write(`已发送 ${report.sent} 条，成功 ${report.ok} 条，失败 ${report.failed} 条，用时 ${report.durationMs} ms；延迟 p50 ${report.latencyMs.p50} ms，p99 ${report.latencyMs.p99} ms\n`);
        for (const [reason, count] of Object.entries(report.reasons)) process.stdout.write(`  ${REASON_LABELS[reason] ?? `原因 ${reason}`}：${count} 条\n`);
        for (const error of report.errors) process.stdout.write(`  错误：${error}\n`);
      }
      return report.failed > 0 ? 1 : 0;
    },
  },
];
