import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { AppContext } from '../../context.js';

/**
 * Denial snapshots on disk under `<dataDir>/snapshots/<schoolId>/<day>/<eventRowId>.jpg`.
 * The database keeps the path relative to dataDir; the retention job deletes the file
 * and clears the path after the school's retention period.
 */

export function snapshotPathFor(schoolId: string, day: string, gateEventId: string): string {
  return join('snapshots', schoolId, day, `${gateEventId}.jpg`);
}

function absolutePath(ctx: AppContext, relativePath: string): string {
  const root = resolve(ctx.config.dataDir);
  const full = resolve(root, relativePath);
  if (!full.startsWith(root + sep)) throw new Error(`snapshot path "${relativePath}" leaves the data directory`);
  return full;
}

export async function writeSnapshot(ctx: AppContext, relativePath: string, image: Buffer): Promise<void> {
  const full = absolutePath(ctx, relativePath);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, image, { mode: 0o600 });
}

/** Delete a snapshot file; a file already gone counts as deleted. */
export async function deleteSnapshot(ctx: AppContext, relativePath: string): Promise<void> {
  await rm(absolutePath(ctx, relativePath), { force: true });
}

/** Resolve a stored snapshot path to its file, for tests and for serving it to an authorised user. */
export function snapshotFile(ctx: AppContext, relativePath: string): string {
  return absolutePath(ctx, relativePath);
}
