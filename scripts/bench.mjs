#!/usr/bin/env node
// Runs the benchmarks under bench/ one after another (they share two cores, so never in
// parallel): `npm run bench` runs all, `npm run bench -- sync gate` runs the named ones.
// Each benchmark prints its figures; docs/benchmarks.md records them with the machine.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const wanted = process.argv.slice(2);
const all = readdirSync('bench')
  .filter((name) => name.endsWith('.ts') && !name.startsWith('_'))
  .map((name) => name.replace(/\.ts$/, ''))
  .sort();
const selected = wanted.length > 0 ? all.filter((name) => wanted.includes(name)) : all;

const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of selected) {
  console.log(`\n=== bench/${name}.ts ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    failed += 1;
    console.error(`bench/${name}.ts exited with ${result.status}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
