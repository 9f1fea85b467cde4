import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/schema.js';
import type { Db, DialectName } from './db/connection.js';
import type { FieldCipher } from './shared/crypto.js';

/**
 * What every service needs, passed explicitly: settings, the database, the field cipher,
 * a logger and a clock. Tests build one with their own database and clock.
 */
export interface AppContext {
  config: Readonly<Config>;
  db: Kysely<Database>;
  dialect: DialectName;
  cipher: FieldCipher;
  log: Logger;
  /** Current instant in epoch milliseconds; tests replace it to walk through a day. */
  now: () => number;
  /**
   * The process's clock for heartbeats that other processes check for staleness. Code
   * that backdates `now` to record past events (the demo replay) keeps this clock, so a
   * live run never looks dead to a process on the real clock.
   */
  livenessNow: () => number;
}

export function createContext(options: {
  config: Readonly<Config>;
  database: Db;
  cipher: FieldCipher;
  log: Logger;
  now?: () => number;
  /** Defaults to `now`, so a test that moves its clock moves both. */
  livenessNow?: () => number;
}): AppContext {
  return {
    config: options.config,
    db: options.database.db,
    dialect: options.database.dialect,
    cipher: options.cipher,
    log: options.log,
    now: options.now ?? Date.now,
    livenessNow: options.livenessNow ?? options.now ?? Date.now,
  };
}
