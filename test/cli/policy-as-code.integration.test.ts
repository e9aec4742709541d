// `sesame policy diff` and `sesame policy replay` as users run them: the real process, wired into the command.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, sqliteAccessHarness, type SqliteHarness } from '../support/access-harness.ts';
import { EXAMPLE_POLICY_PATH, examplePolicyText } from '../support/policy-fixtures.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function sesame(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'sesame.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sesame policy diff and replay, end to end', () => {
  let h: SqliteHarness;
  beforeAll(async () => {
    h = await sqliteAccessHarness();
    await h.service.request({ requester: PEOPLE.engineer, resource: 'staging-db', role: 'read', duration: 3_600_000, reason: 'look' });
    h.temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  });
  afterAll(() => h.cleanup());

  it('diffs the full example against the starting policy as markdown', async () => {
    const out = await sesame(['policy', 'diff', EXAMPLE_POLICY_PATH, 'policies/policy.yaml', '--format', 'markdown']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('| `staging-db/read` | who may request | everyone | — |');
  }, 60_000);

  it('replays the database named by DATABASE_PATH', async () => {
    const out = await sesame(['policy', 'replay', 'policies/policy.yaml', '--since', '2026-11-01T00:00:00Z', '--until', '2026-12-01T00:00:00Z', '--fail-on-change'], { DATABASE_PATH: h.temp.path });
    // staging-db is not in the starting policy, so the one request would now be refused.
    expect(out.stdout).toMatch(/^R1 +2026-11-23T09:00:00Z +U0ENG1 +staging-db +read +auto-approve \(low\) +refuse: unknown_resource$/m);
    expect(out.stdout).toContain('1 request replayed: 0 unchanged, 0 now need approval, 1 now refused, 0 now auto-approved');
    expect(out.code).toBe(1);
  }, 60_000);
});

describe('sesame policy test, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-policy-test-e2e-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tests a file without its own policy: against --policy, else POLICY_PATH, else the default policy', async () => {
    const longer = join(dir, 'longer.yaml');
    writeFileSync(longer, examplePolicyText().replace('max_duration: 8h', 'max_duration: 12h'));
    const tests = join(dir, 'sandbox.test.yaml');
    writeFileSync(tests, 'cases:\n  - name: ten hours of sandbox\n    request: { user: U0BOB, resource: sandbox, duration: 10h }\n    expect: { decision: auto-approve }\n');
    expect(await sesame(['policy', 'test', tests], { POLICY_PATH: longer })).toEqual({ code: 0, stdout: '✓ ten hours of sandbox\n1 passed, 0 failed\n', stderr: '' });
    const flagWins = await sesame(['policy', 'test', tests, '--policy', EXAMPLE_POLICY_PATH], { POLICY_PATH: longer });
    expect(flagWins.stdout).toContain(`got refuse (rule ${EXAMPLE_POLICY_PATH}:`);
    expect(flagWins.code).toBe(1);
    const byDefault = await sesame(['policy', 'test', tests]);
    expect(byDefault.stdout).toMatch(/^✗ ten hours of sandbox: expected decision auto-approve, got refuse \(rule \S*policies\/policy\.yaml:\d+:\d+\)$/m);
    expect(byDefault.code).toBe(1);
  }, 60_000);
});
