// The effective change in access between two policies: per resource/role, break-glass and group members, only what differs.
import { describeBusinessHours } from './business-hours.ts';
import { formatDuration } from './duration.ts';
import { escalationSuffix } from './escalation-check.ts';
import type { Policy, Tier } from './schema.ts';

export interface AccessChange {
  /** `prod-db/read`, `break-glass`, or `group sre-leads`. */
  subject: string;
  aspect: string;
  /** null: the subject did not exist before (or no longer exists after). */
  before: string | null;
  after: string | null;
}

type Facets = Map<string, string>;

export function diffAccess(before: Policy, after: Policy): AccessChange[] {
  return [...diffSubjects(roleFacets(before), roleFacets(after)), ...diffSubjects(breakglassFacets(before), breakglassFacets(after)), ...diffSubjects(groupFacets(before), groupFacets(after))];
}

function diffSubjects(before: Map<string, Facets>, after: Map<string, Facets>): AccessChange[] {
  const changes: AccessChange[] = [];
  const subjects = [...new Set([...before.keys(), ...after.keys()])];
  for (const subject of subjects) {
    const was = before.get(subject);
    const now = after.get(subject);
    const aspects = [...new Set([...(was?.keys() ?? []), ...(now?.keys() ?? [])])];
    for (const aspect of aspects) {
      const b = was === undefined ? null : was.get(aspect);
      const a = now === undefined ? null : now.get(aspect);
      // Present on one side only (break-glass switched off): "enabled" already says all there is.
      if (b === undefined || a === undefined) continue;
      if (b !== a) changes.push({ subject, aspect, before: b, after: a });
    }
  }
  return changes;
}

/** What it takes to get each resource/role, in words that compare equal exactly when the access is the same. */
function roleFacets(policy: Policy): Map<string, Facets> {
  const out = new Map<string, Facets>();
  for (const [resourceName, resource] of Object.entries(policy.resources)) {
    for (const [role, options] of Object.entries(resource.roles)) {
      const tierName = options.tier ?? resource.tier;
      const tier = policy.tiers[tierName];
      if (tier === undefined) continue;
      out.set(
        `${resourceName}/${role}`,
        new Map([
          ['who may request', resource.eligible?.join(', ') ?? 'everyone'],
          ['tier', tierName],
          ['auto-approve', autoApprove(policy, tier)],
          ['approval steps', tier.approvals?.map((s) => `${s.count} from ${s.from}${escalationSuffix(s)}`).join(', then ') ?? 'none'],
          ['max duration', formatDuration(tier.max_duration)],
          ['default duration', formatDuration(tier.default_duration ?? policy.settings.default_duration)],
          ['self-approval', tier.self_approval ? 'counts' : 'does not count'],
          ['approvals channel', resource.approvals_channel ?? policy.settings.approvals_channel],
          ['provider', providerOf(resource.provider, role)],
        ]),
      );
    }
  }
  return out;
}

function autoApprove(policy: Policy, tier: Tier): string {
  const auto = tier.auto_approve;
  if (auto === undefined) return 'never';
  if (auto === 'always') return 'always';
  const { settings } = policy;
  const conditions = [
    auto.business_hours && settings.business_hours ? `in business hours (${describeBusinessHours(settings.business_hours)} ${settings.timezone})` : null,
    auto.ticket ? `with a ticket matching ${settings.ticket_pattern ?? '(no pattern)'}` : null,
    auto.max_duration !== undefined ? `for at most ${formatDuration(auto.max_duration)}` : null,
    auto.groups ? `for members of ${auto.groups.join(' or ')}` : null,
  ].filter((c): c is string => c !== null);
  return conditions.length === 0 ? 'always' : `when ${conditions.join(', ')}`;
}

function providerOf(provider: Policy['resources'][string]['provider'], role: string): string {
  switch (provider.type) {
    case 'postgres':
      return `postgres role ${provider.roles[role] ?? '(unmapped)'} via ${provider.connection_env}`;
    case 'webhook':
      return `webhook ${provider.url}`;
    case 'slack_usergroup':
      return `Slack user group ${provider.usergroup}`;
    default:
      return provider.type;
  }
}

function breakglassFacets(policy: Policy): Map<string, Facets> {
  const glass = policy.breakglass;
  if (glass === undefined) return new Map([['break-glass', new Map([['enabled', 'no']])]]);
  return new Map([
    [
      'break-glass',
      new Map([
        ['enabled', 'yes'],
        ['from channels', glass.channels?.join(', ') ?? 'any'],
        ['for members of', glass.groups?.join(', ') ?? 'anyone'],
        ['max duration', formatDuration(glass.max_duration)],
        ['uses per person per hour', String(glass.max_per_hour)],
        ['reviewed by', glass.review_by ?? policy.settings.admins ?? 'nobody'],
        ['announced in', glass.notify.join(', ') || 'nowhere extra'],
      ]),
    ],
  ]);
}

function groupFacets(policy: Policy): Map<string, Facets> {
  return new Map(
    Object.entries(policy.groups).map(([name, group]) => [
      `group ${name}`,
      new Map([
        ['members', [group.users?.length ? [...group.users].sort().join(', ') : null, group.slack_usergroup ? `Slack user group ${group.slack_usergroup}` : null].filter(Boolean).join(' + ')],
        ['admins', policy.settings.admins === name ? 'yes' : 'no'],
      ]),
    ]),
  );
}

export function renderText(changes: AccessChange[]): string[] {
  if (changes.length === 0) return ['No change in access.'];
  const lines: string[] = [];
  let subject: string | null = null;
  for (const change of changes) {
    if (change.subject !== subject) {
      subject = change.subject;
      const whole = changes.filter((c) => c.subject === subject);
      const state = whole.every((c) => c.before === null) ? ' (new)' : whole.every((c) => c.after === null) ? ' (removed)' : '';
      lines.push(`${subject}${state}`);
    }
    lines.push(`  ${change.aspect}: ${change.before === null ? change.after : change.after === null ? change.before : `${change.before} → ${change.after}`}`);
  }
  return lines;
}

export function renderMarkdown(changes: AccessChange[]): string[] {
  if (changes.length === 0) return ['**Sesame policy:** no change in access.'];
  const cell = (text: string | null) => (text === null ? '—' : text.replace(/\|/g, '\\|'));
  return [
    '### Sesame policy: change in access',
    '',
    '| Resource / role | What | Before | After |',
    '| --- | --- | --- | --- |',
    ...changes.map((c) => `| ${c.subject.includes('/') ? `\`${c.subject}\`` : c.subject} | ${c.aspect} | ${cell(c.before)} | ${cell(c.after)} |`),
  ];
}
