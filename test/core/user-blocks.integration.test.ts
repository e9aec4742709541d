// revoke-all against the races an attacker (or bad luck) could use to keep access: a grant at its provider while the
// block lands, an approval between the block and the grant, an approval of a cancelled request.
import { describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('revoke-all races', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));
  const blocks = () => userBlocksOf(h);
  const live = async (user: string) => await h.store.grantsOf(user, ['pending', 'active', 'revoke_failed']);

  it('waits for a grant still at its provider when the block lands, which is taken back instead of going live', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const grant = h.provider.grant.bind(h.provider);
    h.provider.grant = async (s: GrantSubject) => {
      await gate;
      return grant(s);
    };
    const granting = h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    await expect.poll(async () => (await live(PEOPLE.engineer)).map((g) => g.state)).toEqual(['pending']);

    const revoking = blocks().revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    setTimeout(release, 50);
    const [granted, revoked] = await Promise.all([granting, revoking]);
    expect(granted.ok && granted.value.kind).toBe('failed');
    // Never live, so nothing to end; and not named as still being granted, since it was undone within the wait.
    expect(revoked.ok && { ended: revoked.value.ended, failed: revoked.value.failed }).toEqual({ ended: [], failed: [] });
    expect(await live(PEOPLE.engineer)).toEqual([]);
    expect((await h.store.getGrant(1))?.state).toBe('failed');
    expect(h.provider.present.size).toBe(0);
  });

  it('fails a grant whose requester was blocked between the approval and the grant, before any provider call', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer2, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-42 look' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const notify = h.notifier.notify.bind(h.notifier);
    h.notifier.notify = async (event) => {
      // The approval is recorded; the grant is next. The block lands right here.
      if (event.type === 'request_approved') expect((await blocks().revokeAll(PEOPLE.engineer2, PEOPLE.security, 'offboarding')).ok).toBe(true);
      return notify(event);
    };
    const approved = await h.service.approve(asked.value.request.id, PEOPLE.lead1);
    expect(approved.ok && approved.value.kind === 'approved' && approved.value.fulfilled).toMatchObject({ kind: 'failed', problem: 'an admin blocked the requester (/access revoke-all) before the grant was made' });
    expect(h.provider.count('grant')).toBe(0);
    expect(await live(PEOPLE.engineer2)).toEqual([]);
  });

  it('cancels pending requests, so a later approval click grants nothing', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer2, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-42 look' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const out = await blocks().revokeAll(PEOPLE.engineer2, PEOPLE.security, 'offboarding');
    expect(out.ok && out.value).toMatchObject({ cancelled: 1, newlyBlocked: true, ended: [], failed: [] });
    const click = await h.service.approve(asked.value.request.id, PEOPLE.lead1);
    expect(click.ok).toBe(false);
    expect(!click.ok && click.error.code).toBe('not_pending');
    expect(h.provider.count('grant')).toBe(0);
  });

  it('reports revokes that failed instead of calling the access gone', async () => {
    const granted = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    expect(granted.ok && granted.value.kind).toBe('granted');
    h.provider.failRevokes = 3;
    const out = await blocks().revokeAll(PEOPLE.engineer, PEOPLE.security, 'stolen');
    expect(out.ok && out.value.ended).toEqual([]);
    expect(out.ok && out.value.failed).toEqual([{ grantId: 'G1', problem: 'fake provider: revoke failed' }]);
    expect((await h.store.getGrant(1))?.state).toBe('revoke_failed');

    // The next sweep retries it (not only when the grant was due to end), and tells the admins once all is gone.
    const cleared: [string, string[]][] = [];
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(), directory: h.directory, log: silentLogger }, h.service.grants, async (user, ids) => void cleared.push([user, ids]));
    expect(await reasons.sweep()).toEqual({ archived: 0, leftGroup: 0, blocked: 1 });
    expect((await h.store.getGrant(1))?.state).toBe('revoked');
    expect(h.provider.present.size).toBe(0);
    expect(cleared).toEqual([[PEOPLE.engineer, ['G1']]]);
    expect(await reasons.sweep()).toEqual({ archived: 0, leftGroup: 0, blocked: 0 });
    expect(cleared).toHaveLength(1);
  });

  it('refuses a blocked person\'s extension', async () => {
    const granted = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    if (!granted.ok || granted.value.kind !== 'granted') throw new Error('expected a grant');
    // Blocked without revoke-all (which would end the grant first), to reach the extension's own check.
    await blockOnly(h, PEOPLE.engineer, PEOPLE.security, 'test');
    const extended = await h.service.extend(granted.value.grant.id, PEOPLE.engineer, HOUR);
    expect(!extended.ok && extended.error.code).toBe('user_blocked');
  });
});
