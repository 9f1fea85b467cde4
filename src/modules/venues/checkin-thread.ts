import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from '../../db/connection.js';
import { createFieldCipher } from '../../shared/crypto.js';
import { CheckinGroupWriter } from './checkin-group.js';
import type { ThreadData, ToThread, FromThread } from './checkin-thread-protocol.js';

/**
 * Worker thread that writes check-in groups to a SQLite file (started by
 * checkin-writer.ts). It has its own connection to the file and handles one message at a
 * time, so groups are written in the order they were sent.
 */

const data = workerData as ThreadData;
const port = parentPort!;
const database = openDb({ databaseUrl: '', dataDir: dirname(data.file), sqliteFile: data.file, backgroundCheckpoint: false });
const writer = new CheckinGroupWriter(database.db, 'sqlite', createFieldCipher(Buffer.from(data.masterKey)));

port.postMessage({ kind: 'ready' } satisfies FromThread);

let queue = Promise.resolve();
port.on('message', (message: ToThread) => {
  queue = queue.then(() => handle(message));
});

async function handle(message: ToThread): Promise<void> {
  switch (message.kind) {
    case 'write': {
      let reply: FromThread;
      try {
        reply = { kind: 'written', seq: message.seq, result: await writer.write(message.group, message.windows, message.now) };
      } catch (error) {
        const { message: text, code } = error as { message?: string; code?: string };
        reply = { kind: 'failed', seq: message.seq, message: String(text ?? error), code };
      }
      port.postMessage(reply);
      return;
    }
    case 'forget':
      writer.forgetRecent();
      return;
    case 'close':
      await database.close();
      port.close();
      return;
  }
}
