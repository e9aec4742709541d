// Finishing what a provider could not remove at revoke (objects a PostgreSQL login left, say), retried by the reconciler.
import { LOST_RACE } from './store-port.ts';
import type { GrantRecord } from './records.ts';
import { subjectFor, type GrantKeeperDeps } from './grant-model.ts';
import { grantRef, requestRef } from './ids.ts';
import type { AccessEvent } from './ports.ts';
import { errorMessage } from './retry.ts';

/**
 * Retries the provider clean-up of an ended grant (its revoke, which providers make safe to repeat); true when
 * it is now done. Still failing only updates the stored problem: the first failure was audited and announced.
 */
export async function finishCleanup(deps: GrantKeeperDeps, grantId: number, notify: (event: AccessEvent) => Promise<void>): Promise<boolean> {
const { store, clock, log } = deps;
  const grant = await store.getGrant(grantId);
  if (grant?.cleanupPending == null) return false;
  let left: string | null;
  try {
    left = (await deps.providers.for(grant.provider).revoke(subjectFor(grant, await deps.directory.userEmail(grant.user).catch(() => null))))?.cleanupPending ?? null;
  } catch (error) {
    left = errorMessage(error);
  }
  if (left !== null) {
    if (left !== grant.cleanupPending) await store.transaction(clock.now(), async (tx) => await tx.updateGrant(grant.id, grant.state, { cleanupPending: left }));
    log.warn({ grantId: grantRef(grant.id), problem: left }, 'provider clean-up still pending');
    return false;
  }
  const done = await store.transaction(clock.now(), async (tx) => {
    if (!await tx.updateGrant(grant.id, grant.state, { cleanupPending: null })) tx.abort();
    await tx.audit({ actor: 'sesame', action: 'grant.cleanup_done', requestId: requestRef(grant.requestId), grantId: grantRef(grant.id), details: { provider: grant.provider.type } });
  });
  if (done === LOST_RACE) return false;
  await notify({ type: 'grant_cleaned_up', grant: await store.getGrant(grant.id) as GrantRecord });
  return true;
}
