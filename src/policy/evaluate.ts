// One request, as explain, policy tests and replay state it, through decide() to a comparable outcome.
import type { DomainError } from '../core/errors.ts';
import type { Standing } from '../core/ports.ts';
import { decide, resolveTarget, type AccessQuery, type Decision } from './decide.ts';
import type { Ms } from './duration.ts';
import type { Policy } from './schema.ts';
import { listedTeamsOf, type RoutedStep } from './teams.ts';

export interface PolicyRequest {
  user: string;
  resource: string;
  role?: string | undefined;
  duration?: Ms | undefined;
  reason: string;
  breakglass: boolean;
  /** The channel's name (break-glass checks it against its globs). */
  channelName?: string | null | undefined;
  at: Date;
  /** A window that starts later (ms since the epoch): its conditions are judged at its start. */
  startsAt?: number | undefined;
  /** The requester's place in Slack and whether an admin blocked them; by default a full member, not blocked. */
  standing?: Standing | undefined;
  blocked?: boolean | undefined;
  /** An extension of a live grant: its start and end then, which the tier's max_duration bounds in total. */
  extending?: AccessQuery['extending'];
}

export type OutcomeKind = 'auto-approve' | 'needs-approval' | 'refuse';

/** What a decision means to the requester, in the terms policy tests and replay compare. */
export interface Outcome {
  decision: OutcomeKind;
  /** The effective tier; for a refusal, the tier the resource and role would have had (null when unknown). */
  tier: string | null;
  error: DomainError['code'] | null;
  /** What would be granted (null when refused). */
  duration: Ms | null;
  steps: RoutedStep[] | null;
}

export interface Evaluation {
  decision: Decision;
  outcome: Outcome;
}

/**
 * `breakglassUsesLastHour`: the requester's break-glass grants in the hour before (its rate limit). `teams`: the
 * requester's teams; by default those whose fixed lists name them.
 */
export function evaluate(policy: Policy, request: PolicyRequest, groups: ReadonlySet<string>, breakglassUsesLastHour = 0, teams: ReadonlySet<string> = listedTeamsOf(policy, request.user)): Evaluation {
  const decision = decide(
    policy,
    { resource: request.resource, role: request.role, duration: request.duration, reason: request.reason, breakglass: request.breakglass, startsAt: request.startsAt, extending: request.extending },
    { groups, teams, user: request.user, channelName: request.channelName ?? null, breakglassUsesLastHour, standing: request.standing, blocked: request.blocked },
    request.at,
  );
  return { decision, outcome: outcomeOf(policy, decision, request) };
}

export function outcomeOf(policy: Policy, decision: Decision, request: Pick<PolicyRequest, 'resource' | 'role'>): Outcome {
  if (decision.kind === 'refuse') {
    const target = resolveTarget(policy, request);
    return { decision: 'refuse', tier: target.ok ? target.tierName : null, error: decision.error.code, duration: null, steps: null };
  }
  return {
    decision: decision.kind === 'auto_approve' ? 'auto-approve' : 'needs-approval',
    tier: decision.request.tier,
    error: null,
    duration: decision.request.duration,
    steps: decision.kind === 'needs_approval' ? decision.steps : null,
  };
}
