import { readFile, stat } from 'node:fs/promises';
import { UsageError, optionalOption, printJson, requireOption, wantsJson, type CliArgs, type Command } from '../../cli/command.js';
import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { audit } from '../auth/index.js';
import { findPerson, findPersonByNumber, getSchoolByCodeOrThrow } from '../people/service.js';
import { enrolFolder, fileLabel, type FolderProgress } from './folder-enrolment.js';
import { describeGallery, enrollFace, identifyImage, type IdentifyResult } from './service.js';

const DECISION_LABELS = { match: '匹配（放行人脸）', ambiguous: '不确定（请刷卡或由门卫核验）', unknown: '未识别' } as const;

function requirePath(args: CliArgs, name: string): string {
  const [path, ...extra] = args.positionals;
  if (!path) throw new UsageError(`缺少 ${name}`);
  if (extra.length > 0) throw new UsageError(`多余的参数：${extra.join(' ')}`);
  return path;
}

/** Find a person of the school by internal id, student or staff number, or ID number. */
async function resolvePerson(ctx: AppContext, schoolId: string, text: string): Promise<{ id: string; name: string }> {
  const byId = await findPerson(ctx, text);
  const person = byId && byId.school_id === schoolId ? byId : await findPersonByNumber(ctx, schoolId, text);
  if (!person) throw new AppError('NOT_FOUND', { what: '人员（按内部编号、学号、工号或身份证号查找）', value: fileLabel(text) });
  return { id: person.id, name: person.name };
}

function printProgress(progress: FolderProgress): void {
  const outcome = progress.status === 'done' ? '已录入' : `失败：${progress.reason}`;
  process.stderr.write(`[${progress.index}/${progress.count}] ${progress.file} ${outcome}\n`);
}

async function describePerson(ctx: AppContext, personId: string | undefined): Promise<{ id: string; name: string; number: string | null } | null> {
  if (!personId) return null;
  const person = await findPerson(ctx, personId);
  if (!person) return null;
  return { id: person.id, name: person.name, number: person.student_number ?? person.staff_number };
}

function formatIdentify(result: IdentifyResult, best: Awaited<ReturnType<typeof describePerson>>, second: Awaited<ReturnType<typeof describePerson>>): string {
  if (result.rejection) return `照片无法识别：${result.rejection.message}\n门禁判定：${DECISION_LABELS.unknown}\n`;
  const lines = [`门禁判定：${DECISION_LABELS[result.decision]}${result.masked ? '（检测到口罩，人脸识别最多判为不确定）' : ''}`];
  if (best) lines.push(`最相近：${best.name}${best.number ? `（${best.number}）` : ''}，距离 ${result.distance?.toFixed(3)}`);
  else if (result.distance !== undefined) lines.push(`最相近的人距离 ${result.distance.toFixed(3)}，超过阈值，不显示姓名`);
  else lines.push('人脸底库为空');
  if (result.margin !== undefined) lines.push(`与第二相近${second ? `（${second.name}）` : ''}相差 ${result.margin.toFixed(3)}`);
  return lines.join('\n') + '\n';
}

/** `enroll-face` and `identify`. */
export const faceCommands: Command[] = [
  {
    name: ['enroll-face'],
    usage: 'enroll-face --school C PATH [--person ID] [--json]',
    summary: '为 --person（人员 ID、学号、工号或身份证号）录入一张人脸照片，或录入文件夹 PATH 中按这些编号命名的全部照片；重新运行会跳过已录入的照片',
    run: async (args, runtime) => {
      const ctx = runtime!.ctx;
      const school = await getSchoolByCodeOrThrow(ctx, requireOption(args, 'school'));
      const path = requirePath(args, 'PATH');
      const info = await stat(path).catch(() => undefined);
      if (!info) throw new AppError('VALIDATION', { detail: `找不到文件或文件夹 ${path}` });

      const personText = optionalOption(args, 'person');
      if (info.isDirectory()) {
        if (personText) throw new UsageError('--person 只用于单张照片；文件夹中的照片按文件名（学号或身份证号）对应人员');
        const result = await enrolFolder(ctx, { schoolId: school.id, folder: path, onProgress: printProgress });
        await audit(ctx, null, 'face.enrol_folder', school.code, { jobId: result.jobId, enrolled: result.enrolled, failed: result.failed.length }, { schoolId: school.id });
        if (wantsJson(args)) {
          printJson(result);
          return;
        }
        const lines = [`共 ${result.total} 张照片：本次录入 ${result.enrolled} 张，此前已录入跳过 ${result.skipped} 张，失败 ${result.failed.length} 张`];
        for (const failure of result.failed) lines.push(`  ${failure.file}：${failure.reason}`);
        process.stdout.write(lines.join('\n') + '\n');
        return;
      }

      if (!personText) throw new UsageError('单张照片需要 --person（或改为提供按学号命名照片的文件夹）');
      const person = await resolvePerson(ctx, school.id, personText);
      const result = await enrollFace(ctx, { schoolId: school.id, personId: person.id, image: await readFile(path), source: 'cli' });
      await audit(ctx, null, 'face.enrol', person.id, { descriptorId: result.descriptorId }, { schoolId: school.id });
      if (wantsJson(args)) printJson(result);
      else process.stdout.write(`已为 ${person.name} 录入人脸（检测置信度 ${result.score.toFixed(2)}，现有 ${result.descriptorCount} 张）\n`);
    },
  },
  {
    name: ['identify'],
    usage: 'identify --school C PHOTO [--json]',
    summary: '将照片 PHOTO 中的人脸与本校人脸库比对：最相近的人、距离、与第二相近者的差距，以及闸机的判定',
    run: async (args, runtime) => {
      const ctx = runtime!.ctx;
      const school = await getSchoolByCodeOrThrow(ctx, requireOption(args, 'school'));
      const path = requirePath(args, 'PHOTO');
      const image = await readFile(path).catch(() => {
        throw new AppError('VALIDATION', { detail: `找不到照片文件 ${path}` });
      });

      const result = await identifyImage(ctx, school.id, image);
      const best = await describePerson(ctx, result.personId);
      const second = await describePerson(ctx, result.secondPersonId);
      if (wantsJson(args)) {
        const gallery = await describeGallery(ctx, school.id);
        printJson({ ...result, person: best, secondPerson: second, gallery: { persons: gallery.persons, descriptors: gallery.descriptors }, thresholds: gallery.thresholds });
      } else {
        process.stdout.write(formatIdentify(result, best, second));
      }
    },
  },
];
