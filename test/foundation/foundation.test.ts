import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createFieldCipher, maskIdNumber, maskPhone } from '../../src/shared/crypto.js';
import { newId } from '../../src/shared/ids.js';
import { instantOf, schoolDay, minuteOfDay } from '../../src/shared/time.js';
import { loadConfig, ConfigError } from '../../src/config.js';
import { EXPORT_FIELDS, exportHeader } from '../../src/modules/people/roster-fields.js';
import { makeIdNumber, idCheckCharacter } from '../../src/shared/synthetic.js';
import { listSyncTargets, getContacts } from '../../src/modules/people/service.js';
import { verifyMasterKey, MasterKeyMismatchError } from '../../src/shared/key-check.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { buildSchool, buildStaff, buildStudent } from '../helpers/factories.js';

describe('field cipher', () => {
  const cipher = createFieldCipher(Buffer.alloc(32, 1));

  it('round-trips and hides the plain text', () => {
    const sealed = cipher.encrypt('110101199003078670');
    expect(sealed).not.toContain('110101');
    expect(cipher.decrypt(sealed)).toBe('110101199003078670');
  });

  it('encrypts the same value differently each time', () => {
    expect(cipher.encrypt('x')).not.toBe(cipher.encrypt('x'));
  });

  it('hashes deterministically per key', () => {
    expect(cipher.hash('a')).toBe(cipher.hash('a'));
    expect(createFieldCipher(Buffer.alloc(32, 2)).hash('a')).not.toBe(cipher.hash('a'));
  });

  it('rejects a tampered value', () => {
    const sealed = cipher.encrypt('secret');
    const parts = sealed.split(':');
    parts[2] = parts[2].slice(0, -2) + (parts[2].endsWith('AA') ? 'BB' : 'AA');
    expect(() => cipher.decrypt(parts.join(':'))).toThrow();
  });

  it('masks ID numbers and phones', () => {
    expect(maskIdNumber('33010619900307123X')).toBe('330***********123X');
    expect(maskPhone('10012345678')).toBe('100****5678');
  });
});

describe('time in Asia/Shanghai', () => {
  it('puts 23:30 UTC on the next school day', () => {
    expect(schoolDay(Date.parse('2026-12-06T23:30:00Z'))).toBe('2026-12-07');
    expect(minuteOfDay(Date.parse('2026-12-06T20:30:00Z'))).toBe(4 * 60 + 30);
  });

  it('converts a local time to an instant', () => {
    expect(new Date(instantOf('2026-12-07', '04:30')).toISOString()).toBe('2026-12-06T20:30:00.000Z');
  });
});

