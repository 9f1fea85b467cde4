import { readFile, stat, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError, printJson, requireOption, wantsJson, type CliArgs, type Command } from '../../cli/command.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { audit } from '../auth/index.js';
import { createDingTalkLookup } from './dingtalk-lookup.js';
import { checkRosterSize } from './roster-read.js';
import { exportRoster, importRoster, type RosterImportResult } from './roster-service.js';
import { formatRosterUpdate } from './roster-updates.js';

/** Hint in the reason of a row naming a missing class, for command-line users: how to allow new classes. */
const CREATE_CLASSES_HINT_CLI = '加上 --create-classes 重新导入';
import { getSchoolByCodeOrThrow, listClassSummaries } from './service.js';

const KIND_NAMES = { student: '学生', staff: '教职工' } as const;

/** Updated people listed one a line; a re-import of a whole school would otherwise print thousands. */
const MAX_UPDATES_PRINTED = 200;

/** Read the one positional argument, the roster file. */
function requireFile(args: CliArgs): string {
  const [file, ...extra] = args.positionals;
  if (!file) throw new UsageError('缺少文件路径 FILE');
  if (extra.length > 0) throw new UsageError(`多余的参数：${extra.join(' ')}`);
  return file;
}

/** Format the report of an import for a terminal, in Chinese. */
export function formatImportReport(result: RosterImportResult): string {
  const { counts } = result;
  // A CSV file has no worksheets, so its rows are named by line number alone.
  const source = result.format === 'csv' ? 'CSV 文件' : `${result.format}，工作表“${result.sheet}”`;
  const lines = [
    `已读取${KIND_NAMES[result.kind]}名单（${source}，表头在第 ${result.headerRow} 行），共 ${counts.rows} 行`,
    `新增 ${counts.created} 人，更新 ${counts.updated} 人，未变 ${counts.unchanged} 人，拒绝 ${counts.rejected} 行；新建班级 ${counts.classesCreated} 个`,
  ];
  if (result.createdClasses.length > 0) lines.push(`新建的班级：${result.createdClasses.join('、')}`);
  if (result.dingtalk) {
    const d = result.dingtalk;
    lines.push(`钉钉账号查询 ${d.lookedUp} 个：找到 ${d.found}，未找到 ${d.notFound}，失败 ${d.failed}${d.skipped ? `，未查询 ${d.skipped}` : ''}`);
  }
  for (const warning of result.warnings) lines.push(`注意：${warning}`);

  if (result.updates.length > 0) lines.push('', '更新的人员：');
  for (const update of result.updates.slice(0, MAX_UPDATES_PRINTED)) lines.push(`  ${formatRosterUpdate(update)}`);
  if (result.updates.length > MAX_UPDATES_PRINTED) {
    lines.push(`  ……另有 ${result.updates.length - MAX_UPDATES_PRINTED} 人，加 --json 可查看全部`);
  }

  if (result.rejected.length > 0) lines.push('', '被拒绝的行：');
  for (const rejected of result.rejected) {
    for (const problem of rejected.problems) {
      const value = problem.value === '' ? '（空）' : `“${problem.value}”`;
      lines.push(`  第 ${rejected.row} 行 ${problem.column} ${value}：${problem.reason}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** `import-roster`, `export-roster` and `classes`. */
export const peopleCommands: Command[] = [
  {
    name: ['import-roster'],
    usage: 'import-roster --school C FILE [--create-classes] [--json]',
    summary:
      '导入学生或教职工花名册（.xlsx 或 .csv）；班级不存在的行会被拒绝，除非加 --create-classes；文件读取成功即返回 0，即使有被拒绝的行',
    run: async (args, runtime) => {
      const ctx = runtime!.ctx;
      const schoolCode = requireOption(args, 'school');
      const file = requireFile(args);

      let result: RosterImportResult;
      try {
        const info = await stat(file).catch(() => undefined);
        if (!info || !info.isFile()) throw new AppError('ROSTER_UNREADABLE', { detail: `找不到文件 ${file}` });
        checkRosterSize(info.size, ctx.config.roster.maxFileMb);
        result = await importRoster(ctx, schoolCode, await readFile(file), {
          lookupDingTalkUserId: createDingTalkLookup(ctx),
          createClasses: args.options['create-classes'] === true,
          createClassesHint: CREATE_CLASSES_HINT_CLI,
        });
      } catch (error) {
        if (!wantsJson(args) || !isAppError(error)) throw error;
        printJson({ error: error.code, message: error.userMessage });
        return 1;
      }

      const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
      await audit(ctx, null, 'roster.import', school.code, { via: 'cli', kind: result.kind, createClasses: args.options['create-classes'] === true, ...result.counts }, { schoolId: school.id });
      if (wantsJson(args)) printJson(result);
      else process.stdout.write(formatImportReport(result));
      return 0;
    },
  },
  {
    name: ['export-roster'],
    usage: 'export-roster --school C FILE [--staff] [--json]',
    summary: '按导入格式把学生花名册（加 --staff 为教职工）写入 FILE（.xlsx 或 .csv），含身份证号',
    run: async (args, runtime) => {
      const ctx = runtime!.ctx;
      const schoolCode = requireOption(args, 'school');
      const file = requireFile(args);
      const extension = extname(file).toLowerCase();
      if (extension !== '.xlsx' && extension !== '.csv') throw new UsageError(`文件名应以 .xlsx 或 .csv 结尾，收到“${file}”`);

      const kind = args.options.staff === true ? 'staff' : 'student';
      const exported = await exportRoster(ctx, schoolCode, { kind, format: extension === '.xlsx' ? 'xlsx' : 'csv' });
      await writeFile(file, exported.bytes);
      const school = await getSchoolByCodeOrThrow(ctx, schoolCode);
      await audit(ctx, null, 'roster.export', school.code, { via: 'cli', kind, rows: exported.rows }, { schoolId: school.id });

      if (wantsJson(args)) printJson({ file, kind, rows: exported.rows, bytes: exported.bytes.length });
      else process.stdout.write(`已导出${KIND_NAMES[kind]}名单 ${exported.rows} 人到 ${file}（含完整身份证号，请妥善保管）\n`);
    },
  },
  {
    name: ['classes'],
    usage: 'classes --school C [--json]',
    summary: '列出学校的全部班级，含班主任和在校学生人数',
    run: async (args, runtime) => {
      const ctx = runtime!.ctx;
      const school = await getSchoolByCodeOrThrow(ctx, requireOption(args, 'school'));
      const classes = await listClassSummaries(ctx, school.id);
      if (wantsJson(args)) {
        printJson({ school: school.code, items: classes.map(({ name, grade, number, headTeacher, pupils }) => ({ name, grade, number, headTeacher: headTeacher?.name ?? null, pupils })) });
        return;
      }

      const lines = [classes.length === 0 ? `${school.name}还没有任何班级` : `${school.name}共 ${classes.length} 个班`];
      if (classes.length > 0) lines.push('班级\t班主任\t学生人数');
      for (const klass of classes) lines.push([klass.name, klass.headTeacher?.name ?? '-', String(klass.pupils)].join('\t'));
      process.stdout.write(lines.join('\n') + '\n');
    },
  },
];
