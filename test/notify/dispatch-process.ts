/**
 * A dispatcher in its own process for the crash test: reads FANGKONG_* settings from the
 * environment (database, DingTalk endpoints), runs the dispatch loop and prints "ready".
 * SIGTERM stops it cleanly; the test kills it with SIGKILL to simulate a crash.
 *
 *   node --import tsx test/notify/dispatch-process.ts
 */
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { openDb } from '../../src/db/connection.js';
import { createDingTalkClient } from '../../src/modules/notify/dingtalk-client.js';
import { startDispatcherLoop } from '../../src/modules/notify/dispatcher.js';
import { createFieldCipher } from '../../src/shared/crypto.js';
import { createLogger } from '../../src/shared/logger.js';

const config = loadConfig(process.env);
const database = openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
const ctx = createContext({
  config,
  database,
  // The dispatcher decrypts nothing; any 32-byte key will do.
  cipher: createFieldCipher(Buffer.alloc(32, 7)),
  log: createLogger(process.env.FANGKONG_TEST_LOG ?? 'silent'),
});
const client = createDingTalkClient(config.dingtalk, ctx.log, { timeoutMs: 30_000 });
const stop = startDispatcherLoop(ctx, client, {
  leaseMs: Number(process.env.DISPATCH_LEASE_MS ?? 60_000),
  confirmDelayMs: Number(process.env.DISPATCH_CONFIRM_DELAY_MS ?? 3_000),
  concurrency: 4,
});
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void stop()
    .then(() => database.close())
    .then(() => process.exit(0));
});
