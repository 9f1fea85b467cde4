import { randomBytes } from 'node:crypto';
import { optionalOption, printJson, UsageError, wantsJson, type CliArgs, type Command } from '../../cli/command.js';
import { startDingTalkSimulator } from '../../../tools/simulators/dingtalk.js';

function readPort(args: CliArgs): number {
  const raw = optionalOption(args, 'port');
  if (raw === undefined) return 0;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port “${raw}” 不是 0 到 65535 之间的端口号`);
  return port;
}

/** `simulate dingtalk`. */
export const notifyCommands: Command[] = [
  {
    name: ['simulate', 'dingtalk'],
    usage: 'simulate dingtalk [--port N] [--app-key K] [--app-secret S] [--agent-id A] [--robot-secret S] [--robot-token T] [--keywords A,B] [--json]',
    summary: '在 127.0.0.1 上运行钉钉模拟器，按 Ctrl-C 停止',
    needsRuntime: false,
    run: async (args) => {
      const appKey = optionalOption(args, 'app-key') ?? 'fangkong-dingtalk-sim';
      const appSecret = optionalOption(args, 'app-secret') ?? randomBytes(16).toString('hex');
      const agentId = optionalOption(args, 'agent-id') ?? '10001';
      const robotSecret = optionalOption(args, 'robot-secret') ?? `SEC${randomBytes(16).toString('hex')}`;
      const keywords = optionalOption(args, 'keywords');

      const simulator = await startDingTalkSimulator({
        port: readPort(args),
        appKey,
        appSecret,
        agentId,
        robotSecret,
        robotAccessToken: optionalOption(args, 'robot-token'),
        robotKeywords: keywords ? keywords.split(',').map((k) => k.trim()).filter(Boolean) : undefined,
      });

      if (wantsJson(args)) {
        printJson({ url: simulator.url, appKey, appSecret, agentId, robotWebhook: simulator.robotWebhook, robotSecret });
      } else {
        process.stdout.write(
          [
            `钉钉接口模拟器已启动：${simulator.url}`,
            `FANGKONG_DINGTALK_API_URL=${simulator.url}`,
            `FANGKONG_DINGTALK_APP_KEY=${appKey}`,
            `FANGKONG_DINGTALK_APP_SECRET=${appSecret}`,
            `FANGKONG_DINGTALK_AGENT_ID=${agentId}`,
            `FANGKONG_DINGTALK_ROBOT_WEBHOOK=${simulator.robotWebhook}`,
            `FANGKONG_DINGTALK_ROBOT_SECRET=${robotSecret}`,
            `查看收到的消息：GET ${simulator.url}/_sim/messages、/_sim/robot、/_sim/stats；清空：DELETE ${simulator.url}/_sim/reset`,
            `注入故障：POST ${simulator.url}/_sim/faults {"down":"error503"}（恢复：{"down":false}）`,
            '按 Ctrl-C 停止',
          ].join('\n') + '\n',
        );
      }

      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await simulator.close();
    },
  },
];
