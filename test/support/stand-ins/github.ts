// A GitHub REST stand-in on loopback for team memberships, as documented at
// https://docs.github.com/en/rest/teams/members (GET/PUT/DELETE /orgs/{org}/teams/{team_slug}/memberships/{username})
// and https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api (403/429 with retry-after or
// x-ratelimit-remaining: 0 and x-ratelimit-reset), https://docs.github.com/en/rest/teams/teams#get-a-team-by-name
// (GET /orgs/{org}/teams/{team_slug}) and the X-OAuth-Scopes header classic tokens get
// (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps). Served under /api/v3, as GitHub Enterprise Server does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from '../loopback-server.ts';

type Role = 'member' | 'maintainer';
export interface Injected {
  status: number;
  headers?: Record<string, string>;
  message?: string;
}

export class GithubStandIn extends LoopbackServer {
  /** "org/team" → login → role; logins are stored lower-case, as GitHub treats them. */
  readonly teams = new Map<string, Map<string, Role>>();
  /** Organization members; anyone else PUT on a team gets an invitation (state "pending"). */
  readonly orgMembers = new Set<string>();
  /** When true, every login counts as an organization member. */
  openOrg = false;
  readonly invitations = new Set<string>();
  readonly requests: { method: string; path: string; at: number }[] = [];
  /** Sent as x-ratelimit-remaining on every answer. */
  rateLimitRemaining = 4999;
  /** A classic token's scopes, sent as X-OAuth-Scopes; null for a fine-grained token, which gets no such header. */
  scopes: string | null = null;
  private readonly failures: Injected[] = [];

  constructor(readonly token: string) {
    super();
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/api/v3`;
  }

  /** The next requests are answered with these, in order. */
  failNext(...failures: Injected[]): void {
    this.failures.push(...failures);
  }

  get failuresLeft(): number {
    return this.failures.length;
  }

  role(team: string, login: string): Role | undefined {
    return this.teams.get(team)?.get(login.toLowerCase());
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, at: Date.now() });
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
      void res
        .writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': String(this.rateLimitRemaining),
          ...(this.scopes === null ? {} : { 'x-oauth-scopes': this.scopes }),
          ...headers,
        })
        .end(body === undefined ? '' : JSON.stringify(body));

    const injected = this.failures.shift();
    if (injected) return send(injected.status, { message: injected.message ?? 'injected', documentation_url: 'https://docs.github.com/rest' }, injected.headers);
    if (req.headers.authorization !== `token ${this.token}` && req.headers.authorization !== `Bearer ${this.token}`) {
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }
    const teamOnly = /^\/api\/v3\/orgs\/([^/]+)\/teams\/([^/]+)$/.exec(path);
    if (teamOnly && method === 'GET') {
      const [, org = '', slug = ''] = teamOnly;
      if (!this.teams.has(`${org}/${slug}`)) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/teams/teams#get-a-team-by-name' });
      return send(200, { id: 1, node_id: 'T_1', name: slug, slug, privacy: 'closed', permission: 'pull', organization: { login: org } });
    }
    const match = /^\/api\/v3\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(path);
    const members = match ? this.teams.get(`${match[1]}/${match[2]}`) : undefined;
    if (!match || !members) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    const login = decodeURIComponent(match[3] ?? '').toLowerCase();
    const url = `${this.baseUrl}/organizations/1/team/1/memberships/${login}`;

    if (method === 'GET') {
      const role = members.get(login);
      if (role) return send(200, { url, role, state: 'active' });
      if (this.invitations.has(login)) return send(200, { url, role: 'member', state: 'pending' });
      return send(404, { message: 'Not Found' });
    }
    if (method === 'PUT') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { role?: string };
      const role = body.role ?? 'member';
      if (role !== 'member' && role !== 'maintainer') return send(422, { message: 'Validation Failed', errors: [{ field: 'role', code: 'invalid' }] });
      if (!this.openOrg && !this.orgMembers.has(login)) {
        this.invitations.add(login);
        return send(200, { url, role, state: 'pending' });
      }
      members.set(login, role);
      return send(200, { url, role, state: 'active' });
    }
    if (method === 'DELETE') {
      if (!members.delete(login) && !this.invitations.delete(login)) return send(404, { message: 'Not Found' });
      return send(204);
    }
    return send(404, { message: 'Not Found' });
  }
}
