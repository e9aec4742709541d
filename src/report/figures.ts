// The numbers of `sesame report`, computed purely from rows already read: per scope (overall, a tier, a resource).

/** A request made in the period, as the report needs it. */
export interface ReportRequest {
  id: number;
  tier: string;
  resource: string;
  createdAt: number;
  /** 'policy' when no person decided (auto-approval, break-glass). */
  decidedBy: string | null;
}

/** A grant of one of those requests. */
export interface ReportGrant {
  id: number;
  requestId: number;
  tier: string;
  resource: string;
  requestedAt: number;
  reason: string;
  state: string;
  breakglass: boolean;
  startsAt: number | null;
  expiresAt: number | null;
  endedAt: number | null;
  reviewedBy: string | null;
  /** The audit actions recorded for the grant and for its request. */
  actions: ReadonlySet<string>;
}

/** A refused request (`request.refused`), by code, with where it aimed when the log says. */
export interface ReportRefusal {
  code: string;
  tier: string | null;
  resource: string | null;
}

export interface Stat {
  count: number;
  meanMs: number | null;
  p95Ms: number | null;
}

export interface Figures {
  requests: number;
  /** From request to active grant. */
  timeToGrant: Stat;
  /** How long after its end an expired grant was revoked. */
  lateness: Stat;
  /** Share of requests decided without a person (auto-approval, break-glass); null without requests. */
  withoutHuman: number | null;
  /** Share of ended grants whose audit record is complete (reason, decision, activation, verified end); null when none ended. */
  auditComplete: number | null;
  endedGrants: number;
  refusals: Record<string, number>;
  breakglass: { uses: number; reviewed: number; awaitingReview: number };
}

export interface Report {
  since: string;
  until: string;
  overall: Figures;
  tiers: Record<string, Figures>;
  resources: Record<string, Figures>;
}

const DECISIONS = ['request.auto_approved', 'request.approved', 'breakglass.used'];
const ENDED = new Set(['expired', 'revoked']);
/** Grants that gave access at some point (failed and interrupted ones never did). */
const GAVE_ACCESS = new Set(['active', 'revoke_failed', 'expired', 'revoked']);

/** Mean and nearest-rank 95th percentile. */
export function stat(values: number[]): Stat {
  if (values.length === 0) return { count: 0, meanMs: null, p95Ms: null };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return { count: sorted.length, meanMs: Math.round(mean), p95Ms: sorted[Math.ceil(0.95 * sorted.length) - 1] as number };
}

/** Reason, decision, activation and a verified end, each on record. */
export const auditIsComplete = (g: ReportGrant): boolean =>
  g.reason.trim() !== '' && DECISIONS.some((a) => g.actions.has(a)) && g.actions.has('grant.activated') && g.actions.has('grant.verified_absent');

export function figures(requests: readonly ReportRequest[], grants: readonly ReportGrant[], refusals: readonly ReportRefusal[]): Figures {
  const ended = grants.filter((g) => ENDED.has(g.state));
  const byCode: Record<string, number> = {};
  for (const r of refusals) byCode[r.code] = (byCode[r.code] ?? 0) + 1;
  const glass = grants.filter((g) => g.breakglass && GAVE_ACCESS.has(g.state));
  return {
    requests: requests.length,
    timeToGrant: stat(grants.filter((g) => g.startsAt !== null && GAVE_ACCESS.has(g.state)).map((g) => (g.startsAt as number) - g.requestedAt)),
    lateness: stat(grants.filter((g) => g.state === 'expired' && g.endedAt !== null && g.expiresAt !== null).map((g) => Math.max(0, (g.endedAt as number) - (g.expiresAt as number)))),
    withoutHuman: requests.length === 0 ? null : requests.filter((r) => r.decidedBy === 'policy').length / requests.length,
    auditComplete: ended.length === 0 ? null : ended.filter(auditIsComplete).length / ended.length,
    endedGrants: ended.length,
    refusals: Object.fromEntries(Object.entries(byCode).sort(([a], [b]) => a.localeCompare(b))),
    breakglass: { uses: glass.length, reviewed: glass.filter((g) => g.reviewedBy !== null).length, awaitingReview: glass.filter((g) => g.reviewedBy === null).length },
  };
}

/** Overall, then per tier and per resource (a refusal the log ties to no tier or resource counts only overall). */
export function buildReport(since: Date, until: Date, requests: readonly ReportRequest[], grants: readonly ReportGrant[], refusals: readonly ReportRefusal[]): Report {
  const scoped = (key: 'tier' | 'resource') => {
    const names = [...new Set([...requests.map((r) => r[key]), ...refusals.map((r) => r[key]).filter((n): n is string => n !== null)])].sort();
    return Object.fromEntries(names.map((name) => [name, figures(requests.filter((r) => r[key] === name), grants.filter((g) => g[key] === name), refusals.filter((r) => r[key] === name))]));
  };
  return { since: since.toISOString(), until: until.toISOString(), overall: figures(requests, grants, refusals), tiers: scoped('tier'), resources: scoped('resource') };
}
