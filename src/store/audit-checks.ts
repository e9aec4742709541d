// The checks of `sesame audit verify`, fed rows one at a time from either database: the hash chain, and the tables against the replayed log.
import { approvalKey, auditReplayer, compareBlocks, compareRow, missingRows, providerDigest, stableJson, type Fields, type Mismatch, type Replayed } from '../core/audit-replay.ts';
import type { ApprovalRecord, BlockedUserRecord, GrantRecord, RequestRecord } from '../core/records.ts';
import { ChainCheck, exportedEntry, type VerifyResult } from './audit.ts';
import { allRows, type HistoryReader } from './history-reader.ts';

/** The whole chain of either database, read a page at a time. */
export async function verifyChainOf(reader: HistoryReader): Promise<VerifyResult> {
  const check = new ChainCheck();
  for await (const row of allRows((after, limit) => reader.auditPage(after, limit))) {
    const broken = check.add(row);
    if (broken) return broken;
  }
  return check.result();
}

const requestFields = (r: RequestRecord): Fields => ({
  id: r.id,
  requester: r.requester,
  resource: r.resource,
  role: r.role,
  tier: r.tier,
  duration_ms: r.durationMs,
  reason: r.reason,
  tickets: stableJson(r.tickets),
  channel_id: r.channelId,
  state: r.state,
  created_at: r.createdAt,
  timeout_at: r.timeoutAt,
  starts_at: r.startsAt,
  decided_at: r.decidedAt,
  decided_by: r.decidedBy,
  current_step: r.currentStep,
  escalated_step: r.escalatedStep,
  escalate_at: r.escalateAt,
  steps: stableJson(r.steps),
  self_approval: r.selfApproval,
  extends_grant_id: r.extendsGrantId,
  bundle_members: r.bundleMembers === null ? null : stableJson(r.bundleMembers),
  auto_group: r.autoGroup,
});

const grantFields = (g: GrantRecord): Fields => ({
  id: g.id,
  request_id: g.requestId,
  user: g.user,
  resource: g.resource,
  role: g.role,
  breakglass: g.breakglass,
  identity: g.identity,
  access_key: g.accessKey,
  state: g.state,
  created_at: g.createdAt,
  starts_at: g.startsAt,
  expires_at: g.expiresAt,
  ended_at: g.endedAt,
  ended_by: g.endedBy,
  reviewed_by: g.reviewedBy,
  reviewed_at: g.reviewedAt,
  review_from: g.reviewFrom,
  review_leads: g.reviewLeads === null ? null : stableJson(g.reviewLeads),
  review_verdict: g.reviewVerdict,
  review_note: g.reviewNote,
  provider_sha256: providerDigest(g.provider),
  provider_state_sha256: providerDigest(g.providerState ?? null),
});

export interface TablesResult {
  mismatches: Mismatch[];
  requests: number;
  grants: number;
}

/** Every row of the tables, fed in id order, compared with what the replayed log says it must be. */
export class TableCheck {
  /** Kept per table, so the report lists requests, then grants, then approvals, whatever order rows arrive in. */
  private readonly found = { request: [] as Mismatch[], grant: [] as Mismatch[], approval: [] as Mismatch[] };
  private readonly seen = { request: new Set<number>(), grant: new Set<number>() };
  private readonly approvalsSeen = new Map<string, number>();

  constructor(private readonly replayed: Replayed) {}

  request(row: RequestRecord): void {
    this.seen.request.add(row.id);
    this.found.request.push(...compareRow('request', row.id, requestFields(row), this.replayed.requests.get(row.id)));
  }

  grant(row: GrantRecord): void {
    this.seen.grant.add(row.id);
    this.found.grant.push(...compareRow('grant', row.id, grantFields(row), this.replayed.grants.get(row.id)));
  }

  approval(a: ApprovalRecord): void {
    const key = approvalKey(a.requestId, a.step);
    this.approvalsSeen.set(key, (this.approvalsSeen.get(key) ?? 0) + 1);
    if (!this.replayed.approvals.get(key)?.has(a.approver)) this.found.approval.push({ row: `request R${a.requestId}`, problem: `an approval of step ${a.step} by ${a.approver} is in the table but the audit log never recorded it` });
  }

  /** After every request, grant and approval: the rows the log has and the tables lack, the blocks, the log's own contradictions. */
  finish(blocked: BlockedUserRecord[]): TablesResult {
    const { replayed, found } = this;
    const mismatches = [
      ...found.request,
      ...missingRows('request', replayed.requests, this.seen.request),
      ...found.grant,
      ...missingRows('grant', replayed.grants, this.seen.grant),
      ...found.approval,
    ];
    for (const [key, approvers] of replayed.approvals) {
      if ((this.approvalsSeen.get(key) ?? 0) < approvers.size) mismatches.push({ row: `request ${key.split(':')[0]}`, problem: `step ${key.split(':')[1]} has fewer approvals in the table than the ${approvers.size} the audit log records` });
    }
    mismatches.push(...compareBlocks(new Map(blocked.map(({ user, blockedBy, reason, blockedAt }) => [user, { blocked_by: blockedBy, reason, blocked_at: blockedAt }])), replayed.blocks));
    mismatches.push(...replayed.problems);
    return { mismatches, requests: this.seen.request.size, grants: this.seen.grant.size };
  }
}

/** `verifyTablesAgainstAudit` for either database, read a page at a time. */
export async function verifyTablesOf(reader: HistoryReader): Promise<TablesResult> {
  const replayer = auditReplayer();
  for await (const row of allRows((after, limit) => reader.auditPage(after, limit))) replayer.add(exportedEntry(row));
  const check = new TableCheck(replayer.result());
  for await (const row of allRows((after, limit) => reader.requestPage(after, limit))) check.request(row);
  for await (const row of allRows((after, limit) => reader.grantPage(after, limit))) check.grant(row);
  for await (const row of allRows((after, limit) => reader.approvalPage(after, limit))) check.approval(row);
  return check.finish(await reader.blockedUsers());
}
