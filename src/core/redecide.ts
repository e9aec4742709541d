// Approvals are judged against the policy in force when the click comes, not the one the request was made under.
import { bundleMembers, sameMembers } from '../policy/bundles.ts';
import { decide, type AccessQuery, type Facts } from '../policy/decide.ts';
import { TEAM_LEAD, type Policy } from '../policy/schema.ts';
import { sameRouting, type RoutedStep } from '../policy/teams.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { DomainError } from './errors.ts';
import { escalationWithdrawn } from './escalation-rules.ts';
import { grantRef } from './ids.ts';

/** The grant an extension adds to, as the policy's extension rule sees it. */
export const extendingOf = (grant: GrantRecord): AccessQuery['extending'] => ({ grantId: grantRef(grant.id), startsAt: grant.startsAt ?? grant.createdAt, expiresAt: grant.expiresAt ?? grant.createdAt });


/**
 * Why a pending request may no longer be granted, or null when it still may. `facts` are the requester's now;
 * `grant` is the grant an extension request extends, as it stands now.
 */
export function whyNoLongerAllowed(policy: Policy, request: RequestRecord, grant: GrantRecord | null, facts: Facts, now: Date): DomainError | null {
  if (grant !== null && grant.state !== 'active') return { code: 'not_active', grantId: grantRef(grant.id), state: grant.state };
  // A bundle whose members were edited since would grant something other than what the approvers saw on the card.
  const members = request.bundleMembers === null ? null : bundleMembers(policy, request.resource);
  if (request.bundleMembers !== null && (members === undefined || members === null || !sameMembers(members, request.bundleMembers))) return { code: 'bundle_changed', bundle: request.resource };
  // A window still ahead is judged as at its start; once it has begun, as now (a start in the past is no refusal here).
  const startsAt = request.startsAt !== null && request.startsAt > now.getTime() ? request.startsAt : undefined;
  const query: AccessQuery = { resource: request.resource, role: request.role, duration: request.durationMs, reason: request.reason, extending: grant ? extendingOf(grant) : undefined, startsAt };
  const decision = decide(policy, query, facts, now);
  if (decision.kind === 'refuse') return decision.error;
  if (decision.kind !== 'needs_approval') return null; // laxer approvals (even auto-approval) keep the stored steps
  // Stricter approvals than the stored ones make it stale (so do other team leads, or a lead's step now falling back).
  // A lead blocked since the request was made leaves it routed as it was (their clicks are refused, and what they
  // approved is refused as `approval_by_blocked`); one made after went past them: either routing stands.
  // A fallback taken for a block now, where the stored one was taken for another reason, keeps the requester out now.
  const newlyPastBlocks = (steps: RoutedStep[]) => steps.some((s, i) => s.from !== TEAM_LEAD && s.leads_blocked !== undefined && request.steps[i]?.leads_blocked === undefined);
  const asStored = (steps: RoutedStep[]) => sameRouting(steps, request.steps) && !escalationWithdrawn(steps, request.steps) && !newlyPastBlocks(steps);
  const routedWith = (blockedLeads: ReadonlySet<string> | undefined) => {
    const again = decide(policy, query, { ...facts, blockedLeads }, now);
    return again.kind === 'needs_approval' && asStored(again.steps);
  };
  // A request made while leads were blocked went past them (the step names them): it stands once those are unblocked,
  // but not when other leads (added since, or of a team the requester moved to) would decide it now.
  const passed = request.steps.flatMap((s) => s.leads_blocked ?? []);
  const routed =
    asStored(decision.steps) ||
    ((facts.blockedLeads?.size ?? 0) > 0 && routedWith(undefined)) ||
    (passed.length > 0 && routedWith(new Set([...passed, ...(facts.blockedLeads ?? [])])));
  if (!routed || (request.selfApproval && !decision.request.selfApproval)) return { code: 'approvals_changed', tier: decision.request.tier };
  return null;
}
