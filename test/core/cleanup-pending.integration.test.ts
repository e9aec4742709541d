// A revoke that cuts access but leaves a provider clean-up: the grant still ends, the leftover is audited and
// announced, and reconcile sweeps retry the clean-up until the provider reports it done.
import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/scheduler/reconciler.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';

const LEFT = 'the database role sesame_g1 can no longer log in and holds no role, but Sesame could not drop it: in use';

describe('provider clean-up left after a revoke', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
  });
  const sweep = () => createReconciler({ store: h.store, access: h.service, scheduler: h.scheduler, clock: h.clock, log: silentLogger, intervalMs: 60_000 }).runOnce();
  const grant = async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 3_600_000, reason: 'cleanup' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    return out.value.grant;
  };
  const cleanupEntries = async () => (await h.auditActions()).filter((a) => a.startsWith('grant.cleanup'));

  it('ends the grant as revoked, records what is left, and a later sweep finishes it', async () => {
    const { id } = await grant();
    h.provider.cleanupLeft = LEFT;
    const out = await h.service.revoke(id, PEOPLE.engineer);
    expect(out.value).toMatchObject({ kind: 'ended', verified: true });
    expect(await h.store.getGrant(id)).toMatchObject({ state: 'revoked', cleanupPending: LEFT });
    expect((await h.auditActions()).slice(-3)).toEqual(['grant.revoked', 'grant.verified_absent', 'grant.cleanup_pending']);
    expect(h.notifier.events.find((e) => e.type === 'grant_cleanup_pending')).toMatchObject({ problem: LEFT, grant: { id } });

    expect((await sweep()).cleanedUp).toBe(0); // still failing: no new entry, no new announcement
    expect(await cleanupEntries()).toEqual(['grant.cleanup_pending']);
    h.provider.cleanupLeft = null;
    expect((await sweep()).cleanedUp).toBe(1);
    expect(await h.store.getGrant(id)).toMatchObject({ state: 'revoked', cleanupPending: null });
    expect(await cleanupEntries()).toEqual(['grant.cleanup_pending', 'grant.cleanup_done']);
    expect(h.notifier.types().at(-1)).toBe('grant_cleaned_up');
    expect((await sweep()).cleanedUp).toBe(0);
    expect(h.provider.count('revoke')).toBe(3);
  });

  it('keeps the leftover of a failed grant that was undone at the provider for the sweep too', async () => {
    h.provider.failGrants = 3;
    h.provider.cleanupLeft = LEFT;
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 3_600_000, reason: 'cleanup' });
    expect(out.value?.kind).toBe('failed');
    const failedGrant = (await h.store.grantsOf(PEOPLE.engineer, ['failed']))[0];
    expect(failedGrant?.cleanupPending).toBe(LEFT);
    expect(await cleanupEntries()).toEqual(['grant.cleanup_pending']);
    h.provider.cleanupLeft = null;
    expect((await sweep()).cleanedUp).toBe(1);
    expect((await h.store.getGrant(failedGrant?.id ?? 0))?.cleanupPending).toBeNull();
  });
});
