// What the approvers read: a request that revoke-all cancelled (its approver blocked, code approver_blocked; or its
// requester blocked, user_blocked) is stored with decided_by = the admin; its card must say so, not "Cancelled by the
// requester" (which it said before, while the audit log had it right).
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';
import { requestCard } from '../../src/slack/blocks.ts';

const HOUR = 3_600_000;

describe('the card of a request revoke-all cancelled', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as Parameters<typeof aLoadedPolicy>[0]));
  });

  it('does not say the requester cancelled it', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-97 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const id = asked.value.request.id;
    expect((await h.service.approve(id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    expect((await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised')).ok).toBe(true);
    const request = (await h.store.getRequest(id))!;
    expect(request.state).toBe('cancelled');
    const card = JSON.stringify(requestCard({ request, approvals: await h.store.approvalsFor(id), grant: null }));
    expect(card).not.toContain('Cancelled by the requester');
    expect(card).toContain(`Cancelled by <@${PEOPLE.security}>: cancelled because an approver of it (`);
  });
});
