// The PostgreSQL pass (`npm run test:postgres`): the test files whose store comes from SESAME_TEST_STORE, run on PostgreSQL.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * Files that build their store through the switch: test/support's harnesses, testStoreFactory, the whole app through
 * startE2E (which sets DATABASE_URL here), or a real `sesame` child process on processDatabase (likewise DATABASE_URL
 * here, DATABASE_PATH in `npm test`). The rest either never touch a store, already run on both stores in `npm test`
 * (store-contract, pg-*), or are about SQLite itself; running them again would only repeat that pass.
 */
const SWITCHED = /(?<![\w.])(accessHarness|useFreshHarness|keeperHarness|testStoreFactory|startE2E|processDatabase)\b/;

function switchedTestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'support' ? [] : switchedTestFiles(path);
    return entry.name.endsWith('.test.ts') && SWITCHED.test(readFileSync(path, 'utf8')) ? [path] : [];
  });
}

// Spread, not mergeConfig: that would append to the base's `include` (every test) instead of replacing it.
export default defineConfig({
  ...base,
  // Three files at once: this pass has few process tests, and ran in 143-172 s instead of 220-239 s with two.
  test: { ...base.test, maxWorkers: 3, include: switchedTestFiles('test'), env: { ...base.test?.env, SESAME_TEST_STORE: 'postgres' } },
});
