// `sesame policy explain` asks Slack (the fake one, via SLACK_API_URL) for user-group membership when it has a token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.ts';
import { sesame } from '../support/run-cli.ts';

const POLICY = `version: 1
settings: { approvals_channel: C0APPROVALS }
groups:
  leads: { users: [U0LEAD1] }
  oncall: { slack_usergroup: S0ONCALL }
tiers:
  low: { auto_approve: { groups: [oncall] }, approvals: [{ from: leads, count: 1 }], max_duration: 8h }
resources:
  sandbox: { tier: low, roles: [admin], provider: { type: noop } }
`;

describe('sesame policy explain with Slack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-explain-'));
  const slack = new FakeSlack();
  let env: Record<string, string>;
  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ONCALL', ['U0ONCALL1']);
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    env = { SLACK_BOT_TOKEN: 'xoxb-explain', SLACK_API_URL: slack.apiUrl, POLICY_PATH: join(dir, 'policy.yaml') };
  });
  afterAll(async () => {
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const explain = (extra: string[] = [], environment = env) => sesame(['policy', 'explain', '--user', 'U0ONCALL1', '--resource', 'sandbox', ...extra], environment);

  it('looks up user groups in Slack when SLACK_BOT_TOKEN is set', async () => {
    const out = await explain();
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toContain('decision: auto-approve');
    expect(out.stdout).toMatch(/^groups: {3}oncall \(as of /m);
    expect(out.stdout).not.toContain('not looked up');
    expect(slack.callsTo('usergroups.users.list')).toContainEqual(expect.objectContaining({ usergroup: 'S0ONCALL' }));
  });

  it('skips Slack with --no-slack, and says so', async () => {
    const before = slack.calls.length;
    const out = await explain(['--no-slack']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('decision: needs approval');
    expect(out.stdout).toContain('note:     Slack user groups were not looked up (oncall); drop --no-slack to include them.');
    expect(slack.calls.length).toBe(before);
  });

  it('without a token, says how to include Slack user groups', async () => {
    const out = await explain([], { POLICY_PATH: env.POLICY_PATH ?? '' });
    expect(out.stdout).toContain('Slack user groups were not looked up (oncall); set SLACK_BOT_TOKEN to include them.');
  });

  it('stops with one sentence when Slack refuses the token, rather than reading it as "in no group"', async () => {
    slack.failNext('auth.test', { error: 'invalid_auth' });
    const out = await explain();
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^Could not ask Slack for user groups and channels \(.*invalid_auth.*\); check SLACK_BOT_TOKEN and SLACK_API_URL, or pass --no-slack\.\n$/);
  });
});
