// Second adversarial pass (attack2): a bundle whose extension (asked on one member) a stolen lead approved moves every
// member's end; revoke-all on the lead must end every member, not only the one named in the extension.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
type PolicyInput = Parameters<typeof aLoadedPolicy>[0];

describe('attack2: a bundle extended on a stolen approval', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } }, bundles: { kit: ['sandbox:admin', 'staging-db:read'] } } as PolicyInput));
  });

  it('held: revoke-all on the extension\'s approver ends every member', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: HOUR, reason: 'INC-51' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error(`expected a pending bundle, got ${JSON.stringify(asked)}`);
    expect((await h.service.approve(asked.value.request.id, PEOPLE.lead2)).value?.kind).toBe('approved'); // honest
    const members = await h.store.grantsOfRequest(asked.value.request.id);
    expect(members).toHaveLength(2);
    const ext = await h.service.extend(members[1]!.id, PEOPLE.engineer, HOUR);
    if (!ext.ok || ext.value.kind !== 'pending') throw new Error(`expected a pending extension, got ${JSON.stringify(ext)}`);
    expect((await h.service.approve(ext.value.request.id, PEOPLE.lead1)).value?.kind).toBe('approved'); // stolen
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-51');
    expect(out.ok && [...out.value.endedApproved].sort()).toEqual(members.map((m) => `G${m.id}`).sort());
    expect((await h.store.grantsOfRequest(asked.value.request.id)).map((g) => g.state)).toEqual(['revoked', 'revoked']);
  });
});
