// Reads what `sesame report` counts, for one period, without writing: requests made in it, their grants, refusals; from either database.
import type { ReportGrant, ReportRefusal, ReportRequest } from '../report/figures.ts';
import { allRows, type HistoryReader } from './history-reader.ts';

export async function reportRows(reader: HistoryReader, since: Date, until: Date): Promise<{ requests: ReportRequest[]; grants: ReportGrant[]; refusals: ReportRefusal[] }> {
  const window = { since: since.getTime(), until: until.getTime() };
  const made = new Map<number, { tier: string; createdAt: number }>();
  const requests: ReportRequest[] = [];
  for await (const r of allRows((after, limit) => reader.requestPage(after, limit, window))) {
    made.set(r.id, { tier: r.tier, createdAt: r.createdAt });
    requests.push({ id: r.id, tier: r.tier, resource: r.resource, createdAt: r.createdAt, decidedBy: r.decidedBy });
  }

  // Every entry of those requests, whenever written; the log has no index by request, so it is read through once.
  const refs = new Set([...made.keys()].map((id) => `R${id}`));
  const actions = new Map<string, Set<string>>();
  for await (const e of allRows((after, limit) => reader.auditPage(after, limit))) {
    if (e.requestId === null || !refs.has(e.requestId)) continue;
    // Request-level entries (the decision) count for every grant of the request; grant-level ones for that grant.
    const key = e.grantId ?? e.requestId;
    actions.set(key, (actions.get(key) ?? new Set()).add(e.action));
  }
  const grants: ReportGrant[] = [];
  for await (const g of allRows((after, limit) => reader.grantPage(after, limit))) {
    const request = made.get(g.requestId);
    if (request === undefined) continue;
    grants.push({
      id: g.id,
      requestId: g.requestId,
      tier: request.tier,
      resource: g.resource,
      requestedAt: request.createdAt,
      reason: g.reason,
      state: g.state,
      breakglass: g.breakglass,
      startsAt: g.startsAt,
      expiresAt: g.expiresAt,
      endedAt: g.endedAt,
      reviewedBy: g.reviewedBy,
      actions: new Set([...(actions.get(`G${g.id}`) ?? []), ...(actions.get(`R${g.requestId}`) ?? [])]),
    });
  }

  const refusals: ReportRefusal[] = [];
  const refused = { actions: ['request.refused'], since: since.toISOString(), until: until.toISOString() };
  for await (const r of allRows((after, limit) => reader.auditPage(after, limit, refused))) {
    const d = JSON.parse(r.details) as { code?: unknown; resource?: unknown; rule?: unknown };
    const tier = typeof d.rule === 'string' ? (/^tiers\.([^.:]+)[.:]/.exec(d.rule)?.[1] ?? null) : null;
    refusals.push({ code: String(d.code ?? 'unknown'), tier, resource: typeof d.resource === 'string' ? d.resource : null });
  }
  return { requests, grants, refusals };
}
