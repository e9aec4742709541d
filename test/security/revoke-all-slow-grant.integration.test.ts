// Adversary (or a slow provider): a grant is at its provider when revoke-all runs, and stays there longer than
// revoke-all waits (30 s; a provider call may take 30 s per attempt). revoke-all then reported "held no live grant;
// all their access is confirmed gone" while the grant went live a moment later. Now the grant is taken back when its
// provider answers, instead of going live (and the sweep finds nothing left).
import { describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { holdProviderGrants } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { SHORT_SETTLE_WAIT_MS, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: revoke-all while a grant outlasts its wait', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));

  it('does not call the access gone while a grant is still being made, and takes it back when the provider answers', async () => {
    const { reached: atProvider, release } = holdProviderGrants(h);
    const granting = h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    await atProvider;
    const out = await userBlocksOf(h, SHORT_SETTLE_WAIT_MS).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    if (!out.ok) throw new Error('expected revoke-all to run');
    // Expected: the grant in flight is named as not (yet) gone, so the reply does not say "confirmed gone".
    expect(out.value.failed.map((f) => f.grantId)).toEqual(['G1']);
    release();
    await granting;
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(), directory: h.directory, log: silentLogger }, h.service.grants);
    await reasons.sweep();
    expect({ state: (await h.store.getGrant(1))?.state, atProvider: h.provider.present.size }).toEqual({ state: 'failed', atProvider: 0 });
  }, 60_000);
});
