// Checks that need the whole policy: every group, tier and role a rule names exists, and the rules can be met.
import { secretEnvOf } from '../providers/registry.ts';
import { checkBundles } from './bundles.ts';
import { escalationIssues } from './escalation-check.ts';
import { TEAM_LEAD, type BreakglassPolicy, type Group, type Policy, type Resource, type Settings, type Team, type Tier } from './schema.ts';

export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

const list = (names: Iterable<string>): string => [...names].map((n) => `"${n}"`).join(', ') || '(none)';

/** The parts of a policy whose own shape is right; `names` also counts entries whose body is wrong, so they are not "unknown" too. */
export interface PolicyParts {
  settings: Settings | undefined;
  groups: Record<string, Group>;
  teams: Record<string, Team>;
  tiers: Record<string, Tier>;
  breakglass: BreakglassPolicy | undefined;
  resources: Record<string, Resource>;
  bundles: Record<string, string[]>;
  names: { groups: ReadonlySet<string> | undefined; tiers: ReadonlySet<string> | undefined; resources?: ReadonlySet<string> | undefined };
}

export const partsOf = (policy: Policy): PolicyParts => ({
  ...policy,
  breakglass: policy.breakglass,
  names: { groups: new Set(Object.keys(policy.groups)), tiers: new Set(Object.keys(policy.tiers)) },
});

export function crossCheck(policy: PolicyParts): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const groupNames = policy.names.groups;
  const tierNames = policy.names.tiers;

  const needGroup = (group: string, path: (string | number)[]) => {
    if (groupNames !== undefined && !groupNames.has(group)) issues.push({ path, message: `unknown group "${group}"; groups are ${list(groupNames)}` });
  };
  const needTier = (tier: string, path: (string | number)[]) => {
    if (tierNames !== undefined && !tierNames.has(tier)) issues.push({ path, message: `unknown tier "${tier}"; tiers are ${list(tierNames)}` });
  };

  const { settings } = policy;
  if (settings?.admins !== undefined) needGroup(settings.admins, ['settings', 'admins']);
  if (settings?.remind_after !== undefined && settings.remind_after >= settings.request_timeout) {
    issues.push({ path: ['settings', 'remind_after'], message: 'remind_after must be shorter than request_timeout, or the reminder never comes' });
  }

  for (const [tierName, tier] of Object.entries(policy.tiers)) {
    const at = ['tiers', tierName];
    if (tier.auto_approve === undefined && tier.approvals === undefined) {
      issues.push({ path: at, message: `tier "${tierName}" needs auto_approve, approvals, or both; as written nobody could ever get it` });
    }
    if (tier.default_duration !== undefined && tier.default_duration > tier.max_duration) {
      issues.push({ path: [...at, 'default_duration'], message: 'default_duration is longer than this tier\'s max_duration' });
    }
    const conditions = tier.auto_approve;
    if (conditions !== undefined && conditions !== 'always') {
      // With settings malformed, their own problems are reported; whether they name hours is unknown.
      if (conditions.business_hours && settings !== undefined && settings.business_hours === undefined) {
        issues.push({ path: [...at, 'auto_approve', 'business_hours'], message: 'business_hours needs settings.business_hours to say when they are' });
      }
      if (conditions.ticket && settings !== undefined && settings.ticket_pattern === undefined) {
        issues.push({ path: [...at, 'auto_approve', 'ticket'], message: 'ticket needs settings.ticket_pattern to recognise a ticket' });
      }
      conditions.groups?.forEach((g, i) => needGroup(g, [...at, 'auto_approve', 'groups', i]));
    }
    if (tier.review !== undefined && tier.review !== TEAM_LEAD) needGroup(tier.review, [...at, 'review']);
    // Someone in no team, or a lead, is reviewed by the admins: without admins nobody could review their grants.
    if (tier.review === TEAM_LEAD && settings !== undefined && settings.admins === undefined) {
      issues.push({ path: [...at, 'review'], message: 'review: team_lead needs settings.admins, who review the grants of leads and of people in no team' });
    }
    tier.approvals?.forEach((step, i) => {
      if (step.fallback !== undefined) needGroup(step.fallback, [...at, 'approvals', i, 'fallback']);
      if (step.from === TEAM_LEAD) return;
      needGroup(step.from, [...at, 'approvals', i, 'from']);
      issues.push(...escalationIssues(step, [...at, 'approvals', i], settings, needGroup));
      const group = policy.groups[step.from];
      // A fixed list smaller than count can never complete the step (the requester may not count either).
      if (group?.users !== undefined && group.slack_usergroup === undefined && group.users.length < step.count) {
        issues.push({
          path: [...at, 'approvals', i, 'count'],
          message: `count ${step.count} can never be met: group "${step.from}" has ${group.users.length} member(s)`,
        });
      }
    });
  }

  if (Object.hasOwn(policy.groups, TEAM_LEAD)) {
    issues.push({ path: ['groups', TEAM_LEAD], message: `"${TEAM_LEAD}" is reserved for the leads of the requester's teams; give this group another name` });
  }

  const breakglass = policy.breakglass;
  if (breakglass !== undefined) {
    breakglass.groups?.forEach((g, i) => needGroup(g, ['breakglass', 'groups', i]));
    if (breakglass.review_by !== undefined) needGroup(breakglass.review_by, ['breakglass', 'review_by']);
  }

  for (const [resourceName, resource] of Object.entries(policy.resources)) {
    const at = ['resources', resourceName];
    needTier(resource.tier, [...at, 'tier']);
    resource.eligible?.forEach((g, i) => needGroup(g, [...at, 'eligible', i]));
    for (const [role, options] of Object.entries(resource.roles)) {
      if (options.tier !== undefined) needTier(options.tier, [...at, 'roles', role, 'tier']);
    }
    const provider = resource.provider;
    if (provider.type === 'postgres') {
      const roles = new Set(Object.keys(resource.roles));
      for (const role of roles) {
        if (!(role in provider.roles)) {
          issues.push({ path: [...at, 'provider', 'roles'], message: `role "${role}" has no database role here; map it like ${role}: some_db_role` });
        }
      }
      for (const role of Object.keys(provider.roles)) {
        if (!roles.has(role)) {
          issues.push({ path: [...at, 'provider', 'roles', role], message: `"${role}" is not a role of resource "${resourceName}"; its roles are ${list(roles)}` });
        }
      }
    }
  }
  // Resources whose own body is wrong are still names: a member naming one is not "unknown" too.
  const known = 'resources' in policy.names ? policy.names.resources : new Set(Object.keys(policy.resources));
  return issues.concat(checkBundles(policy.bundles, policy.resources, known));
}

