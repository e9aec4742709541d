// The `github_team` provider: GitHub team membership for the window, keeping what people had before; GitHub Enterprise via base_url.
import type { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { identityAttributeSchema } from '../core/identity.ts';
import type { GrantSubject, Provider } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { envVarSchema } from '../policy/fields.ts';
import { githubTeamFindings } from './github-team-doctor.ts';
import { defineProvider, requireEnv } from './provider-module.ts';
import { loadOctokit } from './sdks.ts';

const slug = (what: string) => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, `must be a GitHub ${what} as it appears in URLs`);

const schema = z
  .object({
    type: z.literal('github_team'),
    org: slug('organization login'),
    team: slug('team slug'),
    role: z.enum(['member', 'maintainer']).default('member'),
    token_env: envVarSchema,
    /** GitHub Enterprise Server: `https://github.example.com/api/v3`. @defaultValue https://api.github.com */
    base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL like https://github.example.com/api/v3' }).optional(),
    /** How the GitHub login is found when settings.identities has none. @defaultValue username (the email's part before "@") */
    identity: identityAttributeSchema.default('username'),
  })
  .strict();
type Config = z.output<typeof schema>;

type TeamRole = 'member' | 'maintainer';
const RANK: Record<TeamRole | 'none', number> = { none: 0, member: 1, maintainer: 2 };

/** What a grant remembers: the person's team role before it, so the revoke restores exactly that. */
const stateSchema = z.object({ before: z.enum(['none', 'member', 'maintainer']) });
/** Without a record (a grant interrupted before it was stored) "was not a member" is the safe side: removal. */
const roleBefore = (subject: GrantSubject): TeamRole | 'none' => stateSchema.safeParse(subject.providerState).data?.before ?? 'none';

/** Rate-limit waits up to this long happen inside one attempt; longer ones fail retryably and the core tries later. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface GithubFailure {
  status: number;
  headers: Record<string, string | number | undefined>;
  message: string;
}

function failureOf(error: unknown): GithubFailure | null {
  if (typeof error !== 'object' || error === null || !('status' in error)) return null;
  const e = error as { status: unknown; response?: { headers?: Record<string, string | number | undefined> }; message?: string };
  return typeof e.status === 'number' ? { status: e.status, headers: e.response?.headers ?? {}, message: e.message ?? '' } : null;
}

/**
 * How long GitHub asks us to wait, or null when the answer is not a rate limit. A secondary limit sends
 * `retry-after` (seconds); the primary one sends `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch seconds).
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
 */
