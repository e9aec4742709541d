// The policy file's shape as zod schemas; the Policy type is inferred from them, never written by hand.
import { z } from 'zod';
import { providerConfigSchema } from '../providers/registry.ts';
import { auditStreamSchema } from './audit-stream-settings.ts';
import { channelIdSchema, durationSchema, envVarSchema, identitiesSchema, name, userIdSchema, usergroupIdSchema } from './fields.ts';

const clockTimeSchema = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be a time like "09:00" (24-hour, quoted)');

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const timezoneSchema = z.string().refine(isTimezone, 'must be an IANA time zone like Europe/Berlin or UTC');

function isTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

function isSafeAnchorUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

const businessHoursSchema = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1, 'name at least one day (mon … sun)'),
    from: clockTimeSchema,
    to: clockTimeSchema,
  })
  .strict()
  .refine((h) => h.from < h.to, { message: '"to" must be later than "from"; overnight windows are not supported', path: ['to'] });

export const settingsSchema = z
  .object({
    approvals_channel: channelIdSchema,
    audit_channel: channelIdSchema.optional(),
    admins: name('group').optional(),
    timezone: timezoneSchema.default('UTC'),
    business_hours: businessHoursSchema.optional(),
    ticket_pattern: z.string().refine(isRegExp, 'must be a valid regular expression').optional(),
    ticket_url: z.string().includes('{ticket}', { message: 'must contain {ticket}, where the ticket id goes' }).optional(),
    request_timeout: durationSchema.prefault('1h'),
    remind_after: durationSchema.optional(),
    default_duration: durationSchema.prefault('1h'),
    /** How far ahead `/access request … at <time>` may start a window. @defaultValue 7d */
    max_schedule_ahead: durationSchema.prefault('7d'),
    /** Slack guests and people from other workspaces (Slack Connect) may request and approve only when true. */
    allow_guests: z.boolean().default(false),
    /** How often the audit chain head is anchored (also at every break-glass use). @defaultValue 10m */
    anchor_every: durationSchema.prefault('10m'),
    /** Where anchors are also POSTed, signed, so a copy lives where the bot token cannot edit or delete it. */
    anchor_url: z.url({ protocol: /^https?$/, error: 'must be an https URL' }).refine(isSafeAnchorUrl, 'must be https (http only to localhost): an anchor sent in clear can be altered on the way').optional(),
    anchor_secret_env: envVarSchema.optional(),
    /** Every audit entry pushed, in order and signed, to a SIEM's HTTP input. */
    audit_stream: auditStreamSchema.optional(),
    /** Accounts whose names at a provider differ from the Slack profile: `U0ALICE: { github: alice-gh, aws: alice@corp }`. */
    identities: identitiesSchema.default({}),
    /** The same table in a YAML or JSON file of its own, relative to the policy file; a user may be in only one of the two. */
    identities_file: z.string().trim().min(1, 'must be the path of a YAML or JSON file').optional(),
  })
  .strict()
  .refine((s) => s.anchor_url === undefined || s.anchor_secret_env !== undefined, {
    message: 'anchor_url needs anchor_secret_env: the environment variable holding the key anchors are signed with',
    path: ['anchor_secret_env'],
  });

export const groupSchema = z
  .object({
    slack_usergroup: usergroupIdSchema.optional(),
    users: z.array(userIdSchema).optional(),
  })
  .strict()
  .refine((g) => g.slack_usergroup !== undefined || g.users !== undefined, 'a group needs users: [...] or slack_usergroup: S…');

const autoApproveConditionsSchema = z
  .object({
    business_hours: z.boolean().optional(),
    ticket: z.boolean().optional(),
    max_duration: durationSchema.optional(),
    groups: z.array(name('group')).min(1).optional(),
  })
  .strict();

/** `team_lead` in `from` (or a tier's `review`) means the leads of the requester's teams rather than a group. */
export const TEAM_LEAD = 'team_lead';

const approvalStepSchema = z
  .object({
    from: name('group'),
    count: z.number().int().min(1, 'count must be at least 1').default(1),
    /** Where a team_lead step goes when the requester is a lead, is in no team, or their teams have too few leads. */
    fallback: name('group').optional(),
    /** When the step has no decision this long after it began, `escalate_to` is pinged and may decide it too. */
    escalate_after: durationSchema.optional(),
    escalate_to: name('group').optional(),
  })
  .strict()
  .refine((s) => (s.escalate_after === undefined) === (s.escalate_to === undefined), {
    message: 'escalate_after and escalate_to go together: name both (escalate_after: 30m, escalate_to: GROUP) or neither',
    path: ['escalate_to'],
  })
  .refine((s) => s.from !== TEAM_LEAD || s.fallback !== undefined, {
    message: 'from: team_lead needs fallback: GROUP, where the step goes for a lead\'s own request or someone in no team',
    path: ['fallback'],
  });

