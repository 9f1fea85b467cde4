import { printJson, requireOption, optionalOption, wantsJson, type Command } from './command.js';
import { serveCommand } from './serve.js';
import { demoCommands } from '../demo/cli.js';
import { createSchool } from '../modules/people/service.js';
import { authCommands } from '../modules/auth/cli.js';
import { gateCommands } from '../modules/gate/cli.js';
import { healthcodeCommands } from '../modules/healthcode/cli.js';
import { peopleCommands } from '../modules/people/cli.js';
import { notifyCommands } from '../modules/notify/cli.js';
import { faceCommands } from '../modules/face/cli.js';

/** Every command of `fangkong`, in the order `--help` lists them. */
export const commands: Command[] = [
  {
    name: ['serve'],
    usage: 'serve [--verbose]',
    summary: '启动服务：提供 API 和控制台，并运行定时任务与通知发送；演示模式下日志写入 logs/server.log，--verbose 输出到终端',
    needsRuntime: false,
    run: async (args) => serveCommand({ verbose: args.options.verbose === true }),
  },
  {
    name: ['school', 'add'],
    usage: 'school add --code C --name N [--district D] [--json]',
    summary: '创建学校',
    run: async (args, runtime) => {
      const school = await createSchool(runtime!.ctx, {
        code: requireOption(args, 'code'),
        name: requireOption(args, 'name'),
        districtCode: optionalOption(args, 'district'),
      });
      if (wantsJson(args)) printJson({ id: school.id, code: school.code, name: school.name });
      else process.stdout.write(`已创建学校 ${school.name}（代码 ${school.code}）\n`);
    },
  },
  ...authCommands,
  ...gateCommands,
  ...healthcodeCommands,
  ...peopleCommands,
  ...notifyCommands,
  ...faceCommands,
  ...demoCommands,
];
