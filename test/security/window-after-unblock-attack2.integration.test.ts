// Second adversarial pass (attack2): a scheduled window approved by a stolen approver account. revoke-all blocks the
// account and is cut short before its cancels (its replica died: the case the new sweep exists for). The sweep ends
// live grants resting on the blocked approver, but a window is not a grant yet: nothing cancels it. The owner gets the
// account back and an admin unblocks it; the window then starts, and activation asks only whether an approver is
// blocked now or was blocked since the grant was recorded as pending (at the start, after the unblock).
import { describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
type PolicyInput = Parameters<typeof aLoadedPolicy>[0];
const POLICY = { tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } } } as PolicyInput;

describe('attack2: a window approved by a stolen account, its revoke-all cut short, then an unblock', () => {
  let h: Harness;
  let startsAt = 0;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy(POLICY));
    startsAt = h.clock.now().getTime() + 2 * HOUR;
  });

  async function scheduledByStolenLead(): Promise<number> {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'planned CHG-41', startsAt });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    expect((await h.service.approve(asked.value.request.id, PEOPLE.lead1)).value?.kind).toBe('approved');
    expect((await h.store.getRequest(asked.value.request.id))?.state).toBe('scheduled');
    return asked.value.request.id;
  }

  it('held (once a hole): the window starts on the stolen approval after the unblock', async () => {
    const id = await scheduledByStolenLead();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-41'); // revoke-all's replica died here
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(POLICY), directory: h.directory, log: silentLogger }, h.service.grants);
    await reasons.sweep(); // every sweep during the block: nothing live to end
    h.clock.advance(HOUR);
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    h.clock.set(new Date(startsAt));
    await h.service.windows.activate(id);
    // Held: not granted (cancelled by the sweep during the block, or refused at its start).
    expect({ granted: h.provider.count('grant'), grant: (await h.store.grantForRequest(id))?.state ?? null }).toEqual({ granted: 0, grant: null });
  });

  it('held (once a hole): likewise a pending two-step request whose step 1 the stolen account approved is granted on step 2 after the unblock', async () => {
    h.setPolicy(aLoadedPolicy({ tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as PolicyInput));
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'accomplice INC-43' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    expect((await h.service.approve(asked.value.request.id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-43'); // revoke-all's replica died here
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(POLICY), directory: h.directory, log: silentLogger }, h.service.grants);
    await reasons.sweep();
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    const last = await h.service.approve(asked.value.request.id, PEOPLE.security); // honest, sees one approval on the card
    // Held: refused or cancelled (the step-1 approval was made with a since-blocked account).
    expect({ outcome: last.ok ? last.value.kind : last.error.code, granted: h.provider.count('grant') }).toEqual({ outcome: 'approval_by_blocked', granted: 0 });
  });

  it('held: with revoke-all run to its end the window is cancelled and stays so after the unblock', async () => {
    const id = await scheduledByStolenLead();
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-42');
    expect(out.ok && out.value.approvalsCancelled).toBe(1);
    await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security);
    h.clock.set(new Date(startsAt));
    expect(await h.service.windows.activate(id)).toBe('not_scheduled');
    expect(h.provider.count('grant')).toBe(0);
  });
});
