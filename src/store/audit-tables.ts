// Reads the requests and grants tables for `audit verify` and checks every row against the replayed audit log.
import type Database from 'better-sqlite3';
import { approvalKey, compareBlocks, compareRow, missingRows, providerDigest, replayAudit, stableJson, type Fields, type Mismatch } from '../core/audit-replay.ts';
import { auditEntries } from './audit.ts';

interface StoredRequest {
  id: number;
  requester: string;
  resource: string;
  role: string;
  tier: string;
  duration_ms: number;
  reason: string;
  tickets: string;
  channel_id: string | null;
  state: string;
  created_at: number;
  timeout_at: number | null;
  starts_at: number | null;
  decided_at: number | null;
  decided_by: string | null;
  current_step: number;
  escalated_step: number | null;
  escalate_at: number | null;
  steps: string;
  self_approval: number;
  extends_grant_id: number | null;
  bundle_members: string | null;
  auto_group: string | null;
}

interface StoredGrant {
  id: number;
  request_id: number;
  user: string;
  resource: string;
  role: string;
  breakglass: number;
  provider: string;
  provider_state: string | null;
  identity: string | null;
  access_key: string | null;
  state: string;
  created_at: number;
  starts_at: number | null;
  expires_at: number | null;
  ended_at: number | null;
  ended_by: string | null;
  reviewed_by: string | null;
  reviewed_at: number | null;
  review_from: string | null;
  review_leads: string | null;
  review_verdict: string | null;
  review_note: string | null;
}

const requestFields = (r: StoredRequest): Fields => ({
  ...r,
  steps: stableJson(JSON.parse(r.steps) as unknown),
  tickets: stableJson(JSON.parse(r.tickets) as unknown),
  self_approval: r.self_approval === 1,
  bundle_members: r.bundle_members === null ? null : stableJson(JSON.parse(r.bundle_members) as unknown),
});
const grantFields = ({ provider, provider_state: state, ...g }: StoredGrant): Fields => ({
  ...g,
  review_leads: g.review_leads === null ? null : stableJson(JSON.parse(g.review_leads) as unknown),
  breakglass: g.breakglass === 1,
  provider_sha256: providerDigest(JSON.parse(provider) as unknown),
  provider_state_sha256: providerDigest(state === null ? null : (JSON.parse(state) as unknown)),
});

/** Every difference between the tables and the log, in id order; empty when each row is what the log says. */
export function verifyTablesAgainstAudit(client: Database.Database): { mismatches: Mismatch[]; requests: number; grants: number } {
  const replayed = replayAudit(auditEntries(client));
  const mismatches: Mismatch[] = [];
  const seen = { request: new Set<number>(), grant: new Set<number>() };
  const requests = client
    .prepare('SELECT id, requester, resource, role, tier, duration_ms, reason, tickets, channel_id, state, created_at, timeout_at, starts_at, decided_at, decided_by, current_step, escalated_step, escalate_at, steps, self_approval, extends_grant_id, bundle_members, auto_group FROM requests ORDER BY id')
    .iterate() as IterableIterator<StoredRequest>;
  for (const row of requests) {
    seen.request.add(row.id);
    mismatches.push(...compareRow('request', row.id, requestFields(row), replayed.requests.get(row.id)));
  }
  mismatches.push(...missingRows('request', replayed.requests, seen.request));
  const grants = client
    .prepare('SELECT id, request_id, user, resource, role, breakglass, provider, provider_state, identity, access_key, state, created_at, starts_at, expires_at, ended_at, ended_by, reviewed_by, reviewed_at, review_from, review_leads, review_verdict, review_note FROM grants ORDER BY id')
    .iterate() as IterableIterator<StoredGrant>;
  for (const row of grants) {
    seen.grant.add(row.id);
    mismatches.push(...compareRow('grant', row.id, grantFields(row), replayed.grants.get(row.id)));
  }
  mismatches.push(...missingRows('grant', replayed.grants, seen.grant));
  const approvals = client.prepare('SELECT request_id, step, approver FROM approvals ORDER BY id').iterate() as IterableIterator<{ request_id: number; step: number; approver: string }>;
  const approvalsSeen = new Map<string, number>();
  for (const a of approvals) {
    const key = approvalKey(a.request_id, a.step);
    approvalsSeen.set(key, (approvalsSeen.get(key) ?? 0) + 1);
    if (!replayed.approvals.get(key)?.has(a.approver)) mismatches.push({ row: `request R${a.request_id}`, problem: `an approval of step ${a.step} by ${a.approver} is in the table but the audit log never recorded it` });
  }
  for (const [key, approvers] of replayed.approvals) {
    if ((approvalsSeen.get(key) ?? 0) < approvers.size) mismatches.push({ row: `request ${key.split(':')[0]}`, problem: `step ${key.split(':')[1]} has fewer approvals in the table than the ${approvers.size} the audit log records` });
  }
  const blocked = client.prepare('SELECT user, blocked_by, reason, blocked_at FROM blocked_users').all() as { user: string; blocked_by: string; reason: string; blocked_at: number }[];
  mismatches.push(...compareBlocks(new Map(blocked.map(({ user, ...row }) => [user, row])), replayed.blocks));
  mismatches.push(...replayed.problems);
  return { mismatches, requests: seen.request.size, grants: seen.grant.size };
}
