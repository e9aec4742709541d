// Reads what `sesame report` counts, for one period, without writing: requests made in it, their grants, refusals.
import type Database from 'better-sqlite3';
import type { ReportGrant, ReportRefusal, ReportRequest } from '../report/figures.ts';

interface GrantJoined {
  id: number;
  request_id: number;
  tier: string;
  resource: string;
  requested_at: number;
  reason: string;
  state: string;
  breakglass: number;
  starts_at: number | null;
  expires_at: number | null;
  ended_at: number | null;
  reviewed_by: string | null;
}

export function reportRows(client: Database.Database, since: Date, until: Date): { requests: ReportRequest[]; grants: ReportGrant[]; refusals: ReportRefusal[] } {
  const window = [since.getTime(), until.getTime()];
  const requests = (
    client.prepare('SELECT id, tier, resource, created_at, decided_by FROM requests WHERE created_at >= ? AND created_at < ? ORDER BY id').all(...window) as {
      id: number;
      tier: string;
      resource: string;
      created_at: number;
      decided_by: string | null;
    }[]
  ).map((r) => ({ id: r.id, tier: r.tier, resource: r.resource, createdAt: r.created_at, decidedBy: r.decided_by }));

  const actions = new Map<string, Set<string>>();
  const entries = client
    .prepare(
      `SELECT a.action, a.request_id, a.grant_id FROM audit_log a
       WHERE a.request_id IN (SELECT 'R' || id FROM requests WHERE created_at >= ? AND created_at < ?)`,
    )
    .iterate(...window) as IterableIterator<{ action: string; request_id: string; grant_id: string | null }>;
  for (const e of entries) {
    // Request-level entries (the decision) count for every grant of the request; grant-level ones for that grant.
    const key = e.grant_id ?? e.request_id;
    actions.set(key, (actions.get(key) ?? new Set()).add(e.action));
  }
  const grants = (
    client
      .prepare(
        `SELECT g.id, g.request_id, r.tier, g.resource, r.created_at AS requested_at, g.reason, g.state, g.breakglass, g.starts_at, g.expires_at, g.ended_at, g.reviewed_by
         FROM grants g JOIN requests r ON r.id = g.request_id WHERE r.created_at >= ? AND r.created_at < ? ORDER BY g.id`,
      )
      .all(...window) as GrantJoined[]
  ).map((g) => ({
    id: g.id,
    requestId: g.request_id,
    tier: g.tier,
    resource: g.resource,
    requestedAt: g.requested_at,
    reason: g.reason,
    state: g.state,
    breakglass: g.breakglass === 1,
    startsAt: g.starts_at,
    expiresAt: g.expires_at,
    endedAt: g.ended_at,
    reviewedBy: g.reviewed_by,
    actions: new Set([...(actions.get(`G${g.id}`) ?? []), ...(actions.get(`R${g.request_id}`) ?? [])]),
  }));

  const refusals = (
    client.prepare("SELECT details FROM audit_log WHERE action = 'request.refused' AND at >= ? AND at < ? ORDER BY id").all(since.toISOString(), until.toISOString()) as { details: string }[]
  ).map((r) => {
    const d = JSON.parse(r.details) as { code?: unknown; resource?: unknown; rule?: unknown };
    const tier = typeof d.rule === 'string' ? (/^tiers\.([^.:]+)[.:]/.exec(d.rule)?.[1] ?? null) : null;
    return { code: String(d.code ?? 'unknown'), tier, resource: typeof d.resource === 'string' ? d.resource : null };
  });
  return { requests, grants, refusals };
}
