// Identity mapping behind the whole app: /access over signed HTTP grants a GitHub team to the mapped login, or refuses with the missing mapping.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';
import { GithubStandIn } from '../support/stand-ins/github.ts';

const TOKEN = 'ghp_e2e_token';

describe('identity mapping, end to end', () => {
  let e: E2E;
  const github = new GithubStandIn(TOKEN);

  beforeAll(async () => {
    await github.start();
    github.teams.set('acme/ops', new Map());
    github.orgMembers.add('eng-one-gh');
    e = await startE2E(
      {
        settings: { identities: { [PEOPLE.engineer]: { github: 'eng-one-gh' } } },
        resources: {
          ...NOOP_PROVIDERS?.resources,
          'gh-ops': { tier: 'low', roles: ['member'], provider: { type: 'github_team', org: 'acme', team: 'ops', role: 'member', token_env: 'E2E_GH_TOKEN', base_url: github.baseUrl } },
        },
        tiers: { low: { auto_approve: 'always', max_duration: '8h' } },
      },
      { env: { E2E_GH_TOKEN: TOKEN } },
    );
  });
  afterAll(async () => {
    await e.stop();
    await github.stop();
  });

  const command = async (text: string, user: string) => {
    const sent = await e.signer.command(text, { user });
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };

  it('grants the GitHub login the policy maps the requester to, and takes it back at revoke', async () => {
    const reply = await command('request gh-ops member 1h on call this week', PEOPLE.engineer);
    const grantId = /`(G\d+)`/.exec(reply)?.[1] ?? '';
    expect(grantId).not.toBe('');
    expect(github.role('acme/ops', 'eng-one-gh')).toBe('member');
    await command(`revoke ${grantId}`, PEOPLE.engineer);
    expect(github.role('acme/ops', 'eng-one-gh')).toBeUndefined();
  });

  it('refuses someone it cannot map, naming the missing entry, before GitHub is asked anything', async () => {
    const before = github.requests.length;
    const reply = await command('request gh-ops member 1h on call this week', PEOPLE.engineer2);
    expect(reply).toContain(`Add settings.identities.${PEOPLE.engineer2}.github to the policy`);
    expect(github.requests.length).toBe(before);
    expect((await e.auditActions()).at(-1)).toBe('grant.failed');
  });
});

describe('identity mapping from settings.identities_file, end to end', () => {
  let e: E2E;
  const github = new GithubStandIn(TOKEN);
  const dir = mkdtempSync(join(tmpdir(), 'sesame-identities-e2e-'));

  beforeAll(async () => {
    await github.start();
    github.teams.set('acme/ops', new Map());
    github.orgMembers.add('eng-two-gh');
    const file = join(dir, 'identities.json');
    writeFileSync(file, JSON.stringify({ [PEOPLE.engineer2]: { github: 'eng-two-gh' } }));
    e = await startE2E(
      {
        settings: { identities_file: file },
        resources: {
          ...NOOP_PROVIDERS?.resources,
          'gh-ops': { tier: 'low', roles: ['member'], provider: { type: 'github_team', org: 'acme', team: 'ops', role: 'member', token_env: 'E2E_GH_TOKEN', base_url: github.baseUrl } },
        },
        tiers: { low: { auto_approve: 'always', max_duration: '8h' } },
      },
      { env: { E2E_GH_TOKEN: TOKEN } },
    );
  });
  afterAll(async () => {
    await e.stop();
    await github.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants the GitHub login the identities file maps the requester to', async () => {
    const sent = await e.signer.command('request gh-ops member 1h on call this week', { user: PEOPLE.engineer2 });
    const reply = String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'a reply to the request')).text);
    expect(reply).toMatch(/`G\d+`/);
    expect(github.role('acme/ops', 'eng-two-gh')).toBe('member');
  });
});
