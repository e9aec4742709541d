// Test runner settings: every suite under test/, real services, generous bounds for a shared 2-core machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // On CI, a failed test runs once more: this shared machine's load makes rare timing flakes, and one of them would
    // refuse a whole change. test/support/retried-reporter.ts names each retried test, so a flake is seen and fixed;
    // `npm test` on a workstation never retries.
    retry: process.env.CI ? 1 : 0,
    // Two files at once even on a 2-core machine (the default would be one): the process tests mostly wait (for
    // grants to end, leases to pass), so a second file runs in that time. Three were a fifth faster, but a replica
    // of a process test then once missed its 10 s SIGTERM deadline; the PostgreSQL pass, with fewer of them, runs three.
    maxWorkers: 2,
    // Drops the PostgreSQL databases a file's store tests kept for reuse, when the file ends.
    setupFiles: ['test/support/pg-teardown.ts'],
  },
});
