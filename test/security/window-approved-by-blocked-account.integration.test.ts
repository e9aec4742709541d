// Adversary: a stolen approver account approves an accomplice's window for later; an admin blocks the account with
// revoke-all. The window must not start on that approval, even after the account is unblocked: revoke-all cancels it,
// and one approved just as the block landed (not yet held as scheduled, so revoke-all's scan missed it) is not held.
import { describe, expect, it } from 'vitest';
import { holdApprovedNotices } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: a scheduled window approved by an account blocked since', () => {
  let h: Harness;
  let startsAt = 0;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } } } as Parameters<typeof aLoadedPolicy>[0]));
    startsAt = h.clock.now().getTime() + 2 * HOUR;
  });

  async function askForWindow(): Promise<number> {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'planned CHG-1', startsAt });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    return asked.value.request.id;
  }

  async function unblockAndReachTheStart(id: number): Promise<void> {
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    h.clock.set(new Date(startsAt));
    expect(await h.service.windows.activate(id)).toBe('not_scheduled');
    expect(h.provider.count('grant')).toBe(0);
  }

  it('cancels the scheduled window, audited, the requester told; an unblock does not bring it back', async () => {
    const id = await askForWindow();
    expect((await h.service.approve(id, PEOPLE.lead1)).value?.kind).toBe('approved');
    expect((await h.store.getRequest(id))?.state).toBe('scheduled');
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value).toMatchObject({ cancelled: 0, windowsCancelled: 0, approvalsCancelled: 1 });
    expect(await h.store.getRequest(id)).toMatchObject({ state: 'cancelled', decidedBy: PEOPLE.security, decisionNote: expect.stringContaining('account compromised') as unknown });
    expect(h.notifier.types()).toContain('request_cancelled');
    expect(h.scheduler.activations.has(id)).toBe(false);
    await unblockAndReachTheStart(id);
  });

  it('does not hold a window whose approver was blocked while Sesame was telling Slack it was approved', async () => {
    const id = await askForWindow();
    const { reached: telling, release } = holdApprovedNotices(h);
    const approving = h.service.approve(id, PEOPLE.lead1);
    await telling;
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value.approvalsCancelled).toBe(0); // `approved` at that moment: neither pending nor scheduled
    release();
    await approving;
    expect(await h.store.getRequest(id)).toMatchObject({ state: 'failed', decisionNote: expect.stringContaining('revoke-all') as unknown });
    await unblockAndReachTheStart(id);
  });
});
