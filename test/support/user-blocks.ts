// The revoke-all use case built over an access harness, as main.ts builds it over the real service; and a bare block.
import { UserBlocks } from '../../src/core/user-blocks.ts';
import type { Harness } from './access-harness.ts';
import { silentLogger, singleProvider } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';

/** Revoke-all's wait for grants at their provider in tests of a grant that outlasts it (the real one is 30 s): 20 polls still. */
export const SHORT_SETTLE_WAIT_MS = 2_000;

/** `settleWaitMs` shortens revoke-all's wait for grants at their provider, for tests of a grant that outlasts it. */
export const userBlocksOf = (h: Harness, settleWaitMs?: number): UserBlocks =>
  new UserBlocks(
    { store: h.store, policy: () => aLoadedPolicy(), providers: singleProvider(h.provider), scheduler: h.scheduler, notifier: h.notifier, directory: h.directory, clock: h.clock, log: silentLogger, retry: { attempts: 3, baseDelayMs: 1 } },
    h.service.grants,
    settleWaitMs,
  );

/**
 * A block recorded as revoke-all records it (row and `user.blocked` together), without revoke-all's ends and cancels:
 * to reach the checks behind them, as a block that landed between revoke-all's steps would.
 */
export async function blockOnly(h: Harness, user: string, by: string, reason = 'laptop stolen'): Promise<void> {
  const now = h.clock.now();
  await h.store.transaction(now, async (tx) => {
    await tx.insertBlock({ user, blockedBy: by, reason, blockedAt: now.getTime() });
    await tx.audit({ actor: by, action: 'user.blocked', details: { user, reason } });
  });
}
