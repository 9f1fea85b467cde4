#!/usr/bin/env node
// Runs the compiled CLI when it exists (after `npm run build`), otherwise the TypeScript
// sources through tsx, so the command works both from a checkout and after a build.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/src/main.js');

if (existsSync(compiled)) {
  const { runCli } = await import(pathToFileURL(compiled).href);
  await runCli(process.argv.slice(2));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import(pathToFileURL(join(root, 'src/main.ts')).href);
  await runCli(process.argv.slice(2));
}
