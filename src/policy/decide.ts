// The policy's verdict on one request: pure (policy, request, facts, now) → decision plus the rule that made it.
import type { DomainError } from '../core/errors.ts';
import type { Standing } from '../core/ports.ts';
import { decideBundle, isBundle, type BundleMember } from './bundles.ts';
import { describeBusinessHours, isWithinBusinessHours, localTime } from './business-hours.ts';
import { closestNames } from './closest.ts';
import { formatDuration, type Ms } from './duration.ts';
import { extractTickets, matchesGlob } from './matchers.ts';
import type { Policy, Tier } from './schema.ts';
import { routeSteps, type RoutedStep, type TeamFacts } from './teams.ts';

export interface AccessQuery {
  resource: string;
  /** Omitted: the resource's only role, or an error listing its roles. */
  role?: string | undefined;
  /** Omitted: the tier's default_duration, else settings.default_duration. */
  duration?: Ms | undefined;
  reason: string;
  breakglass?: boolean;
  /** Set when this asks for more time on a live grant: its start and current end, in ms since the epoch. */
  extending?: { grantId: string; startsAt: number; expiresAt: number } | undefined;
  /** Set for a window that starts later (ms since the epoch); the grant then ends at startsAt + duration. */
  startsAt?: number | undefined;
}

export interface Facts extends TeamFacts {
  /** Names of the policy groups the requester belongs to right now. */
  groups: ReadonlySet<string>;
  /** Name of the channel the command came from, as Slack reports it (break-glass only). */
  channelName?: string | null | undefined;
  /** Break-glass grants this requester received in the last hour (break-glass only). */
  breakglassUsesLastHour?: number;
  /** The requester's place in Slack; unknown counts as a member only where no Slack is asked (tests, offline explain). */
  standing?: Standing;
  /** Set while an admin has blocked the requester (`/access revoke-all`): everything is refused until unblocked. */
  blocked?: boolean;
}

/** The policy entry that decided, as a path into the file (`tiers.high.approvals`), and why it applied. */
export interface RuleRef {
  path: (string | number)[];
  why: string;
}

export interface ResolvedRequest {
  resource: string;
  role: string;
  tier: string;
  duration: Ms;
  tickets: string[];
  selfApproval: boolean;
  /** Set when break-glass shortened the requested duration to its maximum. */
  capped?: { requested: Ms; max: Ms };
  /** Set for a bundle (`resource` is then the bundle's name): what it grants, in order. */
  members?: BundleMember[];
}

export type Decision =
  /** `group`: the policy group whose membership made it automatic (a bundle's: every such group, comma-separated); the grant ends when the requester leaves it (any of them). */
  | { kind: 'auto_approve'; request: ResolvedRequest; rule: RuleRef; group?: string }
  | { kind: 'needs_approval'; request: ResolvedRequest; steps: RoutedStep[]; rule: RuleRef }
  | { kind: 'refuse'; error: DomainError; rule: RuleRef };

