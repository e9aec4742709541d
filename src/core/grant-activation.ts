// The last step of making a grant: the transaction that moves a granted `pending` grant to `active`, with its audit entry.
import type { ProviderConfig } from '../policy/schema.ts';
import type { LOST_RACE, RecordReads, StorePort } from './store-port.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
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

/** Who, if anyone, revoke-all has blocked among those a grant rests on: its requester, or an approver of its request. */
export async function blockedParty(reads: RecordReads, request: RequestRecord): Promise<'requester' | 'approver' | null> {
  if (await reads.isBlocked(request.requester)) return 'requester';
  const approvals = await reads.approvalsFor(request.id);
  return (await reads.blockedAmong(approvals.map((a) => a.approver))).size > 0 ? 'approver' : null;
}

/**
 * Whether an admin ran revoke-all on an approver of the request since `sinceMs`, even if they were unblocked again: a
 * revoke-all that gave up waiting for this grant promised it would be taken back when the provider answers.
 */
async function approverBlockedSince(reads: RecordReads, request: RequestRecord, sinceMs: number): Promise<boolean> {
  for (const approval of await reads.approvalsFor(request.id)) if (await reads.blockedSince(approval.approver, sinceMs)) return true;
  return false;
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
    if ((await tx.blockedSince(request.requester, pending.createdAt)) || (await blockedParty(tx, request)) === 'approver' || (await approverBlockedSince(tx, request, pending.createdAt))) return 'blocked_since' as const;
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
