// What an entry records about the row it creates: enough for `audit verify` to rebuild the row from the log alone.
import type { AccessQuery, Facts } from '../policy/decide.ts';
import type { Json } from './canonical-json.ts';
import type { Standing } from './ports.ts';
import type { RequestRecord } from './records.ts';
import { grantRef } from './ids.ts';

/** A new request: what was asked, what approval it needs, and until when it waits. */
export function requestCreatedDetails(row: RequestRecord, cappedFromMs: number | undefined): { [key: string]: Json | undefined } {
  return {
    resource: row.resource,
    role: row.role,
    tier: row.tier,
    duration_ms: row.durationMs,
    reason: row.reason,
    tickets: row.tickets,
    capped_from_ms: cappedFromMs,
    extends: row.extendsGrantId === null ? undefined : grantRef(row.extendsGrantId),
    // Always written (null outside bundles), so `audit verify` also catches a bundle smuggled into a plain request's row.
    bundle_members: row.bundleMembers?.map((m) => ({ resource: m.resource, role: m.role })) ?? null,
    steps: row.steps,
    self_approval: row.selfApproval,
    timeout_at: row.timeoutAt === null ? null : new Date(row.timeoutAt).toISOString(),
    starts_at: row.startsAt === null ? undefined : new Date(row.startsAt).toISOString(),
  };
}

/** What `policy replay` needs to re-decide a request faithfully: all the requester's groups (a new policy may consult
 * groups this one did not), the channel's name as break-glass saw it, (only when they are not a full member, or
 * blocked) their standing, which decides before any group does, and for an extension the grant's start and end as
 * the policy saw them: its total-length limit is judged on them, and the grant's row only keeps its latest end. */
export interface ReplayDetails {
  groups: string[];
  channel_name: string | undefined;
  standing: Exclude<Standing, 'member'> | undefined;
  blocked: true | undefined;
  grant_starts_at: string | undefined;
  grant_expires_at: string | undefined;
}

export function replayDetails(facts: Facts, extending?: AccessQuery['extending']): ReplayDetails {
  const standing = facts.standing === undefined || facts.standing === 'member' ? undefined : facts.standing;
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    groups: [...facts.groups].sort(),
    channel_name: facts.channelName ?? undefined,
    standing,
    blocked: facts.blocked === true ? true : undefined,
    grant_starts_at: iso(extending?.startsAt),
    grant_expires_at: iso(extending?.expiresAt),
  };
}
