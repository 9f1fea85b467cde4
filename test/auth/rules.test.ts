import { describe, expect, it } from 'vitest';
import { parseClassName } from '../../src/modules/auth/class-ref.js';
import { hashPassword, needsRehash, verifyPassword, assertPasswordAcceptable } from '../../src/modules/auth/password.js';
import { assertClassScope, assertRole, assertSchoolScope, classScopeOf } from '../../src/modules/auth/scope.js';
import { SESSION_IDLE_MS, SESSION_MAX_AGE_MS, sessionIdOf, sessionState, newSessionToken } from '../../src/modules/auth/session-rules.js';
import { rolesGrantableBy } from '../../src/modules/auth/roles.js';
import { AppError } from '../../src/shared/errors.js';

describe('parseClassName', () => {
  it.each([
    ['二(3)班', { grade: 2, number: 3 }],
    ['二（3）班', { grade: 2, number: 3 }],
    ['2(3)班', { grade: 2, number: 3 }],
    ['十(1)班', { grade: 10, number: 1 }],
    ['十二(10)班', { grade: 12, number: 10 }],
    [' 六(12) ', { grade: 6, number: 12 }],
  ])('reads %s', (text, expected) => {
    expect(parseClassName(text)).toEqual(expected);
  });

  it.each(['', '三班', '二(0)班', '零(1)班', '二(3', 'abc', '一一(1)班'])('rejects %s', (text) => {
    expect(parseClassName(text)).toBeUndefined();
  });
});

describe('password hashing', () => {
  const fast = { N: 1024, r: 8, p: 1 };

  it('verifies the right password only', async () => {
    const stored = await hashPassword('correct horse', fast);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsf', stored)).toBe(false);
  });

  it('salts each hash', async () => {
    expect(await hashPassword('same', fast)).not.toBe(await hashPassword('same', fast));
  });

  it('never matches a malformed hash', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$0$8$1$aa$bb')).toBe(false);
  });

  it('asks for a rehash when parameters change', async () => {
    const stored = await hashPassword('pw', fast);
    expect(needsRehash(stored, fast)).toBe(false);
    expect(needsRehash(stored, { N: 2048, r: 8, p: 1 })).toBe(true);
  });

  it.each([
    ['', '新密码不能为空'],
    ['        ', '新密码不能为空'],
    ['1234567', '至少需要 8 个字符'],
    ['x'.repeat(129), '不能超过 128 个字符'],
  ])('rejects %j', (password, message) => {
    expect(() => assertPasswordAcceptable(password)).toThrow(message);
  });

  it('counts characters, not bytes', () => {
    expect(() => assertPasswordAcceptable('防控平台防控平台')).not.toThrow();
  });
});

