// Adversary: revoke-all's revoke fails at the provider (the grant is `revoke_failed`, "Sesame keeps retrying those"),
// then an admin unblocks the person (the laptop turned up). The sweep retried the failed revoke only while the block
// stood; after the unblock nothing retried it before the grant's own end, so the access revoke-all was run to take
// away stayed at the provider for the rest of the grant (up to the tier's max_duration).
import { describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { createReconciler } from '../../src/scheduler/reconciler.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: unblock while revoke-all\'s revoke is still failing', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));

  it('keeps retrying the failed revoke after the unblock, until the access is gone', async () => {
    const granted = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 8 * HOUR, reason: 'poking' });
    if (!granted.ok || granted.value.kind !== 'granted') throw new Error('expected a grant');
    const id = granted.value.grant.id;
    h.provider.failRevokes = 3; // the provider is down for the whole of revoke-all's attempts
    const out = await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    expect(out.ok && out.value.failed.map((f) => f.grantId)).toEqual([`G${id}`]);
    expect((await h.store.getGrant(id))?.state).toBe('revoke_failed');

    // The laptop turns up an hour later; the admin lifts the block. The provider is back by now.
    h.clock.advance(HOUR);
    expect((await userBlocksOf(h).unblock(PEOPLE.engineer, PEOPLE.security)).ok).toBe(true);
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(), directory: h.directory, log: silentLogger }, h.service.grants);
    const reconciler = createReconciler({ store: h.store, access: h.service, scheduler: h.scheduler, clock: h.clock, log: silentLogger, intervalMs: 60_000, sweepReasons: () => reasons.sweep() });
    await reconciler.runOnce();
    await reconciler.runOnce();

    // Expected: the revoke that revoke-all started is finished by a sweep, block or no block.
    expect({ state: (await h.store.getGrant(id))?.state, atProvider: h.provider.present.has(`G${id}`) }).toEqual({ state: 'revoked', atProvider: false });
  });
});
