#!/usr/bin/env node
// Runs the CLI from the TypeScript sources through tsx when they are present (a checkout),
// so the command never runs a stale build; an installed package without src/ runs dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/main.ts');

if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import(pathToFileURL(source).href);
  await runCli(process.argv.slice(2));
} else {
  const { runCli } = await import(pathToFileURL(join(root, 'dist/src/main.js')).href);
  await runCli(process.argv.slice(2));
}
