// Bundles: several resource/role pairs requested, decided, approved and ended as one.
import type { DomainError } from '../core/errors.ts';
import type { AccessQuery, Decision, ResolvedRequest } from './decide.ts';
import type { PolicyIssue } from './cross-check.ts';
import type { Policy, Resource } from './schema.ts';
import type { RoutedStep } from './teams.ts';

/** One resource/role pair of a bundle, as stored with a bundle request. */
export interface BundleMember {
  resource: string;
  role: string;
}

/** The word a bundle request carries where a resource's role goes (requests store one role; a bundle has several). */
export const BUNDLE_ROLE = 'bundle';

export const memberName = (m: BundleMember): string => `${m.resource}:${m.role}`;

export function parseMember(text: string): BundleMember {
  const [resource = '', role = ''] = text.split(':');
  return { resource, role };
}

export const isBundle = (policy: Pick<Policy, 'bundles'>, name: string): boolean => Object.hasOwn(policy.bundles, name);

export const bundleMembers = (policy: Pick<Policy, 'bundles'>, name: string): BundleMember[] | undefined =>
  isBundle(policy, name) ? (policy.bundles[name] ?? []).map(parseMember) : undefined;

export const sameMembers = (a: readonly BundleMember[], b: readonly BundleMember[]): boolean =>
  a.length === b.length && a.every((m, i) => m.resource === b[i]?.resource && m.role === b[i]?.role);

/** The bundles all of whose members are among these requestable resources, for help and the request form. */
export const requestableBundles = (policy: Pick<Policy, 'bundles'>, resources: readonly string[]): string[] =>
  Object.keys(policy.bundles).filter((name) => (bundleMembers(policy, name) ?? []).every((m) => resources.includes(m.resource)));

/** How help and the request form describe a bundle. */
export const describeBundle = (policy: Pick<Policy, 'bundles'>, name: string): string => `bundle: ${(bundleMembers(policy, name) ?? []).map((m) => `${m.resource} ${m.role}`).join(', ')}`;

/** policy check: every member names an existing resource and role, no bundle names another bundle or shadows a resource. */
export function checkBundles(bundles: Record<string, string[]>, resources: Record<string, Resource>, resourceNames: ReadonlySet<string> | undefined): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [bundle, members] of Object.entries(bundles)) {
    const at = ['bundles', bundle];
    if (resourceNames?.has(bundle)) issues.push({ path: at, message: `bundle "${bundle}" has the name of a resource; rename one of them, or a request for "${bundle}" would be ambiguous` });
    const seen = new Set<string>();
    members.forEach((text, i) => {
      const { resource, role } = parseMember(text);
      if (seen.has(text)) issues.push({ path: [...at, i], message: `"${text}" is listed twice; list each resource:role once` });
      seen.add(text);
      if (Object.hasOwn(bundles, resource)) {
        issues.push({ path: [...at, i], message: `"${resource}" is a bundle; bundles cannot contain bundles, so list its members here instead` });
        return;
      }
      if (resourceNames === undefined) return;
      const target = Object.hasOwn(resources, resource) ? resources[resource] : undefined;
      if (!resourceNames.has(resource)) issues.push({ path: [...at, i], message: `unknown resource "${resource}"; bundle members are resource:role pairs from the resources section` });
      else if (target !== undefined && !Object.hasOwn(target.roles, role)) issues.push({ path: [...at, i], message: `resource "${resource}" has no role "${role}"; its roles are ${Object.keys(target.roles).map((r) => `"${r}"`).join(', ')}` });
    });
  }
  return issues;
}

type Refusal = Decision & { kind: 'refuse' };
type Granting = Exclude<Decision, Refusal>;

/** How many approvals a decision needs in all: auto-approval needs none. */
const approvalsNeeded = (d: Granting): number => (d.kind === 'auto_approve' ? 0 : d.steps.reduce((n, s) => n + s.count, 0));

/**
 * Every step any member needs, once per group with the highest count, so no member's approvers can be skipped;
 * `decisions` come strictest first, so the strictest tier's steps lead in their order. A merged step escalates only
 * when every step merged into it escalates to the same group (after the longest of their waits): otherwise one
 * member's escalation group could decide another member that its own tier never lets it decide.
 */
function mergedSteps(decisions: Granting[]): RoutedStep[] {
  const steps: RoutedStep[] = [];
  for (const d of decisions) {
    if (d.kind !== 'needs_approval') continue;
    for (const step of d.steps) {
      const at = steps.findIndex((s) => s.from === step.from);
      const same = steps[at];
      if (same === undefined) steps.push({ ...step });
      else steps[at] = mergeStep(same, step);
    }
  }
  return steps;
}

