// Past policy decisions as `sesame policy replay` re-decides them: request rows, refusals and what the audit recorded beside them; from either database.
import { z } from 'zod';
import type { AuditRecord, RequestRecord } from '../core/records.ts';
import type { PastDecision } from '../policy/replay.ts';
import { allRows, type AuditFilter, type HistoryReader } from './history-reader.ts';

export type { PastDecision } from '../policy/replay.ts';

/** One schema for what replay reads from audit details; older entries lack the replay fields, so all are optional. */
const replayDetailsSchema = z.looseObject({
  resource: z.string().optional(),
  // A refusal records null when the requester named no role.
  role: z.string().nullable().optional(),
  code: z.string().optional(),
  breakglass: z.boolean().optional(),
  duration_ms: z.number().optional(),
  capped_from_ms: z.number().optional(),
  reason: z.string().optional(),
  groups: z.array(z.string()).optional(),
  channel_name: z.string().optional(),
  starts_at: z.string().optional(),
  standing: z.enum(['guest', 'external']).optional(),
  blocked: z.boolean().optional(),
  // An extension's grant as the policy saw it; a grant's own entries name its start and (each time it moves) its end.
  grant_starts_at: z.string().optional(),
  grant_expires_at: z.string().optional(),
  expires_at: z.string().optional(),
});
type Details = z.output<typeof replayDetailsSchema>;
type Span = { startsAt: number; expiresAt: number };

/**
 * An extension whose entry predates recording its grant's span, which is filled in (on the decision's own object)
 * from the grant's entries before `entryId`; null when its entry is not in the log, and the span stays unknown.
 */
interface Unrecorded {
  entryId: number | null;
  extending: { grantId: string; span: Span | null };
}

/** Every audit entry the filter selects, in chain order. */
async function auditRows(reader: HistoryReader, filter: AuditFilter): Promise<AuditRecord[]> {
  const rows: AuditRecord[] = [];
  for await (const row of allRows((after, limit) => reader.auditPage(after, limit, filter))) rows.push(row);
  return rows;
}

/** Decisions made in [since, until), oldest first. Reads only. */
export async function pastDecisions(reader: HistoryReader, since: Date, until: Date): Promise<PastDecision[]> {
  const requests: RequestRecord[] = [];
  for await (const row of allRows((after, limit) => reader.requestPage(after, limit, { since: since.getTime(), until: until.getTime() }))) requests.push(row);
  // By (action, at), which is indexed; a request's created entry carries the request's own timestamp.
  const entries = (action: 'request.created' | 'request.refused' | 'grant.extend_refused') => auditRows(reader, { actions: [action], since: since.toISOString(), until: until.toISOString() });
  const created = new Map((await entries('request.created')).map((e) => [e.requestId, e]));
  const unrecorded: Unrecorded[] = [];
  const extendingOf = (grantId: string | null, details: Details, entryId: number | null): PastDecision['extending'] => {
    if (grantId === null) return undefined;
    const startsAt = details.grant_starts_at === undefined ? Number.NaN : Date.parse(details.grant_starts_at);
    const expiresAt = details.grant_expires_at === undefined ? Number.NaN : Date.parse(details.grant_expires_at);
    const extending = { grantId, span: Number.isNaN(startsAt) || Number.isNaN(expiresAt) ? null : { startsAt, expiresAt } };
    if (extending.span === null) unrecorded.push({ entryId, extending });
    return extending;
  };

  const fromRequests = requests.map((row): PastDecision => {
    const entry = created.get(`R${row.id}`);
    const details = parseDetails(entry?.details ?? null);
    return {
      requestId: `R${row.id}`,
      at: new Date(row.createdAt),
      user: row.requester,
      resource: row.resource,
      role: row.role,
      durationMs: details.capped_from_ms ?? row.durationMs,
      reason: row.reason,
      breakglass: row.breakglass,
      channelName: details.channel_name ?? null,
      groups: details.groups ?? null,
      startsAt: row.startsAt ?? undefined,
      standing: details.standing,
      blocked: false,
      extending: extendingOf(row.extendsGrantId === null ? null : `G${row.extendsGrantId}`, details, entry?.id ?? null),
      before: { decision: row.decidedBy === 'policy' ? 'auto-approve' : 'needs-approval', tier: row.tier, error: null },
    };
  });
  // Refused extensions too; those refused before the policy was asked (not the owner's, no longer active) name no resource.
  const refusals = [...(await entries('request.refused')), ...(await entries('grant.extend_refused'))];
  const fromRefusals = refusals.flatMap((row): PastDecision[] => {
    const details = parseDetails(row.details);
    const resource = details.resource;
    // A refusal for want of a scheduler says nothing about the policy: it would have decided otherwise.
    if (resource === undefined || details.code === 'scheduler_unavailable') return [];
    return [
      {
        requestId: null,
        at: new Date(row.at),
        user: row.actor,
        resource,
        role: details.role ?? undefined,
        durationMs: details.duration_ms,
        reason: details.reason ?? '',
        breakglass: details.breakglass ?? false,
        channelName: details.channel_name ?? null,
        groups: details.groups ?? null,
        startsAt: details.starts_at === undefined ? undefined : Date.parse(details.starts_at),
        standing: details.standing,
        blocked: details.blocked ?? false,
        extending: row.action === 'grant.extend_refused' ? extendingOf(row.grantId, details, row.id) : undefined,
        before: { decision: 'refuse', tier: null, error: details.code ?? null },
      },
    ];
  });
  if (unrecorded.length > 0) await spansFromGrantEntries(reader, until, unrecorded);
  return [...fromRequests, ...fromRefusals].sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * For entries written before extensions recorded their grant's span: the grant's start and end as its own entries
 * had set them just before the extension's entry (its activation, then each extension that moved its end). Without
 * the activation in the log the span stays unknown.
 */
async function spansFromGrantEntries(reader: HistoryReader, until: Date, unrecorded: Unrecorded[]): Promise<void> {
  const wanted = new Set(unrecorded.map((u) => u.extending.grantId));
  const history = new Map<string, { id: number; span: Span | null }[]>();
  const rows = await auditRows(reader, { actions: ['grant.activated', 'grant.extended'], until: until.toISOString() });
  for (const row of rows) {
    if (row.grantId === null || !wanted.has(row.grantId)) continue;
    const steps = history.get(row.grantId) ?? [];
    const details = parseDetails(row.details);
    const expiresAt = details.expires_at === undefined ? Number.NaN : Date.parse(details.expires_at);
    const startsAt = row.action === 'grant.activated' ? (details.starts_at === undefined ? Number.NaN : Date.parse(details.starts_at)) : steps.at(-1)?.span?.startsAt;
    steps.push({ id: row.id, span: startsAt === undefined || Number.isNaN(startsAt) || Number.isNaN(expiresAt) ? null : { startsAt, expiresAt } });
    history.set(row.grantId, steps);
  }
  for (const { entryId, extending } of unrecorded) {
    if (entryId === null) continue;
    const before = (history.get(extending.grantId) ?? []).filter((step) => step.id < entryId);
    extending.span = before.at(-1)?.span ?? null;
  }
}

function parseDetails(text: string | null): Details {
  if (text === null) return {};
  const parsed = replayDetailsSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : {};
}
