import type { Logger } from 'pino';
import { loadConfig, type Config } from './config.js';
import { openDb, migrateToLatest, type Db } from './db/connection.js';
import { createContext, type AppContext } from './context.js';
import { ensureUsernameCaseIndex } from './modules/auth/service.js';
import { createFieldCipher, loadMasterKey } from './shared/crypto.js';
import { createLogger } from './shared/logger.js';
import { verifyMasterKey } from './shared/key-check.js';

export interface Runtime {
  ctx: AppContext;
  database: Db;
  close(): Promise<void>;
}

/** Open the database, bring its schema up to date and build the shared context. */
export async function openRuntime(options: { config?: Readonly<Config>; log?: Logger } = {}): Promise<Runtime> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? createLogger(config.logLevel);
  const database = openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log });
  await migrateToLatest(database.db);
  const cipher = createFieldCipher(loadMasterKey(config.secretKey, config.dataDir));
  try {
    await verifyMasterKey(database.db, cipher, Date.now());
  } catch (error) {
    await database.close();
    throw error;
  }
  const ctx = createContext({ config, database, cipher, log });
  await ensureUsernameCaseIndex(ctx);
  return { ctx, database, close: () => database.close() };
}
