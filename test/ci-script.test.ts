// What CI runs (.ci/run): Debian's Chromium installed with apt-get when missing, then `npm test` (browser tests included) and the PostgreSQL pass.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import config from '../vitest.config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const script = readFileSync(`${ROOT}/.ci/run`, 'utf8');

describe('.ci/run', () => {
  it("installs Debian's chromium with apt-get when /usr/bin/chromium is missing, never a downloaded browser", () => {
    const ensure = /^ensure_chromium\(\) \{\n([^]*?)^\}/m.exec(script)?.[1] ?? '';
    expect(ensure).toMatch(/if \[ -x \/usr\/bin\/chromium \]; then return 0; fi/);
    expect(ensure).toMatch(/apt-get install -y chromium\b/);
    const commands = script.split('\n').filter((l) => !l.trim().startsWith('#'));
    expect(commands.filter((l) => /playwright install/.test(l))).toEqual([]);
  });

  it('makes sure of Chromium before it runs npm test', () => {
    const calls = script.split('\n').map((l) => l.trim());
    const ensured = calls.indexOf('ensure_chromium');
    expect(ensured).toBeGreaterThan(-1);
    expect(calls.findIndex((l) => l.startsWith('npm test'))).toBeGreaterThan(ensured);
  });

  it('runs the browser tests as part of npm test', () => {
    const { scripts } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.test).toMatch(/\bvitest run$/);
    const include = config.test?.include ?? [];
    expect(include).toContain('test/**/*.test.ts');
    expect(config.test?.exclude ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/playground|browser|e2e/)]));
  });

  it('runs the PostgreSQL pass after npm test and counts both in its last line', () => {
    const calls = script.split('\n').map((l) => l.trim());
    const pgPass = calls.findIndex((l) => l.startsWith('npm run test:postgres'));
    expect(pgPass).toBeGreaterThan(calls.findIndex((l) => l.startsWith('npm test')));
    const { scripts } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['test:postgres']).toMatch(/SESAME_TEST_STORE=postgres vitest run --config vitest\.postgres\.config\.ts$/);
    expect(script).toMatch(/"\$report" "\$pg_report"\n/);
  });

  it('gives both passes the retried-test reporter, retries only on CI, and names retried tests before its summary', () => {
    const calls = script.split('\n').map((l) => l.trim());
    for (const pass of ['npm test', 'npm run test:postgres']) expect(calls.find((l) => l.startsWith(pass))).toContain('"${reporters[@]}"');
    expect(script).toContain('--reporter=./test/support/retried-reporter.ts');
    expect(config.test?.retry).toBe(process.env.CI ? 1 : 0);
    const named = calls.findIndex((l) => l.includes('cat "$SESAME_RETRIED_FILE"'));
    expect(named).toBeGreaterThan(calls.findIndex((l) => l.startsWith('npm run test:postgres')));
    expect(named).toBeLessThan(calls.findIndex((l) => l.includes('console.log(`${passed} passed')));
  });
});
