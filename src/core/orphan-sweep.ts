// Asks each provider block in the policy to delete what it made for grants that are not live (crash leftovers).
import type { LoadedPolicy } from '../policy/load.ts';
import type { StorePort } from './store-port.ts';
import { canonicalJson } from './canonical-json.ts';
import { LIVE_GRANT_STATES } from './lifecycle.ts';
import type { Logger, Providers } from './ports.ts';
import { errorMessage } from './retry.ts';

export interface OrphanSweepDeps {
  store: StorePort;
  policy: () => LoadedPolicy;
  providers: Providers;
  log: Logger;
}

/** A grant counts as live while pending too: its provider call may be under way right now. */
export async function isLiveGrant(store: StorePort, grantId: string): Promise<boolean> {
  const match = /^G(\d+)$/.exec(grantId);
  const grant = match ? await store.getGrant(Number(match[1])) : undefined;
  return grant !== undefined && (grant.state === 'pending' || LIVE_GRANT_STATES.includes(grant.state));
}

/** Returns how many leftovers were deleted; one block's failure is logged and does not stop the others. */
export async function sweepOrphans(deps: OrphanSweepDeps): Promise<number> {
  const blocks = new Map(Object.values(deps.policy().policy.resources).map((r) => [canonicalJson(r.provider), r.provider]));
  let deleted = 0;
  for (const block of blocks.values()) {
    const provider = deps.providers.for(block);
    if (!provider.sweep) continue;
    try {
      const names = await provider.sweep((grantId) => isLiveGrant(deps.store, grantId));
      if (names.length > 0) deps.log.warn({ provider: block.type, deleted: names }, 'deleted provider objects of grants that are not live');
      deleted += names.length;
    } catch (error) {
      deps.log.warn({ provider: block.type, problem: errorMessage(error) }, 'could not sweep provider leftovers; the next sweep tries again');
    }
  }
  return deleted;
}
