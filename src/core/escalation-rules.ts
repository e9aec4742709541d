// Pure rules of escalation: when a step escalates, whether it has, and who may decide it afterwards.
import type { ApprovalStep } from '../policy/schema.ts';
import type { RequestRecord } from './records.ts';
import type { DomainError } from './errors.ts';
import { requestRef } from './ids.ts';

type EscalationFields = Pick<RequestRecord, 'state' | 'steps' | 'currentStep' | 'escalateAt' | 'escalatedStep' | 'timeoutAt'>;

/** When step `index` escalates if it begins at `startedAt` and nobody decides it; null when that step never escalates. */
export function escalateAtFor(steps: readonly ApprovalStep[], index: number, startedAt: Date): number | null {
  const after = steps[index]?.escalate_after;
  return after === undefined || steps[index]?.escalate_to === undefined ? null : startedAt.getTime() + after;
}

/** Whether the step this request waits on has escalated. A step escalates at most once; the next step starts unescalated. */
export const hasEscalated = (request: Pick<RequestRecord, 'currentStep' | 'escalatedStep'>): boolean => request.escalatedStep !== null && request.escalatedStep === request.currentStep;

/** The group the current step escalates (or escalated) to, if it has one. */
export const escalationGroupOf = (request: Pick<RequestRecord, 'steps' | 'currentStep'>): string | undefined => request.steps[request.currentStep]?.escalate_to;

/**
 * The groups whose members may decide the current step: its own `from`, and its `escalate_to` once it escalated —
 * never before. The count is unchanged: members of both groups add up towards it, each person once.
 */
export function deciderGroups(request: Pick<RequestRecord, 'steps' | 'currentStep' | 'escalatedStep'>): string[] {
  const step = request.steps[request.currentStep];
  if (step === undefined) return [];
  const to = step.escalate_to;
  return to !== undefined && hasEscalated(request) ? [step.from, to] : [step.from];
}

/**
 * Whether the current step should escalate now: still pending, not past its timeout (that ends it instead), its time
 * has come and it has not escalated yet. Read again inside the transaction that escalates, so it happens once.
 */
export function isEscalationDue(request: EscalationFields, now: Date): boolean {
  if (request.state !== 'pending' || request.escalateAt === null || request.escalateAt > now.getTime()) return false;
  if (request.timeoutAt !== null && request.timeoutAt <= now.getTime()) return false;
  return escalationGroupOf(request) !== undefined && !hasEscalated(request);
}

/** The refusal for someone outside the current step's groups, saying whether (and to whom) it escalates. */
export function notInStepGroup(request: Pick<RequestRecord, 'id' | 'steps' | 'currentStep' | 'escalatedStep'>): DomainError {
  const to = escalationGroupOf(request);
  const base = { code: 'not_in_step_group' as const, requestId: requestRef(request.id), group: request.steps[request.currentStep]?.from ?? '', step: request.currentStep };
  return to === undefined ? base : { ...base, escalation: { to, done: hasEscalated(request) } };
}

/**
 * Whether the policy in force no longer escalates a stored step the way the request was made with (escalation removed,
 * or sent to another group): the stored escalation would let a group decide that today's policy does not name.
 * An escalation added since is no reason: the stored steps are then the stricter ones.
 */
export const escalationWithdrawn = (current: readonly ApprovalStep[], stored: readonly ApprovalStep[]): boolean =>
  stored.some((step, i) => step.escalate_to !== undefined && current[i]?.escalate_to !== step.escalate_to);
