import type { AppContext } from '../../context.js';
import type { ConsentPurpose } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import * as store from './store.js';
import type { ConsentActor } from './store.js';

export type { ConsentActor };

/** Purposes a consent is recorded for, as the console names them. */
export const CONSENT_PURPOSE_LABELS: Record<ConsentPurpose, string> = { health_code: '健康码查询', face: '人脸识别' };

/**
 * One consent record as the console shows it: who gave it, when, which account recorded
 * it, and when and by which account it was revoked.
 */
export interface ConsentView {
  id: string;
  purpose: ConsentPurpose;
  givenBy: 'self' | 'guardian';
  guardianId: string | null;
  guardianName: string | null;
  givenAt: number;
  revokedAt: number | null;
  note: string | null;
  /** Null for records from before accounts were stored and for command-line imports. */
  recordedBy: ConsentActor | null;
  /** Null while the consent is in force, and for revocations without a stored account. */
  revokedBy: ConsentActor | null;
}

export interface GrantConsentInput {
  purpose: ConsentPurpose;
  givenBy: 'self' | 'guardian';
  /** Required when a guardian gave the consent; must be a guardian of the person. */
  guardianId?: string;
  note?: string;
}

/** List every consent record of a person, newest first, with the guardian's name. */
export async function listPersonConsents(ctx: AppContext, personId: string): Promise<ConsentView[]> {
  const [rows, guardians] = await Promise.all([store.listConsents(ctx.db, personId), store.listGuardiansOfPersons(ctx.db, [personId])]);
  const guardianName = new Map(guardians.map((g) => [g.id, g.name]));
  return rows
    .map((row) => ({
      id: row.id,
      purpose: row.purpose,
      givenBy: row.given_by,
      guardianId: row.guardian_id,
      guardianName: row.guardian_id ? (guardianName.get(row.guardian_id) ?? null) : null,
      givenAt: Number(row.given_at),
      revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
      note: row.note,
      recordedBy: actorOf(row.recorded_by_user_id, row.recorded_by_username, row.recorded_by_name),
      revokedBy: actorOf(row.revoked_by_user_id, row.revoked_by_username, row.revoked_by_name),
    }))
    .sort((a, b) => b.givenAt - a.givenAt);
}

/** Build the consent actor of a signed-in account. */
export function consentActorOf(user: { id: string; username: string; displayName: string }): ConsentActor {
  return { userId: user.id, username: user.username, displayName: user.displayName };
}

function actorOf(userId: string | null, username: string | null, displayName: string | null): ConsentActor | null {
  if (userId === null) return null;
  return { userId, username: username ?? '', displayName: displayName ?? username ?? '' };
}

/**
 * Record a consent of an active person, with the account that records it. A person has
 * at most one active consent per purpose, so granting again while one is active is
 * refused with a Chinese message.
 */
export async function grantConsent(ctx: AppContext, personId: string, input: GrantConsentInput, actor: ConsentActor | null): Promise<ConsentView> {
  const person = await store.findPersonById(ctx.db, personId);
  if (!person || !person.active) throw new AppError('NOT_FOUND', { what: '人员', value: personId });
  let guardianId: string | null = null;
  if (input.givenBy === 'guardian') {
    const guardians = await store.listGuardiansOfPersons(ctx.db, [personId]);
    if (!input.guardianId) throw new AppError('VALIDATION', { detail: '由监护人授权时请选择是哪位监护人（字段 guardianId）' });
    if (!guardians.some((g) => g.id === input.guardianId)) {
      throw new AppError('VALIDATION', { detail: `监护人 ${input.guardianId} 不是 ${person.name} 的监护人，请从该学生的监护人中选择` });
    }
    guardianId = input.guardianId;
  }

  const note = input.note?.trim() || null;
  const row: store.ConsentRow = {
    id: newId(ctx.now()),
    person_id: personId,
    purpose: input.purpose,
    given_by: input.givenBy,
    guardian_id: guardianId,
    given_at: ctx.now(),
    revoked_at: null,
    note,
    ...store.recordedByColumns(actor),
    ...store.revokedByColumns(null),
  };
  await ctx.db.transaction().execute(async (trx) => {
    if (await store.hasConsent(trx, personId, input.purpose)) {
      throw new AppError('CONFLICT', { detail: `${person.name} 已有有效的${CONSENT_PURPOSE_LABELS[input.purpose]}授权，无需重复登记` });
    }
    await store.insertConsent(trx, row);
  });
  return (await listPersonConsents(ctx, personId)).find((c) => c.id === row.id)!;
}

/**
 * Revoke a person's active consent for a purpose, recording the account that revokes it.
 * Raises CONFLICT when there is none to revoke.
 */
export async function revokePersonConsent(ctx: AppContext, personId: string, purpose: ConsentPurpose, actor: ConsentActor | null): Promise<{ revoked: number }> {
  const person = await store.findPersonById(ctx.db, personId);
  if (!person) throw new AppError('NOT_FOUND', { what: '人员', value: personId });
  const active = (await store.listConsents(ctx.db, personId)).filter((c) => c.purpose === purpose && c.revoked_at === null);
  if (active.length === 0) {
    throw new AppError('CONFLICT', { detail: `${person.name} 没有有效的${CONSENT_PURPOSE_LABELS[purpose]}授权，无需撤回` });
  }
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    for (const consent of active) await store.revokeConsent(trx, consent.id, now, actor);
  });
  return { revoked: active.length };
}
