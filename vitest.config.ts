// Test runner settings: every suite under test/, real services, generous bounds for a shared 2-core machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Three files at once on a 2-core machine (the default would be one): the process tests mostly wait (for grants
    // to end, leases to pass), and a full run kept the CPU less than half busy with two; three took a fifth off it,
    // which keeps CI inside its 20 minutes on a slower host.
    maxWorkers: 3,
    // Drops the PostgreSQL databases a file's store tests kept for reuse, when the file ends.
    setupFiles: ['test/support/pg-teardown.ts'],
  },
});
