import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Modules depend one way: people <- healthcode <- gate <- checks, and venues, visitors and
 * reports build on them. A module lower in that order reaches the ones above it only
 * through registries it owns (the gate's hold and presence providers).
 */
const MODULES_DIR = join(import.meta.dirname, '../../src/modules');
const FORBIDDEN: Record<string, string[]> = {
  people: ['healthcode', 'gate', 'checks', 'venues', 'visitors', 'reports'],
  healthcode: ['gate', 'checks', 'venues', 'visitors', 'reports'],
  gate: ['checks', 'venues', 'visitors', 'reports'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('module dependencies', () => {
  it.each(Object.entries(FORBIDDEN))('%s imports none of the modules built on it', (module, forbidden) => {
    const offending: string[] = [];
    for (const file of sourceFiles(join(MODULES_DIR, module))) {
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '\.\.\/([a-z-]+)\//g)) {
        if (forbidden.includes(target)) offending.push(`${file.slice(MODULES_DIR.length + 1)} imports ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
