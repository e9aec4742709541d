// Adversary: an accomplice holds a grant an honest lead approved, asks to extend it, and the stolen approver account
// (lead1) approves the extension. An admin notices and runs revoke-all on lead1. revoke-all revokes grants "whose
// request" lead1 approved (store.grantsApprovedBy joins approvals to grants.request_id), but an extension is a request
// of its own (extends_grant_id), so the grant keeps the extra time resting on the stolen approval.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: an extension approved by an account blocked since', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }] } } } as Parameters<typeof aLoadedPolicy>[0]));
  });

  it('revoke-all on the approver of the extension ends the grant (or at least its extra time)', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-11 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    expect((await h.service.approve(asked.value.request.id, PEOPLE.lead2)).value?.kind).toBe('approved'); // honest
    const grant = await h.store.grantForRequest(asked.value.request.id);
    if (grant === undefined) throw new Error('expected a grant');
    const originalEnd = grant.expiresAt;

    const ext = await h.service.extend(grant.id, PEOPLE.engineer, HOUR);
    if (!ext.ok || ext.value.kind !== 'pending') throw new Error(`expected a pending extension, got ${JSON.stringify(ext)}`);
    expect((await h.service.approve(ext.value.request.id, PEOPLE.lead1)).ok).toBe(true); // the stolen lead account
    expect((await h.store.getGrant(grant.id))?.expiresAt).toBeGreaterThan(originalEnd as number);

    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-11');
    expect(out.ok).toBe(true);
    const after = await h.store.getGrant(grant.id);
    // Held: the grant is revoked, or its end is back where the honest approval put it.
    const held = after?.state === 'revoked' || after?.expiresAt === originalEnd;
    expect({ held, state: after?.state, extendedBy: ((after?.expiresAt as number) - (originalEnd as number)) / HOUR, reply: out.ok && out.value.endedApproved }).toMatchObject({ held: true });
  });
});
