// The row a new request is stored as, from what was asked and what the policy decided: pure, so open() stays about effects.
import type { Decision } from '../policy/decide.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { NewAccessRequest } from './access-types.ts';
import { escalateAtFor } from './escalation-rules.ts';

type AllowedDecision = Exclude<Decision, { kind: 'refuse' }>;

export function newRequestRow(input: NewAccessRequest, decision: AllowedDecision, extending: GrantRecord | null, now: Date, timeoutAt: Date): Omit<RequestRecord, 'id' | 'currentStep' | 'escalatedStep' | 'decisionNote' | 'cardChannel' | 'cardTs'> {
  const resolved = decision.request;
  const auto = decision.kind === 'auto_approve';
  return {
    requester: input.requester,
    resource: resolved.resource,
    role: resolved.role,
    tier: resolved.tier,
    durationMs: resolved.duration,
    startsAt: input.startsAt ?? null,
    reason: input.reason,
    tickets: resolved.tickets,
    breakglass: input.breakglass ?? false,
    state: auto ? 'approved' : 'pending',
    steps: decision.kind === 'needs_approval' ? decision.steps : [],
    selfApproval: resolved.selfApproval,
    extendsGrantId: extending?.id ?? null,
    bundleMembers: resolved.members ?? null,
    channelId: input.channelId ?? null,
    rule: `${decision.rule.path.join('.')}: ${decision.rule.why}`,
    createdAt: now.getTime(),
    timeoutAt: auto ? null : timeoutAt.getTime(),
    escalateAt: decision.kind === 'needs_approval' ? escalateAtFor(decision.steps, 0, now) : null,
    decidedAt: auto ? now.getTime() : null,
    approvedAt: auto ? now.getTime() : null,
    decidedBy: auto ? 'policy' : null,
    autoGroup: decision.kind === 'auto_approve' ? (decision.group ?? null) : null,
  };
}