export function decide(policy: Policy, query: AccessQuery, facts: Facts, now: Date): Decision {
  if (facts.blocked) return refuse({ code: 'user_blocked' }, ['settings', 'admins'], 'an admin blocked this person with /access revoke-all; only /access unblock lifts it');
  const outsider = outsiderOf(policy, facts.standing ?? 'member');
  if (outsider !== null) {
    return refuse({ code: 'outsider_refused', standing: outsider }, ['settings', 'allow_guests'], `${outsider === 'guest' ? 'Slack guests' : 'people from other Slack workspaces'} may not request access unless settings.allow_guests is true`);
  }
  if (isBundle(policy, query.resource)) {
    const tierOf = (m: BundleMember) => { const t = resolveTarget(policy, m); return t.ok ? t.tier : undefined; };
    return decideBundle(policy, query.resource, query, (q) => decide(policy, q, facts, now), (m) => tierOf(m)?.max_duration, (m) => tierOf(m)?.default_duration ?? policy.settings.default_duration);
  }
  const target = resolveTarget(policy, query);
  if (!target.ok) return target.refusal;
  const { resourceName, role, tierName, tier } = target;
  const tickets = extractTickets(policy.settings.ticket_pattern, query.reason);
  const requested = query.duration ?? tier.default_duration ?? policy.settings.default_duration;
  const base = { resource: resourceName, role, tier: tierName, tickets, selfApproval: tier.self_approval };

  const unschedulable = scheduleRefusal(policy, query, now);
  if (unschedulable !== null) return unschedulable;
  // Conditions like business hours are judged at the window's start, when the access would be used.
  const at = query.startsAt === undefined ? now : new Date(query.startsAt);
  if (query.breakglass) return decideBreakglass(policy, query, facts, { ...base, duration: requested });

  const notEligible = eligibility(policy, resourceName, facts);
  if (notEligible !== null) return notEligible;
  if (query.extending !== undefined) {
    const over = extensionOverMax(query.extending, requested, tier.max_duration, now);
    if (over !== null) {
      return refuse(
        { code: 'extension_too_long', grantId: query.extending.grantId, by: requested, total: over.total, max: tier.max_duration, tier: tierName, allowance: over.allowance, endsIn: over.endsIn },
        ['tiers', tierName, 'max_duration'],
        `the grant would last ${formatDuration(over.total)} from start to end, more than tier ${tierName}'s maximum of ${formatDuration(tier.max_duration)}`,
      );
    }
  }
  if (requested > tier.max_duration) {
    return refuse(
      { code: 'duration_too_long', requested, max: tier.max_duration, tier: tierName },
      ['tiers', tierName, 'max_duration'],
      `${formatDuration(requested)} is more than tier ${tierName}'s maximum of ${formatDuration(tier.max_duration)}`,
    );
  }
  const request: ResolvedRequest = { ...base, duration: requested };
  const auto = tier.auto_approve;
  if (auto === 'always') {
    return { kind: 'auto_approve', request, rule: { path: ['tiers', tierName, 'auto_approve'], why: `tier ${tierName} is always auto-approved` } };
  }
  let unmet: string[] = [];
  if (auto !== undefined) {
    const checked = checkConditions(policy, auto, request, facts, at);
    if (checked.unmet.length === 0) {
      const rule = { path: ['tiers', tierName, 'auto_approve'], why: `every auto_approve condition of tier ${tierName} held: ${checked.met.join('; ')}` };
      return { kind: 'auto_approve', request, rule, ...(checked.group === undefined ? {} : { group: checked.group }) };
    }
    unmet = checked.unmet;
  }
  if (tier.approvals === undefined) {
    return refuse({ code: 'conditions_unmet', resource: resourceName, tier: tierName, unmet }, ['tiers', tierName, 'auto_approve'], `tier ${tierName} grants only when its conditions hold: ${unmet.join('; ')}`);
  }
  const why =
    auto === undefined
      ? `tier ${tierName} always needs approval`
      : `not auto-approved (${unmet.join('; ')}), so tier ${tierName} needs approval`;
  const routed = routeSteps(policy, tier.approvals, facts);
  const routing = routed.notes.length === 0 ? '' : `; ${routed.notes.join('; ')}`;
  return { kind: 'needs_approval', request, steps: routed.steps, rule: { path: ['tiers', tierName, 'approvals'], why: `${why}${routing}` } };
}

/**
 * A tier's max_duration bounds a grant's whole life (start → end), not each extension alone; otherwise
 * repeated auto-approved extensions would make an 8h tier last for days. Null when `by` still fits.
 */
export function extensionOverMax(grant: { startsAt: number; expiresAt: number }, by: Ms, max: Ms, now: Date): { total: Ms; allowance: Ms; endsIn: Ms } | null {
  const total = grant.expiresAt - grant.startsAt + by;
  if (total <= max) return null;
  return { total, allowance: Math.max(0, max - (grant.expiresAt - grant.startsAt)), endsIn: Math.max(0, grant.expiresAt - now.getTime()) };
}

/** A later start is refused for break-glass (an incident is now), in the past, or beyond settings.max_schedule_ahead. */
function scheduleRefusal(policy: Policy, query: AccessQuery, now: Date): (Decision & { kind: 'refuse' }) | null {
  const startsAt = query.startsAt;
  if (startsAt === undefined) return null;
  if (query.breakglass) return refuse({ code: 'breakglass_scheduled' }, ['breakglass'], 'break-glass grants at once and cannot be scheduled');
  if (startsAt <= now.getTime()) return refuse({ code: 'start_in_past', startsAt }, ['settings', 'max_schedule_ahead'], 'a scheduled start must be in the future');
  const max = policy.settings.max_schedule_ahead;
  if (startsAt - now.getTime() > max) return refuse({ code: 'start_too_far', startsAt, max }, ['settings', 'max_schedule_ahead'], `a window may start at most ${formatDuration(max)} ahead`);
  return null;
}

/** Guests and people from other workspaces are refused unless the policy lets them in; null when this person may act. */
export function outsiderOf(policy: Policy, standing: Standing): Exclude<Standing, 'member'> | null {
  return standing === 'member' || policy.settings.allow_guests ? null : standing;
}

function eligibility(policy: Policy, resourceName: string, facts: Facts): (Decision & { kind: 'refuse' }) | null {
  const eligible = policy.resources[resourceName]?.eligible;
  if (eligible === undefined || eligible.some((g) => facts.groups.has(g))) return null;
  return refuse({ code: 'not_eligible', resource: resourceName, eligible }, ['resources', resourceName, 'eligible'], `only members of ${eligible.join(', ')} may request ${resourceName}`);
}

type Target = { ok: true; resourceName: string; role: string; tierName: string; tier: Tier } | { ok: false; refusal: Decision & { kind: 'refuse' } };

