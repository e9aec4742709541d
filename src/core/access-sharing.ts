// Overlapping grants of the same access (one access key): whether a new grant may share it, and what the audit says.
import { canonicalJson } from './canonical-json.ts';
import { LIVE_GRANT_STATES } from './lifecycle.ts';
import type { GrantRecord } from './records.ts';
import type { RecordReads } from './store-port.ts';
import { grantRef } from './ids.ts';
import type { Result } from './result.ts';

/**
 * The grant whose access a new one shares (the oldest other holder), or null when nobody holds the key.
 * Grants with the same key but different provider blocks (a team as member and as maintainer) cannot share:
 * ending one would take away, or leave behind, the other's access, so the newer one is refused.
 */
export function sharedAccess(grant: GrantRecord, holders: GrantRecord[]): Result<GrantRecord | null, string> {
  const holder = holders[0];
  if (holder === undefined) return { ok: true, value: null };
  const different = holders.find((h) => canonicalJson(h.provider) !== canonicalJson(grant.provider));
  if (different !== undefined) {
    return {
      ok: false,
      error:
        `${grantRef(different.id)} (${different.resource} ${different.role}) already gives this access through a differently configured provider, ` +
        `and the two cannot overlap; ask again when ${grantRef(different.id)} has ended, or revoke it first.`,
    };
  }
  return { ok: true, value: holder };
}

export const sharedDetails = (holder: GrantRecord | null): { shared_with?: string } => (holder === null ? {} : { shared_with: grantRef(holder.id) });

export const keptForDetails = (holders: GrantRecord[]): { kept_for?: string[] } => (holders.length === 0 ? {} : { kept_for: holders.map((h) => grantRef(h.id)) });

/**
 * True when an end was to keep the access for `keptFor` but none of them is live any more, as `reads` (the end's
 * transaction) sees it: another replica ended them meanwhile, each keeping the access for this one, which happens
 * when the access key's lock was only in-process (Redis unreachable). The end must then start again and revoke.
 */
export async function keptForGrantsEnded(reads: RecordReads, keptFor: GrantRecord[]): Promise<boolean> {
  if (keptFor.length === 0) return false;
  for (const holder of keptFor) {
    const current = await reads.getGrant(holder.id);
    if (current !== undefined && LIVE_GRANT_STATES.includes(current.state)) return false;
  }
  return true;
}