function mergeStep(a: RoutedStep, b: RoutedStep): RoutedStep {
  const count = Math.max(a.count, b.count);
  // Two team-lead steps of one requester went to the same leads; only leads both name decide (never an empty group).
  const leads = a.leads === undefined ? {} : { leads: a.leads.filter((l) => b.leads?.includes(l) ?? false) };
  // A step either member's routing sent past blocked leads keeps the requester out of the merged one.
  const passed = [...new Set([...(a.leads_blocked ?? []), ...(b.leads_blocked ?? [])])];
  const fellBack = passed.length === 0 ? {} : { leads_blocked: passed };
  if (a.escalate_to === undefined || a.escalate_to !== b.escalate_to || a.escalate_after === undefined || b.escalate_after === undefined) return { from: a.from, count, ...leads, ...fellBack };
  return { from: a.from, count, ...leads, escalate_after: Math.max(a.escalate_after, b.escalate_after), escalate_to: a.escalate_to, ...fellBack };
}

/**
 * The groups whose membership made an automatic bundle automatic, comma-separated (group names have no commas), in
 * member order: the grants end when the requester leaves any of them. Undefined when no member needed a group.
 */
function autoGroups(decisions: Granting[]): string | undefined {
  const groups = [...new Set(decisions.flatMap((d) => (d.kind === 'auto_approve' && d.group !== undefined ? [d.group] : [])))];
  return groups.length === 0 ? undefined : groups.join(',');
}

/**
 * A bundle is decided member by member for the same requester and duration: any refusal refuses the whole bundle,
 * naming the member. Its tier is the strictest member's (most approvals, then the smallest max_duration); its steps
 * are every member's steps, so a bundle never needs fewer approvals than any of its members alone. It is automatic
 * only when every member is, and then names every group that made a member automatic.
 */
export function decideBundle(policy: Policy, bundle: string, query: AccessQuery, decideMember: (q: AccessQuery) => Decision, maxDurationOf: (m: BundleMember) => number | undefined, defaultDurationOf: (m: BundleMember) => number | undefined): Decision {
  const members = bundleMembers(policy, bundle) ?? [];
  if (query.role !== undefined && query.role !== BUNDLE_ROLE) {
    const error: DomainError = { code: 'unknown_role', resource: bundle, input: query.role, roles: [BUNDLE_ROLE] };
    return { kind: 'refuse', error, rule: { path: ['bundles', bundle], why: `${bundle} is a bundle; it is requested as a whole, without a role` } };
  }
  const defaults = members.map(defaultDurationOf).filter((d): d is number => d !== undefined);
  const duration = query.duration ?? (defaults.length > 0 ? Math.min(...defaults) : policy.settings.default_duration);
  const decisions: Granting[] = [];
  for (const member of members) {
    const decision = decideMember({ ...query, resource: member.resource, role: member.role, duration });
    if (decision.kind === 'refuse') {
      const error: DomainError = { code: 'bundle_member_refused', bundle, member: memberName(member), cause: decision.error };
      return { kind: 'refuse', error, rule: { path: decision.rule.path, why: `bundle ${bundle} is refused as a whole because of ${memberName(member)}: ${decision.rule.why}` } };
    }
    decisions.push(decision);
  }
  const max = (i: number) => maxDurationOf(members[i] as BundleMember) ?? Number.POSITIVE_INFINITY;
  const order = decisions.map((_, i) => i).sort((a, b) => approvalsNeeded(decisions[b] as Granting) - approvalsNeeded(decisions[a] as Granting) || max(a) - max(b));
  const strictest = decisions[order[0] ?? 0] as Granting;
  const capped = decisions.find((d) => d.request.capped !== undefined)?.request.capped;
  const request: ResolvedRequest = {
    resource: bundle,
    role: BUNDLE_ROLE,
    tier: strictest.request.tier,
    duration: Math.min(...decisions.map((d) => d.request.duration)),
    tickets: strictest.request.tickets,
    selfApproval: decisions.every((d) => d.request.selfApproval),
    members,
    ...(capped ? { capped } : {}),
  };
  const whys = decisions.map((d, i) => `${memberName(members[i] as BundleMember)}: ${d.rule.why}`).join('; ');
  const steps = mergedSteps(order.map((i) => decisions[i] as Granting));
  const rule = { path: ['bundles', bundle], why: `bundle ${bundle}, decided member by member (${whys})` };
  if (steps.length > 0) return { kind: 'needs_approval', request, steps, rule };
  const group = autoGroups(decisions);
  return { kind: 'auto_approve', request, rule, ...(group === undefined ? {} : { group }) };
}
