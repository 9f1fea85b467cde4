import type { AppContext } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { getSchoolByCodeOrThrow } from '../people/service.js';
import * as store from './store.js';

/** Card numbers (campus, citizen, student cards) and the people they belong to. */

/** Find the person a card number belongs to at a school, if the card was assigned. */
export async function findPersonIdByCard(ctx: AppContext, schoolId: string, cardNumber: string): Promise<string | undefined> {
  return store.findCardPersonId(ctx.db, schoolId, ctx.cipher.hash(`card:${cardNumber}`));
}

export interface CardAssignment {
  schoolCode: string;
  cardNumber: string;
  /** One of: the person's id, student number or staff number. */
  personId?: string;
  studentNumber?: string;
  staffNumber?: string;
}

/**
 * Give a card number to a person of the school; a card already given to someone else
 * moves to the new person. Only a keyed hash and the last four characters are stored.
 */
export async function assignCard(ctx: AppContext, input: CardAssignment): Promise<{ personId: string; personName: string; cardMasked: string }> {
  const school = await getSchoolByCodeOrThrow(ctx, input.schoolCode);
  const cardNumber = input.cardNumber.trim();
  if (!/^[0-9A-Za-z]{1,64}$/.test(cardNumber)) throw new AppError('VALIDATION', { detail: `卡号“${cardNumber}”应为 1-64 位字母或数字` });

  const reference = input.personId ?? input.studentNumber ?? input.staffNumber;
  if (!reference) throw new AppError('VALIDATION', { detail: '请指定持卡人：人员 ID、学号或工号之一' });
  const person = input.personId
    ? await store.findGatePerson(ctx.db, input.personId)
    : await store.findGatePersonByNumber(ctx.db, school.id, reference);
  if (!person || person.school_id !== school.id) throw new AppError('NOT_FOUND', { what: '本校人员（按人员 ID、学号或工号查找）', value: reference });

  const cardMasked = `****${cardNumber.slice(-4)}`;
  await store.upsertCard(ctx.db, {
    id: newId(ctx.now()),
    school_id: school.id,
    card_hash: ctx.cipher.hash(`card:${cardNumber}`),
    card_masked: cardMasked,
    person_id: person.id,
    created_at: ctx.now(),
  });
  ctx.log.info({ schoolId: school.id, personId: person.id }, 'card assigned');
  return { personId: person.id, personName: person.name, cardMasked };
}
