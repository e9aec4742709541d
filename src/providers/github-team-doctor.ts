// `sesame doctor` for a github_team block: the token is accepted, the team exists and is visible to it, a classic token
// carries admin:org, and how much of the rate limit is left. One GET; nothing is changed.
import { cannotTell, errorText, failed, passed, type Finding } from '../doctor/finding.ts';
import { loadOctokit } from './sdks.ts';

export interface GithubTeamBlock {
  org: string;
  team: string;
  token_env: string;
  base_url?: string | undefined;
}

const TIMEOUT_MS = 10_000;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Answer {
  status: number;
  headers: Record<string, string | number | undefined>;
  message: string;
}

function answerOf(error: unknown): Answer | null {
  if (typeof error !== 'object' || error === null || !('status' in error) || typeof error.status !== 'number') return null;
  const e = error as { status: number; response?: { headers?: Answer['headers'] }; message?: string };
  // Octokit appends the documentation link to GitHub's message; the finding needs only the message.
  return { status: e.status, headers: e.response?.headers ?? {}, message: (e.message ?? '').replace(/ - https:\/\/\S+$/, '') };
}

export async function githubTeamFindings(config: GithubTeamBlock, env: Readonly<Record<string, string | undefined>>): Promise<Finding[]> {
  const team = `${config.org}/${config.team}`;
  const host = new URL(config.base_url ?? 'https://api.github.com').host;
  const token = env[config.token_env];
  if (!token) return [failed(`${config.token_env} is not set, so Sesame cannot change ${team} on ${host}`, `set ${config.token_env} to a token with Members: read and write on ${config.org} (or the admin:org scope)`)];
  const Octokit = await loadOctokit();
  const octokit = new Octokit({ auth: token, ...(config.base_url ? { baseUrl: config.base_url.replace(/\/$/, '') } : {}), userAgent: 'sesame-jit-access', log: quiet });
  let headers: Answer['headers'];
  let name: string;
  try {
    const answer = await octokit.rest.teams.getByName({ org: config.org, team_slug: config.team, request: { signal: AbortSignal.timeout(TIMEOUT_MS) } });
    headers = answer.headers as Answer['headers'];
    name = answer.data.name;
  } catch (error) {
    const answer = answerOf(error);
    if (answer?.status === 401) return [failed(`GitHub (${host}) refused the token in ${config.token_env} (401 ${answer.message})`, `replace ${config.token_env} with a valid token`)];
    if (answer?.status === 404) {
      return [failed(`GitHub (${host}) has no team ${team} that the token in ${config.token_env} can see`, 'fix provider.org and provider.team (the slug in the team\'s URL), or give the token access to the organization')];
    }
    if (answer && (answer.status === 403 || answer.status === 429) && (String(answer.headers['x-ratelimit-remaining']) === '0' || answer.headers['retry-after'] !== undefined)) {
      return [cannotTell(`cannot check ${team}: GitHub (${host}) is rate-limiting the token in ${config.token_env}`, 'run `sesame doctor` again later; if it persists, something else is using the same token')];
    }
    if (answer?.status === 403) {
      return [failed(`GitHub (${host}) would not show ${team} to the token in ${config.token_env} (403 ${answer.message})`, 'give the token Members: read and write on the organization (a classic token: admin:org), and authorize it for SSO if the organization uses SAML')];
    }
    return [failed(`could not reach GitHub (${host}) to check ${team} (${answer?.status ?? errorText(error)})`, 'check the network and provider.base_url')];
  }
  const remaining = headers['x-ratelimit-remaining'];
  const limit = headers['x-ratelimit-limit'];
  const rate = remaining === undefined ? '' : ` (rate limit: ${remaining} of ${limit ?? '?'} requests left this hour)`;
  const findings = [passed(`the token in ${config.token_env} sees team ${team} ("${name}") on ${host}${rate}`)];
  // Classic tokens list their scopes in X-OAuth-Scopes; fine-grained tokens and apps send none, and their rights show at the first grant.
  const scopes = headers['x-oauth-scopes'];
  if (scopes !== undefined) {
    const list = String(scopes).split(',').map((s) => s.trim()).filter(Boolean);
    findings.push(
      list.includes('admin:org')
        ? passed(`the classic token in ${config.token_env} has the admin:org scope that team membership changes need`)
        : failed(`the classic token in ${config.token_env} has the scopes [${list.join(', ')}] but not admin:org, so Sesame cannot add anyone to ${team}`, 'issue a token with admin:org, or a fine-grained token with Members: read and write'),
    );
  }
  return findings;
}
