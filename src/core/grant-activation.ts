// The last step of making a grant: the transaction that moves a granted `pending` grant to `active`, with its audit entry.
import type { ProviderConfig } from '../policy/schema.ts';
import type { LOST_RACE, RecordReads, StorePort } from './store-port.ts';
import type { ApprovalRecord, GrantRecord, RequestRecord } from './records.ts';
import { sharedDetails } from './access-sharing.ts';
import { providerDigest } from './audit-replay.ts';
import { grantRef, requestRef } from './ids.ts';

export interface Activation {
  request: RequestRecord;
  pending: GrantRecord;
  provider: ProviderConfig;
  createdAt: Date;
  startsAt: Date;
  expiresAt: Date;
  providerState: GrantRecord['providerState'];
  attempts: number;
  /** The grant already holding the same access, whose provider state this one took over. */
  shared: GrantRecord | null;
}

/**
 * The approvals that no longer count: their approver is blocked now, or was blocked at any time since approving. An
 * unblock does not bring one back: the block says the account may have been someone else's then, and a revoke-all
 * cut short (its replica died) may not have cancelled what rests on it.
 */
export async function approvalsVoidedByBlocks(reads: RecordReads, approvals: readonly ApprovalRecord[]): Promise<ApprovalRecord[]> {
  const blockedNow = await reads.blockedAmong(approvals.map((a) => a.approver));
  const voided: ApprovalRecord[] = [];
  for (const approval of approvals) if (blockedNow.has(approval.approver) || (await reads.blockedSince(approval.approver, approval.at))) voided.push(approval);
  return voided;
}

/** Who, if anyone, revoke-all has blocked among those a grant rests on: its requester, or an approver of its request. */
export async function blockedParty(reads: RecordReads, request: RequestRecord): Promise<'requester' | 'approver' | null> {
  if (await reads.isBlocked(request.requester)) return 'requester';
  return (await approvalsVoidedByBlocks(reads, await reads.approvalsFor(request.id))).length > 0 ? 'approver' : null;
}

/**
 * Why no pending grant may be recorded for this request now: a block, or it is no longer approved (the reconciler took
 * it for stranded while it waited long for its access key, and failed it).
 */
export async function grantRefusal(reads: RecordReads, request: RequestRecord): Promise<'requester' | 'approver' | 'ended' | null> {
  return (await reads.getRequest(request.id))?.state === 'approved' ? blockedParty(reads, request) : 'ended';
}

/**
 * 'activated'; 'blocked_since' when an admin ran revoke-all on the requester or an approver of its request after the
 * grant was recorded as pending, or an approver is blocked now
 * (then it must be taken back, not made live); LOST_RACE when the grant left `pending` meanwhile (a sweep failed it).
 */
export function activateGrant(store: StorePort, now: Date, a: Activation): Promise<'activated' | 'blocked_since' | typeof LOST_RACE> {
  const { request, pending, provider } = a;
  return store.transaction(now, async (tx) => {
    // Asked with the write: revoke-all (after its block) sees this grant live, or this sees the block. An unblock before
    // this point must not let a grant revoke-all was waiting for go live: revoke-all's scan may be over by now.
    if ((await tx.blockedSince(request.requester, pending.createdAt)) || (await blockedParty(tx, request)) === 'approver') return 'blocked_since' as const;
    if (!await tx.updateGrant(pending.id, 'pending', { state: 'active', startsAt: a.startsAt.getTime(), expiresAt: a.expiresAt.getTime(), providerState: a.providerState })) tx.abort();
    await tx.audit({
      actor: 'sesame',
      action: 'grant.activated',
      requestId: requestRef(request.id),
      grantId: grantRef(pending.id),
      details: { resource: request.resource, role: request.role, user: request.requester, created_at: a.createdAt.toISOString(), starts_at: a.startsAt.toISOString(), expires_at: a.expiresAt.toISOString(), provider: provider.type, provider_sha256: providerDigest(provider), provider_state_sha256: providerDigest(a.providerState), identity: pending.identity, access_key: pending.accessKey, attempts: a.attempts, breakglass: request.breakglass, ...sharedDetails(a.shared) },
    });
    return 'activated' as const;
  });
}
