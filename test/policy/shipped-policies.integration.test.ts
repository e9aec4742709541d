// The policies in policies/ and policies/examples/ are valid, the default needs no secret, and each has test cases that pass.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { missingSecrets } from '../../src/policy/cross-check.ts';
import { formatProblem, loadPolicyFile } from '../../src/policy/load.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const yamlIn = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f));
const POLICIES = [...yamlIn('policies'), ...yamlIn('policies/examples')];

describe('shipped policies', () => {
  it('include the starting policy and the provider examples', () => {
    expect(POLICIES).toEqual(expect.arrayContaining(['policies/policy.yaml', 'policies/examples/postgres.yaml', 'policies/examples/webhook.yaml', 'policies/examples/full-policy.yaml']));
  });

  it.each(POLICIES)('%s passes policy check', async (file) => {
    const loaded = await loadPolicyFile(join(ROOT, file));
    expect(loaded.ok ? [] : loaded.error.map(formatProblem)).toEqual([]);
  });

  it('policies/policy.yaml runs with no provider secret set', async () => {
    const loaded = await loadPolicyFile(join(ROOT, 'policies/policy.yaml'), { env: {} });
    expect(loaded.ok ? [] : loaded.error.map(formatProblem)).toEqual([]);
    expect(loaded.ok && missingSecrets(loaded.value.policy, {})).toEqual([]);
  });

  it('each have a test file in policies/tests/, as the README says', () => {
    const tested = readdirSync(join(ROOT, 'policies/tests'))
      .filter((f) => f.endsWith('.test.yaml'))
      .map((f) => /^policy: (\S+)$/m.exec(readFileSync(join(ROOT, 'policies/tests', f), 'utf8'))?.[1])
      .map((target) => target && join('policies/tests', target).replace(/^policies\/tests\/\.\.\//, 'policies/'));
    const needTests = POLICIES.filter((file) => file !== 'policies/playground.yaml');
    expect(needTests.filter((file) => !tested.includes(file))).toEqual([]);
  });

  it('pass their test files: `sesame policy test` over policies/tests/ exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'sesame.js'), 'policy', 'test'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } });
    expect(stdout).toMatch(/^[1-9]\d* passed, 0 failed$/m);
    expect(stdout).not.toContain('✗');
  }, 60_000);
});
