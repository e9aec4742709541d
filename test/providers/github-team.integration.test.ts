// The github_team provider through @octokit/rest against the GitHub stand-in: roles kept and restored, rate limits waited out, refusals explained.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { githubTeamProvider, rateLimitWaitMs } from '../../src/providers/github-team.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { keeperHarness } from '../support/keeper-harness.ts';
import { GithubStandIn } from '../support/stand-ins/github.ts';

const TOKEN = 'ghp_test_token';

describe('github_team provider', () => {
  const github = new GithubStandIn(TOKEN);
  beforeAll(() => github.start());
  afterAll(() => github.stop());
  beforeEach(() => {
    github.teams.set('acme/ops', new Map([['lead', 'maintainer'], ['dev', 'member']]));
    for (const login of ['lead', 'dev', 'alice-gh', 'bob']) github.orgMembers.add(login);
    github.requests.length = 0;
  });

  const configOf = (role: 'member' | 'maintainer', overrides: Record<string, unknown> = {}) =>
    githubTeamProvider.schema.parse({ type: 'github_team', org: 'acme', team: 'ops', role, token_env: 'GH_TOKEN', base_url: github.baseUrl, ...overrides });
  const providerOf = (role: 'member' | 'maintainer' = 'member', env: Record<string, string> = { GH_TOKEN: TOKEN }, overrides: Record<string, unknown> = {}) =>
    githubTeamProvider.create(configOf(role, overrides), { env, usergroups: noUsergroups });
  const subjectFor = (login: string): GrantSubject => aSubject({ identity: login });
  const granted = async (provider: ReturnType<typeof providerOf>, login: string) => {
    const subject = subjectFor(login);
    const { state } = await provider.grant(subject);
    return { ...subject, providerState: state ?? null };
  };

  it('adds a login as the configured role and removes it at the end', async () => {
    const provider = providerOf('maintainer');
    const subject = await granted(provider, 'alice-gh');
    expect(github.role('acme/ops', 'alice-gh')).toBe('maintainer');
    expect(await provider.check?.(subject)).toBe('present');
    await provider.revoke(subject);
    expect(github.role('acme/ops', 'alice-gh')).toBeUndefined();
  });

  it('leaves a standing member alone, and puts a standing member back to member after a maintainer grant', async () => {
    const member = providerOf('member');
    const standing = await granted(member, 'dev');
    expect(standing.providerState).toEqual({ before: 'member' });
    await member.revoke(standing);
    expect(github.role('acme/ops', 'dev')).toBe('member');
    expect(await member.check?.(standing)).toBe('absent'); // the membership is not the grant's

    const maintainer = providerOf('maintainer');
    const upgraded = await granted(maintainer, 'dev');
    expect(github.role('acme/ops', 'dev')).toBe('maintainer');
    await maintainer.revoke(upgraded);
    expect(github.role('acme/ops', 'dev')).toBe('member');
    const keptLead = await granted(member, 'lead');
    await member.revoke(keptLead);
    expect(github.role('acme/ops', 'lead')).toBe('maintainer');
  });

  it("waits out a secondary rate limit's retry-after before trying again", async () => {
    github.failNext({ status: 429, headers: { 'retry-after': '1' }, message: 'You have exceeded a secondary rate limit' });
    await granted(providerOf(), 'bob');
    const [limited, retried] = github.requests;
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(github.role('acme/ops', 'bob')).toBe('member');
  });

  it('waits for x-ratelimit-reset when the primary rate limit is used up', async () => {
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    github.failNext({ status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, message: 'API rate limit exceeded' });
    await granted(providerOf(), 'bob');
    expect(github.requests.at(-1)?.at ?? 0).toBeGreaterThanOrEqual(Number(reset) * 1000 - 50);
    expect(github.role('acme/ops', 'bob')).toBe('member');
  });

  it('fails retryably, without waiting, when the rate limit resets too far ahead', async () => {
    github.failNext({ status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600) } });
    const failure = await providerOf().grant(subjectFor('bob')).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/^GitHub \(127\.0\.0\.1:\d+\) rate-limited Sesame while trying to read bob's membership of acme\/ops; it will try again later$/) });
  });

  it('reads the limits GitHub documents, and nothing else, as a rate limit', () => {
    const at = 1_000_000_000_000;
    expect(rateLimitWaitMs({ status: 429, headers: { 'retry-after': '30' }, message: '' }, at)).toBe(30_000);
    expect(rateLimitWaitMs({ status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(at / 1000 + 5) }, message: '' }, at)).toBe(5_000);
    expect(rateLimitWaitMs({ status: 403, headers: { 'x-ratelimit-remaining': '4999' }, message: 'Resource not accessible' }, at)).toBeNull();
    expect(rateLimitWaitMs({ status: 500, headers: { 'retry-after': '1' }, message: '' }, at)).toBeNull();
  });

  it('refuses a bad token and a missing permission permanently, saying what to fix', async () => {
    const bad = await providerOf('member', { GH_TOKEN: 'wrong' }).grant(subjectFor('bob')).catch((e: unknown) => e);
    expect(bad).toMatchObject({ retryable: false, message: expect.stringMatching(/^GitHub \(127\.0\.0\.1:\d+\) refused the token in GH_TOKEN when trying to read bob's membership of acme\/ops; replace it with a valid token and restart$/) });
    github.failNext({ status: 403, headers: { 'x-ratelimit-remaining': '4990' }, message: 'Resource not accessible by integration' });
    const forbidden = await providerOf().grant(subjectFor('bob')).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ retryable: false, message: expect.stringContaining('it needs the admin:org scope') });
    const unset = await providerOf('member', {}).grant(subjectFor('bob')).catch((e: unknown) => e);
    expect(unset).toMatchObject({ retryable: false, message: 'GH_TOKEN is not set, so the github_team provider for acme/ops cannot work; set it in Sesame\'s environment and restart' });
  });

  it('refuses someone outside the organization and withdraws the invitation GitHub sent', async () => {
    const failure = await providerOf().grant(subjectFor('stranger')).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: false, message: 'stranger is not a member of the GitHub organization acme, so Sesame cannot add them to acme/ops; check settings.identities or invite them first' });
    expect(github.invitations.has('stranger')).toBe(false);
  });

  it('counts two spellings of one login as one membership, ended by the last grant only', async () => {
    const provider = providerOf();
    const config = configOf('member', { identity: 'slack_id' });
    const h = await keeperHarness(provider, config, { resources: { a: config, b: config }, identities: { U0ALICE: { github: 'Alice-GH' }, U0ALICE2: { github: 'alice-gh' } } });
    try {
      const first = await h.granted('U0ALICE', 'a');
      const second = await h.granted('U0ALICE2', 'b');
      expect(second.accessKey).toBe(first.accessKey);
      await h.end(first);
      expect(github.role('acme/ops', 'alice-gh')).toBe('member');
      await h.end(second);
      expect(github.role('acme/ops', 'alice-gh')).toBeUndefined();
    } finally {
      await h.cleanup();
    }
  });
});
