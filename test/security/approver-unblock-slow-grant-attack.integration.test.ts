// Adversary: a stolen approver account (lead1) approves an accomplice's request; the grant sits at a slow provider.
// An admin runs revoke-all on lead1: it waits (30 s) for the grant, gives up and says the grant "is taken back when
// the provider answers". The account's owner gets it back and an admin runs /access unblock before the provider
// answers. For the holder's own block, activation asks whether a `user.blocked` came after the grant was recorded as
// pending (unblock-before-slow-grant); for an approver it only asks whether the approver is blocked *now*, so the
// accomplice's grant, resting on the stolen approval, goes live after all.
import { describe, expect, it } from 'vitest';
import { holdProviderGrants } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { SHORT_SETTLE_WAIT_MS, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: an approver unblocked before a slow grant it approved goes live', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }] } } } as Parameters<typeof aLoadedPolicy>[0]));
  });

  it('takes the grant back instead of activating it (revoke-all promised so)', async () => {
    const { reached: atProvider, release } = holdProviderGrants(h);
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-9 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const id = asked.value.request.id;
    const approving = h.service.approve(id, PEOPLE.lead1); // the stolen lead account
    await atProvider;

    const out = await userBlocksOf(h, SHORT_SETTLE_WAIT_MS).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-9');
    expect(out.ok && out.value.failed.map((f) => f.problem)).toEqual([expect.stringContaining('taken back when the provider answers')]);
    // The account is recovered; an admin unblocks it before the slow provider answers.
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    release();
    await approving;

    const grant = await h.store.grantForRequest(id);
    const audit = await h.auditEntries();
    expect({ state: grant?.state, atProvider: h.provider.present.size, activated: audit.filter((e) => e.action === 'grant.activated').length }).toEqual({ state: 'failed', atProvider: 0, activated: 0 });
  }, 60_000);

  // Held: the same unblock while revoke-all is still waiting; the grant is taken back when the provider answers.
  it('held: an unblock while revoke-all still waits does not keep the grant', async () => {
    const { reached: atProvider, release } = holdProviderGrants(h);
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-10 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const id = asked.value.request.id;
    const approving = h.service.approve(id, PEOPLE.lead1);
    await atProvider;
    const revoking = userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-10');
    await expect.poll(async () => await h.store.isBlocked(PEOPLE.lead1), { timeout: 10_000 }).toBe(true);
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    release();
    await approving;
    const out = await revoking;
    const grant = await h.store.grantForRequest(id);
    expect({ state: grant?.state, atProvider: h.provider.present.size, failed: out.ok && out.value.failed }).toEqual({ state: 'failed', atProvider: 0, failed: [] });
  }, 60_000);
});
