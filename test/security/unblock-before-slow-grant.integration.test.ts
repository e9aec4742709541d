// Adversary (or a hasty admin): revoke-all runs while a grant is still at a slow provider, and the person is unblocked
// before that grant goes live and before the next sweep. The grant used to go live all the same, outliving the
// revoke-all it was recorded before; its activation now asks whether a revoke-all came after it and takes it back.
import { describe, expect, it } from 'vitest';
import { holdProviderGrants } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: an unblock before a slow grant goes live', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));

  it('takes the grant back instead of activating it, and audits why', async () => {
    const { reached: atProvider, release } = holdProviderGrants(h);
    const granting = h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    await atProvider;
    // revoke-all is left waiting for the grant at its provider while the admin unblocks.
    const revoking = userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    await expect.poll(async () => await h.store.isBlocked(PEOPLE.engineer), { timeout: 10_000 }).toBe(true);
    expect((await userBlocksOf(h).unblock(PEOPLE.engineer, PEOPLE.security)).ok).toBe(true);
    release();
    const out = await granting;
    await revoking;

    expect(out.ok ? out.value.kind : out.error.code).toBe('failed');
    expect({ state: (await h.store.getGrant(1))?.state, request: (await h.store.getRequest(1))?.state, atProvider: h.provider.present.size, revokes: h.provider.count('revoke') }).toEqual({ state: 'failed', request: 'failed', atProvider: 0, revokes: 1 });
    const audit = await h.auditEntries();
    expect(audit.filter((e) => e.action === 'grant.failed').map((e) => ({ grant: e.grant_id, details: e.details }))).toEqual([{ grant: 'G1', details: expect.objectContaining({ problem: expect.stringContaining('/access revoke-all') as unknown }) as unknown }]);
    expect(audit.filter((e) => e.action === 'grant.activated')).toEqual([]);
  }, 60_000);

  it('activates a grant recorded after the unblock as usual', async () => {
    const revoked = await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    expect(revoked.ok).toBe(true);
    expect((await userBlocksOf(h).unblock(PEOPLE.engineer, PEOPLE.security)).ok).toBe(true);
    h.clock.advance(1_000);
    await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'back at work' });
    expect({ state: (await h.store.grantForRequest(1))?.state, atProvider: h.provider.present.size }).toEqual({ state: 'active', atProvider: 1 });
  });
});
