import { UsageError, optionalOption, printJson, requireOption, wantsJson, type CliArgs, type Command } from '../../cli/command.js';
import { createUser } from './service.js';
import { USER_ROLES, describeRoles } from './roles.js';

/** Read the password from standard input: the first line, without its line ending. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write('请输入密码后按回车：');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

async function addUser(args: CliArgs, runtime: Parameters<Command['run']>[1]): Promise<void> {
  if (args.options['password-stdin'] !== true) {
    throw new UsageError('请用 --password-stdin 从标准输入传入密码（不要写在命令行上）');
  }
  const role = requireOption(args, 'role');
  if (!(USER_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`未知角色 --role “${role}”，可选：${describeRoles()}`);
  }

  const password = await readPasswordFromStdin();
  const user = await createUser(
    runtime!.ctx,
    {
      username: requireOption(args, 'username'),
      displayName: optionalOption(args, 'name'),
      role,
      schoolCode: optionalOption(args, 'school'),
      className: optionalOption(args, 'class'),
      createClass: args.options['create-class'] === true,
      password,
    },
    null,
    undefined,
    { createClassHint: '加上 --create-class 重新运行' },
  );

  if (wantsJson(args)) {
    printJson({ id: user.id, username: user.username, role: user.role, schoolCode: user.schoolCode, className: user.className, warning: user.warning });
    return;
  }
  const place = [user.schoolName, user.className].filter(Boolean).join(' ');
  process.stdout.write(`已创建账号 ${user.username}（${user.roleLabel}${place ? `，${place}` : ''}）\n`);
  if (user.warning) process.stderr.write(`注意：${user.warning}\n`);
}

/** Account commands for `fangkong`. */
export const authCommands: Command[] = [
  {
    name: ['user', 'add'],
    usage: "user add --username U --role R [--school C] [--class '二(3)班' [--create-class]] [--name 显示名] --password-stdin [--json]",
    summary: '创建控制台账号；密码从标准输入读取；班主任的班级须已存在，加 --create-class 时自动新建',
    run: async (args, runtime) => addUser(args, runtime),
  },
];
