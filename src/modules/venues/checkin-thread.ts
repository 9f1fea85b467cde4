import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from '../../db/connection.js';
import { createFieldCipher } from '../../shared/crypto.js';
import { CheckinGroupWriter } from './checkin-group.js';
import { packResult, type FromThread, type ThreadData, type ToThread } from './checkin-thread-protocol.js';

/**
 * Worker thread that writes check-in groups to a SQLite file (started by
 * checkin-writer.ts) over its own connection. Groups go to the group writer as they
 * arrive, and it decides and commits them in that order.
 */

const data = workerData as ThreadData;
const port = parentPort!;
const database = openDb({ databaseUrl: '', dataDir: dirname(data.file), sqliteFile: data.file, backgroundCheckpoint: false });
const writer = new CheckinGroupWriter(database.db, 'sqlite', createFieldCipher(Buffer.from(data.masterKey)));
const inFlight = new Set<Promise<void>>();

port.postMessage({ kind: 'ready' } satisfies FromThread);

port.on('message', (message: ToThread) => {
  switch (message.kind) {
    case 'write': {
      const written = write(message).finally(() => inFlight.delete(written));
      inFlight.add(written);
      return;
    }
    case 'forget':
      writer.forgetRecent();
      return;
    case 'close':
      void close();
      return;
  }
});

async function write(message: Extract<ToThread, { kind: 'write' }>): Promise<void> {
  let reply: FromThread;
  try {
    reply = { kind: 'written', seq: message.seq, result: packResult(await writer.write(message.group, message.windows, message.now)) };
  } catch (error) {
    const { message: text, code } = error as { message?: string; code?: string };
    reply = { kind: 'failed', seq: message.seq, message: String(text ?? error), code };
  }
  port.postMessage(reply);
}

async function close(): Promise<void> {
  await Promise.all(inFlight);
  await database.close();
  port.close();
}
