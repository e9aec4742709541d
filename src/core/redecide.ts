// Approvals are judged against the policy in force when the click comes, not the one the request was made under.
import { bundleMembers, sameMembers } from '../policy/bundles.ts';
import { decide, type AccessQuery, type Facts } from '../policy/decide.ts';
import type { Policy } from '../policy/schema.ts';
import type { GrantRow, RequestRow } from '../store/schema.ts';
import type { DomainError } from './errors.ts';
import { grantRef } from './ids.ts';

/** The grant an extension adds to, as the policy's extension rule sees it. */
export const extendingOf = (grant: GrantRow): AccessQuery['extending'] => ({ grantId: grantRef(grant.id), startsAt: grant.startsAt ?? grant.createdAt, expiresAt: grant.expiresAt ?? grant.createdAt });

type Steps = readonly { from: string; count: number }[];
const sameSteps = (a: Steps, b: Steps) => a.length === b.length && a.every((s, i) => s.from === b[i]?.from && s.count === b[i]?.count);

/**
 * Why a pending request may no longer be granted, or null when it still may. `facts` are the requester's now;
 * `grant` is the grant an extension request extends, as it stands now.
 */
export function whyNoLongerAllowed(policy: Policy, request: RequestRow, grant: GrantRow | null, facts: Facts, now: Date): DomainError | null {
  if (grant !== null && grant.state !== 'active') return { code: 'not_active', grantId: grantRef(grant.id), state: grant.state };
  // A bundle whose members were edited since would grant something other than what the approvers saw on the card.
  const members = request.bundleMembers === null ? null : bundleMembers(policy, request.resource);
  if (request.bundleMembers !== null && (members === undefined || members === null || !sameMembers(members, request.bundleMembers))) return { code: 'bundle_changed', bundle: request.resource };
  const query: AccessQuery = { resource: request.resource, role: request.role, duration: request.durationMs, reason: request.reason, extending: grant ? extendingOf(grant) : undefined };
  const decision = decide(policy, query, facts, now);
  if (decision.kind === 'refuse') return decision.error;
  // Stricter approvals than the stored ones make it stale; laxer ones (even auto-approval) keep the stored steps.
  if (decision.kind === 'needs_approval' && (!sameSteps(decision.steps, request.steps) || (request.selfApproval && !decision.request.selfApproval))) {
    return { code: 'approvals_changed', tier: decision.request.tier };
  }
  return null;
}