/** Every secret a provider block names must be set, or its grants would fail at the first request. */
export function missingSecrets(policy: Policy, env: Readonly<Record<string, string | undefined>>): PolicyIssue[] {
  const anchorSecret = policy.settings.anchor_secret_env;
  const anchorIssues: PolicyIssue[] =
    anchorSecret !== undefined && !env[anchorSecret]
      ? [{ path: ['settings', 'anchor_secret_env'], message: `environment variable ${anchorSecret} is not set; audit anchors POSTed to anchor_url are signed with it; set it where Sesame runs, or remove anchor_url` }]
      : [];
  const stream = policy.settings.audit_stream;
  const streamSecrets = [
    { key: 'secret_env', variable: stream?.secret_env, use: 'signs every POST with it' },
    { key: 'authorization_env', variable: stream?.authorization_env, use: 'sends it as the Authorization header' },
  ];
  const streamIssues: PolicyIssue[] = streamSecrets
    .filter(({ variable }) => variable !== undefined && !env[variable])
    .map(({ key, variable, use }) => ({ path: ['settings', 'audit_stream', key], message: `environment variable ${variable} is not set; audit_stream ${use}; set it where Sesame runs, or remove audit_stream` }));
  return anchorIssues.concat(streamIssues, Object.entries(policy.resources).flatMap(([resourceName, resource]) =>
    secretEnvOf(resource.provider)
      .filter(({ variable }) => !env[variable])
      .map(({ key, variable }) => ({
        path: ['resources', resourceName, 'provider', key],
        message: `environment variable ${variable} is not set; the ${resource.provider.type} provider of "${resourceName}" reads its secret from it; set it where Sesame runs (see .env.example), or change the policy`,
      })),
  ));
}
