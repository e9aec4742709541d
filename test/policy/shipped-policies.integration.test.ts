// The policies in policies/ and policies/examples/ are valid, the default needs no secret, and each has test cases that pass.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { missingSecrets } from '../../src/policy/cross-check.ts';
import { formatProblem, loadPolicyFile } from '../../src/policy/load.ts';
import { sesame } from '../support/run-cli.ts';

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

  it('each ship with a test file in policies/tests/ that names it', () => {
    const tested = readdirSync(join(ROOT, 'policies/tests'))
      .filter((f) => f.endsWith('.test.yaml'))
      .map((f) => (parse(readFileSync(join(ROOT, 'policies/tests', f), 'utf8')) as { policy?: string }).policy)
      // Without its own `policy:`, a file tests the default policy (POLICY_PATH unset).
      .map((own) => (own === undefined ? 'policies/policy.yaml' : join('policies/tests', own)));
    expect(POLICIES.filter((file) => !tested.includes(file))).toEqual([]);
  });

  it('pass their test files: `sesame policy test` over policies/tests/ exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'sesame.js'), 'policy', 'test'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } });
    expect(stdout).toMatch(/^[1-9]\d* passed, 0 failed$/m);
    expect(stdout).not.toContain('✗');
  }, 60_000);
});

type Workflow = { on: { pull_request?: unknown }; jobs: Record<string, { steps: { run?: string }[] }> };

describe('the CI job for policy pull requests', () => {
  it.each(['README.md', 'docs/policy-as-code.md'])('%s shows a GitHub Actions job running policy check, test and diff, as commands that work', async (page) => {
    const blocks = [...readFileSync(join(ROOT, page), 'utf8').matchAll(/```yaml\n(# \.github\/workflows\/[^`]*)```/g)].map((m) => parse(m[1] ?? '') as Workflow);
    expect(blocks).toHaveLength(1);
    const [workflow] = blocks as [Workflow];
    expect(workflow.on.pull_request).toBeDefined();
    const commands = Object.values(workflow.jobs)
      .flatMap((job) => job.steps.map((step) => step.run ?? ''))
      .flatMap((run) => run.split('\n').map((l) => l.trim()))
      .filter((l) => l.startsWith('npx sesame policy'));
    expect(commands.map((c) => c.split(' ')[3])).toEqual(['check', 'test', 'diff']);
    for (const command of commands) {
      // Run here as CI would, with the base branch's policy stood in by the current one and no redirection.
      const args = (command.split(/ >>? /)[0] as string).split(/\s+/).slice(2).map((a) => (a.startsWith('/tmp/') ? 'policies/policy.yaml' : a));
      const out = await sesame(args);
      expect({ command, code: out.code, stderr: out.stderr }).toEqual({ command, code: 0, stderr: '' });
    }
  }, 60_000);
});