/** Resource, role and effective tier (a role may override its resource's tier). */
export function resolveTarget(policy: Policy, query: Pick<AccessQuery, 'resource' | 'role'>): Target {
  const resource = Object.hasOwn(policy.resources, query.resource) ? policy.resources[query.resource] : undefined;
  if (resource === undefined) {
    const closest = closestNames(query.resource, Object.keys(policy.resources));
    return { ok: false, refusal: refuse({ code: 'unknown_resource', input: query.resource, closest }, ['resources'], `there is no resource "${query.resource}"`) };
  }
  const roles = Object.keys(resource.roles);
  const at = ['resources', query.resource, 'roles'];
  let role = query.role;
  if (role === undefined) {
    if (roles.length !== 1) {
      return { ok: false, refusal: refuse({ code: 'role_required', resource: query.resource, roles }, at, `${query.resource} has several roles and none was named`) };
    }
    role = roles[0] as string;
  }
  const roleOptions = Object.hasOwn(resource.roles, role) ? resource.roles[role] : undefined;
  if (roleOptions === undefined) {
    return { ok: false, refusal: refuse({ code: 'unknown_role', resource: query.resource, input: role, roles }, at, `${query.resource} has no role "${role}"`) };
  }
  const tierName = roleOptions.tier ?? resource.tier;
  const tier = policy.tiers[tierName] as Tier; // existence is guaranteed by crossCheck at load
  return { ok: true, resourceName: query.resource, role, tierName, tier };
}

function checkConditions(
  policy: Policy,
  conditions: Exclude<Tier['auto_approve'], 'always' | undefined>,
  request: ResolvedRequest,
  facts: Facts,
  now: Date,
): { met: string[]; unmet: string[]; group?: string } {
  const met: string[] = [];
  const unmet: string[] = [];
  const note = (holds: boolean, yes: string, no: string) => (holds ? met.push(yes) : unmet.push(no));
  const hours = policy.settings.business_hours;
  if (conditions.business_hours && hours !== undefined) {
    const local = localTime(now, policy.settings.timezone);
    note(isWithinBusinessHours(hours, local), `within business hours (${local.label})`, `outside business hours (${local.label}; hours are ${describeBusinessHours(hours)})`);
  }
  if (conditions.ticket) {
    note(request.tickets.length > 0, `ticket ${request.tickets.join(', ')}`, 'no ticket reference in the reason');
  }
  if (conditions.max_duration !== undefined) {
    const max = formatDuration(conditions.max_duration);
    note(request.duration <= conditions.max_duration, `${formatDuration(request.duration)} is within ${max}`, `${formatDuration(request.duration)} is longer than ${max}`);
  }
  if (conditions.groups !== undefined) {
    const member = conditions.groups.find((g) => facts.groups.has(g));
    note(member !== undefined, `requester is in ${member}`, `requester is not in ${conditions.groups.join(' or ')}`);
    if (member !== undefined) return { met, unmet, group: member };
  }
  return { met, unmet };
}

function decideBreakglass(policy: Policy, query: AccessQuery, facts: Facts, request: ResolvedRequest): Decision {
  const glass = policy.breakglass;
  if (glass === undefined) return refuse({ code: 'breakglass_not_configured' }, ['breakglass'], 'the policy has no breakglass section');
  if (query.reason.trim() === '') return refuse({ code: 'reason_required' }, ['breakglass'], 'break-glass needs a reason');
  if (glass.channels !== undefined) {
    const name = facts.channelName ?? null;
    if (name === null || !glass.channels.some((g) => matchesGlob(g, name))) {
      return refuse({ code: 'breakglass_wrong_channel', channel: name, allowed: glass.channels }, ['breakglass', 'channels'], `break-glass works only in channels matching ${glass.channels.join(', ')}`);
    }
  }
  if (glass.groups !== undefined && !glass.groups.some((g) => facts.groups.has(g))) {
    return refuse({ code: 'breakglass_not_in_group', groups: glass.groups }, ['breakglass', 'groups'], `break-glass is for members of ${glass.groups.join(', ')}`);
  }
  // Break-glass skips approval, never eligibility: who may hold a resource at all is the same in an incident.
  const notEligible = eligibility(policy, request.resource, facts);
  if (notEligible !== null) return notEligible;
  if ((facts.breakglassUsesLastHour ?? 0) >= glass.max_per_hour) {
    return breakglassRateLimited(glass.max_per_hour);
  }
  const capped = request.duration > glass.max_duration ? { requested: request.duration, max: glass.max_duration } : undefined;
  const granted: ResolvedRequest = { ...request, duration: Math.min(request.duration, glass.max_duration), ...(capped ? { capped } : {}) };
  const where = facts.channelName ? ` in #${facts.channelName}` : '';
  return { kind: 'auto_approve', request: granted, rule: { path: ['breakglass'], why: `break-glass${where}: granted at once, reviewed afterwards` } };
}

/** The refusal of a break-glass request beyond the hourly limit; also given where the request is stored (core). */
export function breakglassRateLimited(max: number): Decision & { kind: 'refuse' } {
  return refuse({ code: 'breakglass_rate_limited', max }, ['breakglass', 'max_per_hour'], `at most ${max} break-glass grants per person per hour`);
}

function refuse(error: DomainError, path: (string | number)[], why: string): Decision & { kind: 'refuse' } {
  return { kind: 'refuse', error, rule: { path, why } };
}
