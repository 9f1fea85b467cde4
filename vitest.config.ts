import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // expect.poll gives up after one second by default; browser pages on a loaded
    // two-core machine can take several.
    expect: { poll: { timeout: 15_000 } },
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores here: more workers only contend for them.
    maxWorkers: 2,
  },
});
