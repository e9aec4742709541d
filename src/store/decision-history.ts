// Past policy decisions as `sesame policy replay` re-decides them: request rows, refusals and what the audit recorded beside them.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { PastDecision } from '../policy/replay.ts';

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
});

interface RequestRowFields {
  id: number;
  requester: string;
  resource: string;
  role: string;
  tier: string;
  duration_ms: number;
  reason: string;
  breakglass: number;
  created_at: number;
  starts_at: number | null;
  decided_by: string | null;
}

interface AuditDetailsRow {
  at: string;
  actor: string;
  request_id: string | null;
  details: string;
}

/** Decisions made in [since, until), oldest first. Reads only. */
export function pastDecisions(client: Database.Database, since: Date, until: Date): PastDecision[] {
  const requests = client
    .prepare('SELECT id, requester, resource, role, tier, duration_ms, reason, breakglass, created_at, starts_at, decided_by FROM requests WHERE created_at >= ? AND created_at < ?')
    .all(since.getTime(), until.getTime()) as RequestRowFields[];
  // By (action, at), which is indexed; a request's created entry carries the request's own timestamp.
  const entries = (action: 'request.created' | 'request.refused') =>
    client
      .prepare('SELECT at, actor, request_id, details FROM audit_log WHERE action = ? AND at >= ? AND at < ? ORDER BY id')
      .all(action, since.toISOString(), until.toISOString()) as AuditDetailsRow[];
  const created = new Map(entries('request.created').map((e) => [e.request_id, e.details]));

  const fromRequests = requests.map((row): PastDecision => {
    const details = parseDetails(created.get(`R${row.id}`) ?? null);
    return {
      requestId: `R${row.id}`,
      at: new Date(row.created_at),
      user: row.requester,
      resource: row.resource,
      role: row.role,
      durationMs: details.capped_from_ms ?? row.duration_ms,
      reason: row.reason,
      breakglass: row.breakglass === 1,
      channelName: details.channel_name ?? null,
      groups: details.groups ?? null,
      startsAt: row.starts_at ?? undefined,
      standing: details.standing,
      blocked: false,
      before: { decision: row.decided_by === 'policy' ? 'auto-approve' : 'needs-approval', tier: row.tier, error: null },
    };
  });
  const fromRefusals = entries('request.refused').flatMap((row): PastDecision[] => {
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
        before: { decision: 'refuse', tier: null, error: details.code ?? null },
      },
    ];
  });
  return [...fromRequests, ...fromRefusals].sort((a, b) => a.at.getTime() - b.at.getTime());
}

function parseDetails(text: string | null): z.output<typeof replayDetailsSchema> {
  if (text === null) return {};
  const parsed = replayDetailsSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : {};
}
