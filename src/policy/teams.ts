// Team leads: which leads a `from: team_lead` step (or a `review: team_lead`) goes to, decided from the person's teams.
import type { ApprovalStep, Policy } from './schema.ts';
import { TEAM_LEAD } from './schema.ts';

/**
 * An approval step as a request stores it: a group, or `team_lead` with the leads it went to. A team-lead step
 * that had to fall back is stored as its fallback group, so the approval check never needs the policy's teams.
 */
export type RoutedStep = {
  from: string;
  count: number;
  /** Only for `from: team_lead`: the leads who may decide this step, fixed when the request was made. */
  leads?: string[];
  /** When the step has no decision this long after it began, `escalate_to` may decide it too. */
  escalate_after?: number;
  escalate_to?: string;
  /**
   * Leads of the requester an admin had blocked when the step was routed, and so left out: of the leads' step, or of
   * its fallback when too few were left. The requester never counts on such a fallback (even where the tier allows
   * self-approval), and an unblock of exactly these leads does not make the request stale.
   */
  leads_blocked?: string[];
};

/** Who a person is for team-lead routing: their teams (as member or lead) and their user id. */
export interface TeamFacts {
  teams?: ReadonlySet<string> | undefined;
  user?: string | undefined;
  /** Leads of the person's teams whom an admin blocked (revoke-all): they can decide nothing, so nothing goes to them. */
  blockedLeads?: ReadonlySet<string> | undefined;
}

/** Teams whose fixed lists name this person as a member or a lead (Slack user groups need the directory: see membership). */
export function listedTeamsOf(policy: Policy, user: string): Set<string> {
  return new Set(Object.entries(policy.teams).filter(([, t]) => t.leads.includes(user) || t.members?.includes(user)).map(([name]) => name));
}

/** The leads of these teams, each once, in policy order. */
export function leadsOf(policy: Policy, teams: ReadonlySet<string>): string[] {
  return [...new Set(Object.entries(policy.teams).flatMap(([name, team]) => (teams.has(name) ? team.leads : [])))];
}

/**
 * The leads who may act for this person, or why nobody may: a lead never decides or reviews their own access, so
 * a lead's own request goes elsewhere, as does a request from someone in no team or whose teams have too few leads.
 */
export function teamLeadsFor(policy: Policy, facts: TeamFacts, count = 1): { leads: string[]; blocked?: string[] } | { none: string; blocked?: string[] } {
  const teams = facts.teams ?? new Set<string>();
  if (teams.size === 0) return { none: 'the requester is in no team' };
  const leads = leadsOf(policy, teams);
  const own = [...teams].find((t) => facts.user !== undefined && policy.teams[t]?.leads.includes(facts.user));
  if (own !== undefined) return { none: `the requester leads ${own}` };
  if (leads.length < count) return { none: `the teams ${[...teams].join(', ')} have fewer than ${count} leads` };
  const able = leads.filter((lead) => !facts.blockedLeads?.has(lead));
  const blocked = able.length === leads.length ? {} : { blocked: leads.filter((lead) => !able.includes(lead)) };
  // Not saying why: whom an admin blocked is for the admins, and explain shows this note to anyone.
  if (able.length < count) return { none: `fewer than ${count} of the leads of ${[...teams].join(', ')} can decide now`, ...blocked };
  return { leads: able, ...blocked };
}

/** The tier's steps with each `team_lead` step sent to the requester's leads or its fallback, and a note per routed step. */
export function routeSteps(policy: Policy, steps: readonly ApprovalStep[], facts: TeamFacts): { steps: RoutedStep[]; notes: string[] } {
  const notes: string[] = [];
  const routed = steps.map((step, i): RoutedStep => {
    const escalation = step.escalate_to === undefined || step.escalate_after === undefined ? {} : { escalate_after: step.escalate_after, escalate_to: step.escalate_to };
    if (step.from !== TEAM_LEAD) return { from: step.from, count: step.count, ...escalation };
    const found = teamLeadsFor(policy, facts, step.count);
    if ('leads' in found) {
      notes.push(`step ${i + 1} goes to the leads of ${[...(facts.teams ?? [])].join(', ')} (${found.leads.join(', ')})`);
      return { from: TEAM_LEAD, count: step.count, leads: found.leads, ...escalation, ...(found.blocked ? { leads_blocked: found.blocked } : {}) };
    }
    const fallback = step.fallback as string; // required by the schema when from is team_lead
    notes.push(`step ${i + 1} goes to its fallback ${fallback}: ${found.none}`);
    return { from: fallback, count: step.count, ...escalation, ...(found.blocked ? { leads_blocked: found.blocked } : {}) };
  });
  return { steps: routed, notes };
}

/** Two step lists route the same way: same groups and counts, and team-lead steps to the same leads. */
export function sameRouting(a: readonly RoutedStep[], b: readonly RoutedStep[]): boolean {
  const leadsKey = (s: RoutedStep) => [...(s.leads ?? [])].sort().join(',');
  return a.length === b.length && a.every((s, i) => s.from === b[i]?.from && s.count === b[i]?.count && leadsKey(s) === leadsKey(b[i] as RoutedStep));
}

/** Reviewers of a grant of a tier with `review:` once it ends: a group, or the grantee's leads (the admins when there are none). */
export function reviewersFor(policy: Policy, review: string, facts: TeamFacts): { group: string } | { leads: string[] } | null {
  if (review !== TEAM_LEAD) return { group: review };
  const found = teamLeadsFor(policy, facts);
  if ('leads' in found) return { leads: found.leads };
  return policy.settings.admins === undefined ? null : { group: policy.settings.admins };
}
