import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { FieldCipher } from './crypto.js';

const KEY_CHECK_NAME = 'master_key_check';

/** The master key in use does not belong to this database's encrypted data. */
export class MasterKeyMismatchError extends Error {
  constructor() {
    super(
      '密钥与数据库不匹配：当前的 FANGKONG_SECRET_KEY（或数据目录中的 secret.key）不是加密这些数据时所用的密钥。' +
        '请恢复原来的密钥后再启动；用错误的密钥继续运行会导致已存储的身份证号无法解密、导入时重复建档。',
    );
    this.name = 'MasterKeyMismatchError';
  }
}

/**
 * Check that the master key is the one this database was written with, by a keyed hash
 * of a fixed text stored on first use. Throws MasterKeyMismatchError on a mismatch, so a
 * wrong key stops start-up before it can write data nobody can decrypt.
 */
export async function verifyMasterKey(db: Kysely<Database>, cipher: FieldCipher, now: number): Promise<void> {
  const expected = cipher.hash('fangkong master key check');
  const stored = await db.selectFrom('app_meta').select('value').where('name', '=', KEY_CHECK_NAME).executeTakeFirst();
  if (stored) {
    if (stored.value !== expected) throw new MasterKeyMismatchError();
    return;
  }

  // A database written before the check existed: confirm the key on one sealed value.
  const sample = await db.selectFrom('persons').select('id_number_enc').where('id_number_enc', 'is not', null).limit(1).executeTakeFirst();
  if (sample?.id_number_enc) {
    try {
      cipher.decrypt(sample.id_number_enc);
    } catch {
      throw new MasterKeyMismatchError();
    }
  }
  await db
    .insertInto('app_meta')
    .values({ name: KEY_CHECK_NAME, value: expected, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}