describe('session rules', () => {
  const created = 1_000_000;

  it.each([
    [0, 'active'],
    [SESSION_IDLE_MS - 1, 'active'],
    [SESSION_IDLE_MS, 'idle'],
  ] as const)('idle after %i ms unused is %s', (unused, state) => {
    expect(sessionState({ created_at: created, last_seen_at: created }, created + unused)).toBe(state);
  });

  it('expires at the maximum age even when busy', () => {
    const now = created + SESSION_MAX_AGE_MS;
    expect(sessionState({ created_at: created, last_seen_at: now - 1000 }, now)).toBe('expired');
  });

  it('stores a hash, not the token', () => {
    const { token, id } = newSessionToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(id).toBe(sessionIdOf(token));
    expect(id).not.toContain(token);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('scope checks', () => {
  const district = { role: 'district_admin' as const, schoolId: null, classId: null };
  const schoolAdmin = { role: 'school_admin' as const, schoolId: 'S1', classId: null };
  const doctor = { role: 'school_doctor' as const, schoolId: 'S1', classId: null };
  const headTeacher = { role: 'head_teacher' as const, schoolId: 'S1', classId: 'C1' };
  const orphanHeadTeacher = { role: 'head_teacher' as const, schoolId: 'S1', classId: null };

  function forbidden(check: () => void): string | undefined {
    try {
      check();
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('FORBIDDEN');
      expect((error as AppError).status).toBe(403);
      return (error as AppError).userMessage;
    }
  }

  it('lets the district into every school and class', () => {
    expect(forbidden(() => assertSchoolScope(district, 'S9'))).toBeUndefined();
    expect(forbidden(() => assertClassScope(district, 'C9', 'S9'))).toBeUndefined();
  });

  it('keeps a school role in its school', () => {
    expect(forbidden(() => assertSchoolScope(schoolAdmin, 'S1'))).toBeUndefined();
    expect(forbidden(() => assertSchoolScope(doctor, 'S2'))).toContain('本校');
    expect(forbidden(() => assertClassScope(doctor, 'C7', 'S1'))).toBeUndefined();
    expect(forbidden(() => assertClassScope(schoolAdmin, 'C7', 'S2'))).toContain('本校');
  });

  it('keeps a head teacher in their class', () => {
    expect(forbidden(() => assertClassScope(headTeacher, 'C1', 'S1'))).toBeUndefined();
    expect(forbidden(() => assertClassScope(headTeacher, 'C2', 'S1'))).toContain('本班');
    expect(forbidden(() => assertClassScope(headTeacher, 'C1', 'S2'))).toContain('本校');
  });

  it('needs allowClassScoped for a head teacher on school routes', () => {
    expect(forbidden(() => assertSchoolScope(headTeacher, 'S1'))).toContain('本班');
    expect(forbidden(() => assertSchoolScope(headTeacher, 'S1', { allowClassScoped: true }))).toBeUndefined();
    expect(forbidden(() => assertSchoolScope(headTeacher, 'S2', { allowClassScoped: true }))).toContain('本校');
    expect(forbidden(() => assertSchoolScope(orphanHeadTeacher, 'S1', { allowClassScoped: true }))).toContain('未关联班级');
  });

  it('narrows lists only for head teachers', () => {
    expect(classScopeOf(headTeacher)).toBe('C1');
    expect(classScopeOf(schoolAdmin)).toBeUndefined();
    expect(classScopeOf(district)).toBeUndefined();
  });

  it('role error names role and contact', () => {
    const guard = { role: 'guard' as const };
    expect(forbidden(() => assertRole(guard, ['district_admin', 'school_admin']))).toBe(
      '没有权限：您的账号角色是“门卫”，此操作只有区级管理员、学校管理员可以执行。请换用有权限的账号登录，或联系本校的学校管理员',
    );
    expect(forbidden(() => assertRole(guard, ['guard']))).toBeUndefined();
  });

  it('district-only role error names district admin', () => {
    expect(forbidden(() => assertRole(schoolAdmin, ['district_admin', 'task_force']))).toBe(
      '没有权限：您的账号角色是“学校管理员”，此操作只有区级管理员、疫情防控专班可以执行。请换用有权限的账号登录，或联系区级管理员',
    );
    expect(forbidden(() => assertRole({ role: 'task_force' }, ['school_admin', 'guard']))).toContain('或联系区级管理员');
  });

  it('role error spares a granting admin', () => {
    expect(forbidden(() => assertRole(district, ['guard']))).toBe('没有权限：您的账号角色是“区级管理员”，此操作只有门卫可以执行。请换用有权限的账号登录');
    expect(forbidden(() => assertRole(schoolAdmin, ['school_doctor']))).toBe('没有权限：您的账号角色是“学校管理员”，此操作只有校医可以执行。请换用有权限的账号登录');
  });

  it('lets school admins grant only school roles', () => {
    expect(rolesGrantableBy('school_admin')).not.toContain('district_admin');
    expect(rolesGrantableBy('school_admin')).toContain('head_teacher');
    expect(rolesGrantableBy('district_admin')).toContain('district_admin');
    expect(rolesGrantableBy('teacher')).toEqual([]);
  });
});
