// Who a Slack user is at a provider: the policy's identities table first, else an attribute of their Slack profile. Pure.
import { z } from 'zod';
import type { Result } from './result.ts';

/**
 * `email` is the Slack profile email; `username` its part before the "@" (not the Slack display name, which
 * people can change themselves); `slack_id` the Slack user id.
 */
export const IDENTITY_ATTRIBUTES = ['email', 'slack_id', 'username'] as const;
export type IdentityAttribute = (typeof IDENTITY_ATTRIBUTES)[number];
export const identityAttributeSchema = z.enum(IDENTITY_ATTRIBUTES, { error: `must be one of: ${IDENTITY_ATTRIBUTES.join(', ')}` });

/** `settings.identities`: Slack user id → { github: alice-gh, aws: alice@corp }. */
export type IdentityTable = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** What a provider needs to know about the person: its column in the identities table and the attribute used otherwise. */
export interface IdentityNeed {
  /** The key in `settings.identities.<user>` (e.g. `github`). */
  table: string;
  attribute: IdentityAttribute;
  /** Names the provider in refusals, e.g. "the github_team provider". */
  provider: string;
}

export interface SlackPerson {
  slackId: string;
  /** Null when Slack has none or could not be asked. */
  email: string | null;
}

/** The account name at the provider, or a sentence naming the missing mapping and how to add it. */
export function resolveIdentity(need: IdentityNeed, person: SlackPerson, table: IdentityTable): Result<string, string> {
  const mapped = table[person.slackId]?.[need.table];
  if (mapped !== undefined) return { ok: true, value: mapped };
  if (need.attribute === 'slack_id') return { ok: true, value: person.slackId };
  const email = person.email?.trim() ?? '';
  const at = email.lastIndexOf('@');
  if (at > 0 && at < email.length - 1) return { ok: true, value: need.attribute === 'email' ? email : email.slice(0, at) };
  return {
    ok: false,
    error:
      `Sesame cannot tell who <@${person.slackId}> is at ${need.provider}: it maps people by their Slack profile email and found none. ` +
      `Add settings.identities.${person.slackId}.${need.table} to the policy, or an email to their Slack profile, and request again.`,
  };
}
