// `sesame policy diff`: two policy files in, the change in access out, with exit codes for CI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { policyDiff } from '../../src/cli/policy-diff.ts';
import { captureIo } from '../support/capture-io.ts';
import { aPolicyInput, EXAMPLE_POLICY_PATH } from '../support/policy-fixtures.ts';

describe('sesame policy diff', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-policy-diff-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (args: string[]) => {
    const captured = captureIo();
    const code = await policyDiff(args, captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('prints the change in access between two files', async () => {
    const after = join(dir, 'after.yaml');
    writeFileSync(after, stringify(aPolicyInput({ tiers: { low: { max_duration: '12h' } } })));
    const out = await run([EXAMPLE_POLICY_PATH, after]);
    expect(out.stdout).toBe(['staging-db/read', '  max duration: 8h → 12h', 'staging-db/write', '  max duration: 8h → 12h', 'sandbox/admin', '  max duration: 8h → 12h', ''].join('\n'));
    expect(out.code).toBe(0);
    expect((await run([EXAMPLE_POLICY_PATH, after, '--format', 'markdown'])).stdout).toContain('| `sandbox/admin` | max duration | 8h | 12h |');
  });

  it('says so when nothing changes', async () => {
    expect((await run([EXAMPLE_POLICY_PATH, EXAMPLE_POLICY_PATH])).stdout).toBe('No change in access.\n');
  });

  it('exits 2 for a bad command line and 1 for an invalid policy, naming its problems', async () => {
    expect((await run([EXAMPLE_POLICY_PATH])).code).toBe(2);
    expect((await run([EXAMPLE_POLICY_PATH, EXAMPLE_POLICY_PATH, '--format', 'html'])).stderr).toMatch(/^--format must be text or markdown, not "html"\./);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 2\n');
    const out = await run([EXAMPLE_POLICY_PATH, broken]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${broken}:1:10 version: version must be 1`);
    expect(out.stderr).toContain(`${broken} is not a valid policy`);
  });
});
