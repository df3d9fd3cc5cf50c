import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers bind loopback ports; files run in parallel processes but each picks free ports.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
