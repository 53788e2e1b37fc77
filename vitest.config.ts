import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Forked test workers behave like production parents (real child processes, signals, titles).
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    retry: 0,
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
  },
});
