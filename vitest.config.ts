import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Forked test workers behave like production parents (real child processes, signals, titles).
    pool: 'forks',
    // At least two test files at a time, also on 2 cores (vitest's default, cores - 1, ran them one
    // by one there): the tests mostly wait on child processes and timers, and assert no timings.
    // The whole suite took 416-420 s instead of 648 s on a 2-core machine (7 December).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    retry: 0,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
  },
});