/** A team: its members (a list or a Slack user group) and the leads who approve and review for them. */
export const teamSchema = z
  .object({
    members: z.array(userIdSchema).optional(),
    slack_usergroup: usergroupIdSchema.optional(),
    leads: z.array(userIdSchema).min(1, 'name at least one lead, like leads: [U0123ABCD]'),
  })
  .strict()
  .refine((t) => t.members !== undefined || t.slack_usergroup !== undefined, 'a team needs members: [...] or slack_usergroup: S…');

export const tierSchema = z
  .object({
    auto_approve: z.union([z.literal('always'), autoApproveConditionsSchema]).optional(),
    approvals: z.array(approvalStepSchema).min(1, 'list at least one approval step, or remove approvals').optional(),
    max_duration: durationSchema,
    default_duration: durationSchema.optional(),
    self_approval: z.boolean().default(false),
    /** Who reviews each grant of this tier once it ends: `team_lead` (the grantee's team leads, else the admins) or a group. */
    review: name('group').optional(),
  })
  .strict();

export const breakglassSchema = z
  .object({
    channels: z.array(z.string().min(1)).min(1).optional(),
    // Required: channels alone would let anyone who can create #inc-x break glass.
    groups: z.array(name('group'), { error: (issue) => (issue.input === undefined ? 'name the groups who may break glass, like groups: [oncall]; channels alone would let anyone who can create a matching channel break glass' : undefined) }).min(1),
    max_duration: durationSchema,
    max_per_hour: z.number().int().min(1).default(3),
    notify: z.array(channelIdSchema).default([]),
    review_by: name('group').optional(),
  })
  .strict();

const roleOptionsSchema = z.object({ tier: name('tier').optional() }).strict();
type RoleOptions = z.output<typeof roleOptionsSchema>;

/** Roles as a list (`[read, write]`) or a map with per-role options; always a map after parsing. */
const rolesSchema = z
  .union([z.array(name('role')).min(1, 'list at least one role'), z.record(name('role'), roleOptionsSchema.nullable())], {
    error: 'roles must be a list like [read, write] or a map like { read: { tier: medium } }',
  })
  .transform((roles): Record<string, RoleOptions> =>
    Array.isArray(roles)
      ? Object.fromEntries(roles.map((role) => [role, {}]))
      : Object.fromEntries(Object.entries(roles).map(([role, options]) => [role, options ?? {}])),
  )
  .refine((roles) => Object.keys(roles).length > 0, 'list at least one role');

export const resourceSchema = z
  .object({
    description: z.string().optional(),
    tier: name('tier'),
    eligible: z.array(name('group')).min(1).optional(),
    roles: rolesSchema,
    approvals_channel: channelIdSchema.optional(),
    provider: providerConfigSchema,
  })
  .strict();

/** A bundle member is `resource:role`, the role always named so a policy edit adding a role cannot change what a bundle gives. */
export const bundleMemberSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*:[A-Za-z0-9][A-Za-z0-9._-]*$/, 'bundle members are written resource:role, like prod-db:read');
export const bundleSchema = z.array(bundleMemberSchema).min(1, 'list at least one resource:role');

export const policySchema = z
  .object({
    version: z.literal(1, { error: 'version must be 1' }),
    settings: settingsSchema,
    groups: z.record(name('group'), groupSchema).default({}),
    teams: z.record(name('team'), teamSchema).default({}),
    tiers: z.record(name('tier'), tierSchema),
    breakglass: breakglassSchema.optional(),
    resources: z.record(name('resource'), resourceSchema),
    bundles: z.record(name('bundle'), bundleSchema).default({}),
  })
  .strict();

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type Settings = Policy['settings'];
export type Tier = Policy['tiers'][string];
export type Resource = Policy['resources'][string];
export type Group = Policy['groups'][string];
export type Team = Policy['teams'][string];
export type ApprovalStep = z.output<typeof approvalStepSchema>;
export type AutoApproveConditions = z.output<typeof autoApproveConditionsSchema>;
export type BusinessHours = z.output<typeof businessHoursSchema>;
export type BreakglassPolicy = z.output<typeof breakglassSchema>;
export type ProviderConfig = z.output<typeof providerConfigSchema>;
export type ProviderType = ProviderConfig['type'];