describe('ids', () => {
  it('sort by creation', () => {
    const ids = Array.from({ length: 1000 }, () => newId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
  });
});

describe('config', () => {
  it('lists every bad value at once', () => {
    try {
      loadConfig({ FANGKONG_PORT: 'abc', FANGKONG_SECRET_KEY: 'short', FANGKONG_DATABASE_URL: 'mysql://x' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toHaveLength(3);
      expect((error as ConfigError).message).toContain('FANGKONG_PORT="abc"');
      expect((error as ConfigError).message).toContain('配置有误');
    }
  });

  /** Return the problems loadConfig reports for `env`, or [] when it accepts it. */
  function configProblems(env: Record<string, string>): string[] {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
  }

  const BUREAU_KEYS = { FANGKONG_BUREAU_APP_KEY: 'k', FANGKONG_BUREAU_APP_SECRET: 's' };

  it.each([
    ['FANGKONG_BUREAU_URL', 'not-a-url', '请填写大数据局提供的接口地址，或删除该变量以使用演示模式'],
    ['FANGKONG_BUREAU_URL', 'ftp://127.0.0.1/codes', '请填写大数据局提供的接口地址'],
    ['FANGKONG_DINGTALK_API_URL', '127.0.0.1:8080', '或删除该变量以使用钉钉官方地址 https://oapi.dingtalk.com'],
    ['FANGKONG_DINGTALK_ROBOT_WEBHOOK', 'http://', '请从钉钉群机器人的设置中复制完整的 Webhook 地址，或删除该变量'],
  ])('rejects %s=%s by name', (name, value, advice) => {
    const problems = configProblems({ ...BUREAU_KEYS, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${name}="${value}" 不是有效的网址，应为以 http:// 或 https:// 开头、包含主机名的完整网址；`);
    expect(problems[0]).toContain(advice);
  });

  it('hides secrets of a rejected URL', () => {
    const [problem] = configProblems({ FANGKONG_DINGTALK_ROBOT_WEBHOOK: '127.0.0.1/robot/send?access_token=abc123&x=1' });
    expect(problem).toContain('FANGKONG_DINGTALK_ROBOT_WEBHOOK="127.0.0.1/robot/send?access_token=***&x=***"');
    expect(problem).not.toContain('abc123');
    const [bureau] = configProblems({ ...BUREAU_KEYS, FANGKONG_BUREAU_URL: 'bureau://user:hunter2@127.0.0.1' });
    expect(bureau).toContain('FANGKONG_BUREAU_URL="bureau://user:***@127.0.0.1"');
  });

  it.each(['not-a-url', 'http://127.0.0.1:3000/venues', 'http://127.0.0.1#top', 'http://:80'])('rejects FANGKONG_PUBLIC_URL=%s', (value) => {
    const problems = configProblems({ FANGKONG_PUBLIC_URL: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`FANGKONG_PUBLIC_URL="${value}" 应为以 http:// 或 https:// 开头的网址，只含主机名（可带端口）、不带路径`);
  });

  it('accepts loopback URLs', () => {
    const config = loadConfig({
      ...BUREAU_KEYS,
      FANGKONG_BUREAU_URL: 'http://127.0.0.1:9100/api',
      FANGKONG_DINGTALK_API_URL: 'http://localhost:9200/',
      FANGKONG_DINGTALK_ROBOT_WEBHOOK: 'https://127.0.0.1:9300/robot/send?access_token=t',
      FANGKONG_PUBLIC_URL: 'http://127.0.0.1:3000/',
    });
    expect(config.bureau.url).toBe('http://127.0.0.1:9100/api');
    expect(config.dingtalk.apiUrl).toBe('http://localhost:9200');
    expect(config.dingtalk.robotWebhook).toBe('https://127.0.0.1:9300/robot/send?access_token=t');
    expect(config.venues.publicUrl).toBe('http://127.0.0.1:3000');
  });

  it('stops serve on a malformed URL', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fangkong-config-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
        encoding: 'utf8',
        env: { ...process.env, ...BUREAU_KEYS, FANGKONG_BUREAU_URL: 'not-a-url', FANGKONG_DATA_DIR: dataDir, FANGKONG_DATABASE_URL: '', FANGKONG_PORT: '0', FANGKONG_HOST: '127.0.0.1', FANGKONG_LOG_LEVEL: 'silent' },
        // A server that started would run until this kills it, and the status would be null.
        timeout: 30_000,
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('配置有误，请修改以下环境变量后重新启动');
      expect(result.stderr).toContain('FANGKONG_BUREAU_URL="not-a-url" 不是有效的网址，应为以 http:// 或 https:// 开头、包含主机名的完整网址');
      expect(result.stdout).not.toContain('已启动');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /** Return the rows of a README's configuration table: the variables of the first cell and the default. */
  function configurationRows(file: string, heading: string): Array<{ names: string[]; fallback: string }> {
    const text = readFileSync(file, 'utf8');
    const section = text.slice(text.indexOf(`\n## ${heading}\n`)).split(/\n## /)[1] ?? '';
    return section
      .split('\n')
      .filter((line) => line.startsWith('| `FANGKONG_'))
      .map((line) => {
        const [names = '', fallback = ''] = line.split(' | ');
        return { names: names.match(/FANGKONG_[A-Z0-9_]+/g) ?? [], fallback: fallback.trim() };
      });
  }

  it('lists every setting in both READMEs', () => {
    const read = new Set(readFileSync('src/config.ts', 'utf8').match(/FANGKONG_[A-Z0-9_]+(?=['`)]|\s*===)/g) ?? []);
    const english = configurationRows('README.md', 'Configuration');
    const chinese = configurationRows('README.zh-CN.md', '配置');

    expect(read.size).toBeGreaterThan(35);
    expect([...read].filter((name) => !english.some((row) => row.names.includes(name)))).toEqual([]);
    expect(chinese.map((row) => row.names)).toEqual(english.map((row) => row.names));
    for (const [index, row] of english.entries()) {
      // Numbers and URLs are written alike in both tables; words such as 空 differ.
      if (/^`[\d:/.a-z]+`$/.test(row.fallback)) expect(chinese[index]!.fallback, row.names.join()).toBe(row.fallback);
    }
  });

  /** Return the first cells of the README table whose header row is `header`. */
  function tableFirstCells(file: string, header: string): string[] {
    const lines = readFileSync(file, 'utf8').split('\n');
    const start = lines.indexOf(header);
    expect(start, `${file} has no table headed ${header}`).toBeGreaterThan(-1);
    const rows = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('| ')) break;
      rows.push(line.split(' | ')[0]!.slice(2).trim());
    }
    return rows;
  }

  it('lists the staff export columns in both READMEs', () => {
    const exported = EXPORT_FIELDS.staff.map((field) => exportHeader('staff', field));

    expect(tableFirstCells('README.md', '| column | required | content |')).toEqual(exported);
    expect(tableFirstCells('README.zh-CN.md', '| 列 | 必填 | 内容 |')).toEqual(exported);
  });

  it('is demo mode without a bureau', () => {
    expect(loadConfig({}).demo).toBe(true);
    expect(loadConfig({ FANGKONG_BUREAU_URL: 'http://127.0.0.1:1', FANGKONG_BUREAU_APP_KEY: 'k', FANGKONG_BUREAU_APP_SECRET: 's' }).demo).toBe(false);
  });
});

describe('synthetic ID numbers', () => {
  it('carry a valid check digit', () => {
    const id = makeIdNumber(42, '2015-06-01');
    expect(id).toHaveLength(18);
    expect(id[17]).toBe(idCheckCharacter(id.slice(0, 17)));
    expect(idCheckCharacter('11010119900307867')).toBe('0');
  });
});

describe.each(DIALECTS)('%s: foundation', (dialect) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves /api/health', async () => {
    const app = await buildApp(t.ctx);
    const reply = await app.inject({ method: 'GET', url: '/api/health' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ status: 'ok', database: dialect });
    await app.close();
  });

  it('serves the OpenAPI document', async () => {
    const app = await buildApp(t.ctx);
    const reply = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json().openapi).toMatch(/^3\./);
    await app.close();
  });

  it('lists consented persons as sync targets with decrypted ID numbers', async () => {
    const school = await buildSchool(t.ctx);
    const withConsent = await buildStudent(t.ctx, school.id);
    await buildStudent(t.ctx, school.id, { consent: false });
    const targets = await listSyncTargets(t.ctx, school.id);
    expect(targets).toEqual([{ personId: withConsent.person.id, idNumber: withConsent.idNumber }]);
  });

  it('finds a pupil contacts', async () => {
    const school = await buildSchool(t.ctx);
    const pupil = await buildStudent(t.ctx, school.id, { grade: 2, classNumber: 3 });
    const teacher = await buildStaff(t.ctx, school.id, 'head_teacher', { classId: pupil.klass.id });
    const contacts = (await getContacts(t.ctx, [pupil.person.id])).get(pupil.person.id)!;
    expect(contacts.className).toBe('二(3)班');
    expect(contacts.headTeacher?.id).toBe(teacher.id);
    expect(contacts.guardians).toHaveLength(1);
  });

  it('stores instants as numbers', async () => {
    const school = await buildSchool(t.ctx);
    const row = await t.ctx.db.selectFrom('schools').select('created_at').where('id', '=', school.id).executeTakeFirstOrThrow();
    expect(typeof row.created_at).toBe('number');
  });
});

describe.each(DIALECTS)('%s: master key check', (dialect) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(async () => {
    await t.close();
  });

  it('accepts the key the data was written with', async () => {
    const school = await buildSchool(t.ctx);
    await buildStudent(t.ctx, school.id);
    await verifyMasterKey(t.ctx.db, t.ctx.cipher, t.ctx.now());
    await verifyMasterKey(t.ctx.db, t.ctx.cipher, t.ctx.now());
    const stored = await t.ctx.db.selectFrom('app_meta').select('name').execute();
    expect(stored).toHaveLength(1);
  });

  it('rejects another key', async () => {
    const other = createFieldCipher(Buffer.alloc(32, 9));
    await expect(verifyMasterKey(t.ctx.db, other, t.ctx.now())).rejects.toBeInstanceOf(MasterKeyMismatchError);
  });

  it('rejects another key before the check is stored', async () => {
    await t.ctx.db.deleteFrom('app_meta').execute();
    const other = createFieldCipher(Buffer.alloc(32, 9));
    await expect(verifyMasterKey(t.ctx.db, other, t.ctx.now())).rejects.toThrow('密钥与数据库不匹配');
  });
});
