// `sesame policy test`: cases from *.test.yaml files against a policy, with exact output and exit codes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policyTest } from '../../src/cli/policy-test.ts';
import { captureIo } from '../support/capture-io.ts';
import { EXAMPLE_POLICY_PATH, examplePolicyText } from '../support/policy-fixtures.ts';

const NOW = new Date('2026-11-23T10:00:00Z');

describe('sesame policy test', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sesame-policy-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const run = async (args: string[], defaultPolicy = EXAMPLE_POLICY_PATH) => {
    const captured = captureIo();
    const code = await policyTest(args, captured.io, defaultPolicy, NOW);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('prints a tick per passing case and exactly "N passed, M failed", exiting 0', async () => {
    const file = write('ok.test.yaml', [
      'groups: { oncall: [U0ALICE], engineering: [U0ALICE] }',
      'cases:',
      '  - name: engineers read staging at once',
      '    request: { user: U0BOB, resource: staging-db, role: read, duration: 1h, reason: "INC-1 check", at: "2026-11-23T10:00:00Z" }',
      '    expect: { decision: auto-approve, tier: low }',
      '  - name: break-glass from an incident channel is capped',
      '    request: { user: U0ALICE, resource: prod-db, role: write, duration: 3h, reason: "INC-9 down", breakglass: true, channel: inc-9 }',
      '    expect: { decision: auto-approve, duration: 1h }',
      '  - name: strangers are refused',
      '    request: { user: U0EVE, resource: prod-db, role: read }',
      '    expect: { decision: refuse, error: not_eligible }',
    ].join('\n'));
    const out = await run([file, '--policy', EXAMPLE_POLICY_PATH]);
    expect(out.stdout).toBe('✓ engineers read staging at once\n✓ break-glass from an incident channel is capped\n✓ strangers are refused\n3 passed, 0 failed\n');
    expect(out.code).toBe(0);
  });

  it('says what was expected, what came, and where the deciding rule is, exiting 1', async () => {
    const file = write('fail.test.yaml', [
      'cases:',
      '  - name: leads write prod at once',
      '    request: { user: U0LEAD1, resource: prod-db, role: write, duration: 3h }',
      '    expect: { decision: auto-approve, tier: high }',
      '  - name: the sandbox needs two leads',
      '    request: { user: U0LEAD1, resource: sandbox }',
      '    expect: { decision: needs-approval, duration: 2h, steps: [{ from: sre-leads, count: 2 }] }',
    ].join('\n'));
    const out = await run([file]);
    const lineOf = (text: string) => examplePolicyText().split('\n').findIndex((l) => l.includes(text)) + 1;
    const rule = (text: string) => `\\(rule ${EXAMPLE_POLICY_PATH}:${lineOf(text)}:\\d+\\)$`;
    const [first, second, summary] = out.stdout.split('\n');
    expect(first).toMatch(new RegExp(`^✗ leads write prod at once: expected decision auto-approve, got refuse ${rule('eligible: [engineering]')}`));
    expect(second).toMatch(new RegExp(`^✗ the sandbox needs two leads: expected decision needs-approval, got auto-approve; expected steps 2 from sre-leads, got none ${rule('auto_approve: always')}`));
    expect(summary).toBe('0 passed, 2 failed');
    expect(out.code).toBe(1);
  });

  it('reports a malformed test file as FILE:LINE:COL message and exits 2, still running the other files', async () => {
    const bad = write('a-bad.test.yaml', [
      'cases:',
      '  - name: typo',
      '    request: { user: U0BOB, resource: sandbox, duraton: 1h }',
      '    expect: { decision: approve }',
    ].join('\n'));
    write('b-good.test.yaml', 'cases:\n  - name: sandbox\n    request: { user: U0BOB, resource: sandbox }\n    expect: { decision: auto-approve }\n');
    const out = await run([dir]);
    expect(out.stderr.split('\n').filter(Boolean)).toEqual([
      `${bad}:3:48 cases[0].request.duraton: unknown key; did you mean \`duration\`? (unknown keys are refused so a typo cannot weaken the policy)`,
      `${bad}:4:25 cases[0].expect.decision: must be auto-approve, needs-approval or refuse`,
    ]);
    expect(out.stdout).toBe('✓ sandbox\n1 passed, 0 failed\n');
    expect(out.code).toBe(2);
  });

  it('reports YAML syntax and an expectation that says nothing as malformed', async () => {
    const syntax = write('syntax.test.yaml', 'cases:\n  - name: x\n    request: { user: U0BOB, resource: sandbox\n    expect: { decision: refuse }\n');
    const empty = write('empty.test.yaml', 'cases:\n  - name: x\n    request: { user: U0BOB, resource: sandbox }\n    expect: {}\n');
    expect((await run([syntax])).stderr).toMatch(new RegExp(`^${syntax}:3:14 YAML syntax: `));
    const out = await run([empty]);
    expect(out.stderr).toBe(`${empty}:4:13 cases[0].expect: say what you expect: decision, tier, error, duration or steps\n`);
    expect(out.code).toBe(2);
  });

  it('requires a user and a resource in every request', async () => {
    const file = write('missing.test.yaml', 'cases:\n  - name: x\n    request: { resource: sandbox }\n    expect: { decision: refuse }\n  - name: y\n    request: { user: U0BOB }\n    expect: { decision: refuse }\n');
    const out = await run([file]);
    expect(out.stderr).toBe(`${file}:3:14 cases[0].request.user: is required\n${file}:6:14 cases[1].request.resource: is required\n`);
    expect(out.code).toBe(2);
  });

  it('refuses test groups the policy does not have or lists itself', async () => {
    const file = write('groups.test.yaml', 'groups: { oncal: [U0A], security: [U0B] }\ncases:\n  - name: x\n    request: { user: U0BOB, resource: sandbox }\n    expect: { decision: auto-approve }\n');
    const out = await run([file]);
    expect(out.stderr).toContain(`${file}:1:18 groups.oncal: the policy (${EXAMPLE_POLICY_PATH}) has no group "oncal"`);
    expect(out.stderr).toContain(`${file}:1:35 groups.security: "security" lists its users in the policy; a test can only fill groups backed by a Slack user group`);
    expect(out.code).toBe(2);
  });

  it("uses the file's own policy: key, relative to the file, before --policy", async () => {
    mkdirSync(join(dir, 'tests'));
    write('mine.yaml', examplePolicyText().replace('max_duration: 8h', 'max_duration: 10h'));
    const file = write('tests/own.test.yaml', 'policy: ../mine.yaml\ncases:\n  - name: nine hours\n    request: { user: U0BOB, resource: sandbox, duration: 9h }\n    expect: { decision: auto-approve }\n');
    expect((await run([file, '--policy', EXAMPLE_POLICY_PATH])).stdout).toBe('✓ nine hours\n1 passed, 0 failed\n');
    const without = write('tests/default.test.yaml', 'cases:\n  - name: nine hours\n    request: { user: U0BOB, resource: sandbox, duration: 9h }\n    expect: { decision: refuse, error: duration_too_long }\n');
    expect((await run([without])).code).toBe(0);
  });

  it('exits 1 without running cases when the policy under test is invalid', async () => {
    const policy = write('broken.yaml', 'version: 1\n');
    const file = write('x.test.yaml', `policy: broken.yaml\ncases:\n  - name: x\n    request: { user: U0BOB, resource: sandbox }\n    expect: { decision: auto-approve }\n`);
    const out = await run([file]);
    expect(out.stderr).toContain(`${policy}:1:1`);
    expect(out.stderr).toContain(`${file}: not run, because the policy ${policy} is not valid (see above).`);
    expect(out.stdout).toBe('0 passed, 0 failed\n');
    expect(out.code).toBe(1);
  });

  it('decides a case without `at` at the time it runs', async () => {
    const file = write('now.test.yaml', [
      'groups: { oncall: [U0ALICE], engineering: [U0ALICE] }',
      'cases:',
      '  - name: on-call reads prod at once in business hours',
      '    request: { user: U0ALICE, resource: prod-db, role: read, duration: 1h, reason: "INC-1 check" }',
      '    expect: { decision: auto-approve }',
    ].join('\n'));
    expect((await run([file])).code).toBe(0);
    const captured = captureIo();
    expect(await policyTest([file], captured.io, EXAMPLE_POLICY_PATH, new Date('2026-11-28T10:00:00Z'))).toBe(1);
    expect(captured.stdout()).toMatch(/^✗ on-call reads prod at once in business hours: expected decision auto-approve, got needs-approval /);
  });

  it('exits 2 when a path does not exist', async () => {
    const out = await run([join(dir, 'nope')]);
    expect(out.stderr).toMatch(/nope does not exist; give a \*\.test\.yaml file or a folder of them/);
    expect(out.code).toBe(2);
  });
});
