// Adversary: an approver approves a scheduled window; while Sesame tells Slack (card updates, DMs: seconds), an admin
// runs revoke-all. The request is `approved` at that moment, neither pending nor scheduled, so revoke-all's cancels
// missed it; it was then held as `scheduled`, and after an unblock the window started by itself.
import { describe, expect, it } from 'vitest';
import { holdApprovedNotices } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: revoke-all while an approved window is being held', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } } } as Parameters<typeof aLoadedPolicy>[0]));
  });

  it('leaves no scheduled window of the blocked person, so an unblock grants nothing at the start', async () => {
    const startsAt = h.clock.now().getTime() + 2 * HOUR;
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'planned CHG-1', startsAt });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const id = asked.value.request.id;

    // Slack is slow to take the "approved" notice; revoke-all runs meanwhile.
    const { reached: telling, release } = holdApprovedNotices(h);
    const approving = h.service.approve(id, PEOPLE.lead1);
    await telling;
    expect((await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen')).ok).toBe(true);
    release();
    await approving;
    expect((await h.store.getRequest(id))?.state).not.toBe('scheduled');

    expect((await userBlocksOf(h).unblock(PEOPLE.engineer, PEOPLE.security)).ok).toBe(true);
    h.clock.set(new Date(startsAt));
    await h.service.windows.activate(id);
    expect(h.provider.count('grant')).toBe(0);
  });
});
