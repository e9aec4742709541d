// Test runner settings: every suite under test/, real services, generous bounds for a shared 2-core machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Drops the PostgreSQL databases a file's store tests kept for reuse, when the file ends.
    setupFiles: ['test/support/pg-teardown.ts'],
  },
});