export function rateLimitWaitMs(failure: GithubFailure, nowMs: number): number | null {
  if (failure.status !== 403 && failure.status !== 429) return null;
  const retryAfter = Number(failure.headers['retry-after']);
  if (failure.headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return Math.max(0, retryAfter * 1000);
  if (String(failure.headers['x-ratelimit-remaining']) === '0') {
    const reset = Number(failure.headers['x-ratelimit-reset']);
    return Number.isFinite(reset) ? Math.max(0, reset * 1000 - nowMs) : 60_000;
  }
  return failure.status === 429 ? 60_000 : null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function createGithubTeamProvider(config: Config, env: Readonly<Record<string, string | undefined>>): Provider {
  const team = `${config.org}/${config.team}`;
  const host = new URL(config.base_url ?? 'https://api.github.com').host;
  let client: Octokit | undefined;
  const octokit = async (): Promise<Octokit> => {
    const Octokit = await loadOctokit();
    client ??= new Octokit({
      auth: requireEnv(env, config.token_env, `the github_team provider for ${team}`),
      ...(config.base_url ? { baseUrl: config.base_url.replace(/\/$/, '') } : {}),
      userAgent: 'sesame-jit-access',
      // Octokit's logger would print every 404 membership probe as a warning.
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    return client;
  };

  /** One API call, waiting out GitHub's rate limits (twice at most), with errors turned into sentences. */
  const call = async <T>(what: string, request: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
      } catch (cause) {
        if (cause instanceof ProviderError) throw cause;
        const failure = failureOf(cause);
        const waitMs = failure ? rateLimitWaitMs(failure, Date.now()) : null;
        if (waitMs !== null) {
          if (waitMs <= MAX_RATE_LIMIT_WAIT_MS && attempt <= 2) {
            await sleep(waitMs);
            continue;
          }
          throw new ProviderError(`GitHub (${host}) rate-limited Sesame while trying to ${what}; it will try again later`, true, { cause });
        }
        throw describeFailure(what, failure, cause);
      }
    }
  };

  const describeFailure = (what: string, failure: GithubFailure | null, cause: unknown): ProviderError => {
    const status = failure?.status;
    if (status === 401) return new ProviderError(`GitHub (${host}) refused the token in ${config.token_env} when trying to ${what}; replace it with a valid token and restart`, false, { cause });
    if (status === 403) {
      return new ProviderError(`the token in ${config.token_env} may not ${what} (GitHub answered 403); it needs the admin:org scope, or "Members: read and write" for a fine-grained token`, false, { cause });
    }
    if (status === 404) return new ProviderError(`GitHub (${host}) has no team ${team} the token can see; fix provider.org and provider.team, or the token's access`, false, { cause });
    if (status === 422) return new ProviderError(`GitHub (${host}) refused to ${what}: ${failure?.message ?? 'validation failed'}; check the login in settings.identities`, false, { cause });
    // 5xx, timeouts and network failures (which octokit reports as 500) may pass.
    return new ProviderError(`GitHub (${host}) did not ${what} (${status ?? 'no answer'}); Sesame will try again`, true, { cause });
  };

  /** The person's active role on the team; an invitation not yet accepted gives no access and counts as none. */
  const currentRole = async (login: string): Promise<TeamRole | 'none'> => {
    try {
      const { data } = await (await octokit()).rest.teams.getMembershipForUserInOrg({ org: config.org, team_slug: config.team, username: login, request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) } });
      return data.state === 'active' ? data.role : 'none';
    } catch (cause) {
      if (failureOf(cause)?.status === 404) return 'none';
      throw cause;
    }
  };
  const roleOf = (login: string) => call(`read ${login}'s membership of ${team}`, () => currentRole(login));

  const setRole = (login: string, role: TeamRole) =>
    call(`make ${login} a ${role} of ${team}`, async (signal) => {
      const { data } = await (await octokit()).rest.teams.addOrUpdateMembershipForUserInOrg({ org: config.org, team_slug: config.team, username: login, role, request: { signal } });
      return data.state;
    });

  const remove = (login: string) =>
    call(`remove ${login} from ${team}`, async (signal) => {
      try {
        await (await octokit()).rest.teams.removeMembershipForUserInOrg({ org: config.org, team_slug: config.team, username: login, request: { signal } });
      } catch (cause) {
        if (failureOf(cause)?.status !== 404) throw cause; // already gone
      }
    });

  const loginOf = (subject: Pick<GrantSubject, 'identity'>): string => {
    if (subject.identity === null) throw new ProviderError('the github_team provider was called without a GitHub login; this is a bug in Sesame', false);
    return subject.identity;
  };

  return {
    identity: { table: 'github', attribute: config.identity, provider: `the github_team provider (${team})` },
    // GitHub logins are case-insensitive: two spellings must count as one membership.
    accessKey: (subject) => `github_team:${host}:${team}:${loginOf(subject)}`.toLowerCase(),

    async grant(subject) {
      const login = loginOf(subject);
      const before = await roleOf(login);
      if (RANK[before] >= RANK[config.role]) return { state: { before } };
      const state = await setRole(login, config.role);
      if (state !== 'active') {
        // GitHub invited someone outside the organization; an invitation is not access, and not Sesame's to send.
        if (before === 'none') await remove(login);
        throw new ProviderError(`${login} is not a member of the GitHub organization ${config.org}, so Sesame cannot add them to ${team}; check settings.identities or invite them first`, false);
      }
      return { state: { before } };
    },

    async revoke(subject) {
      const login = loginOf(subject);
      const before = roleBefore(subject);
      if (RANK[before] >= RANK[config.role]) return; // the grant added nothing
      const now = await roleOf(login);
      if (now === 'none') return;
      if (before === 'none') await remove(login);
      else if (RANK[now] > RANK[before]) await setRole(login, before);
    },

    /** "Present" means what this grant added is still there; a role held before the grant is not the grant's. */
    async check(subject) {
      const before = roleBefore(subject);
      if (RANK[before] >= RANK[config.role]) return 'absent';
      return RANK[await roleOf(loginOf(subject))] >= RANK[config.role] ? 'present' : 'absent';
    },
  };
}

export const githubTeamProvider = defineProvider({
  schema,
  secretEnv: (config) => [{ key: 'token_env', variable: config.token_env }],
  create: (config, { env }) => createGithubTeamProvider(config, env),
  doctor: (config, { env }) => githubTeamFindings(config, env),
});
