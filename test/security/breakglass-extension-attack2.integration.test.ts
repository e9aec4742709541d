// Second adversarial pass (attack2): the accomplice breaks glass (no approval at all), then extends the break-glass
// grant; the stolen lead1 approves the extension's first step and an honest security approver the second. revoke-all
// on lead1 must end the grant (its extra time rests on the stolen approval).
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
type PolicyInput = Parameters<typeof aLoadedPolicy>[0];

describe('attack2: a break-glass grant extended on a stolen approval', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as PolicyInput));
  });

  it('held: revoke-all on the extension\'s first-step approver ends the break-glass grant', async () => {
    const glass = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR / 2, reason: 'INC-71 primary down', breakglass: true, channelId: 'C0INC42' });
    if (!glass.ok || glass.value.kind !== 'granted') throw new Error(`expected a break-glass grant, got ${JSON.stringify(glass)}`);
    const grant = glass.value.grant;
    const ext = await h.service.extend(grant.id, PEOPLE.oncall, HOUR / 4);
    if (!ext.ok) throw new Error(`extension refused: ${JSON.stringify(ext.error)}`);
    if (ext.value.kind !== 'pending') throw new Error(`expected a pending extension, got ${ext.value.kind}`);
    expect((await h.service.approve(ext.value.request.id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    expect((await h.service.approve(ext.value.request.id, PEOPLE.security)).value?.kind).toBe('approved');
    expect((await h.store.getGrant(grant.id))?.expiresAt).toBeGreaterThan(grant.expiresAt as number);
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-71');
    expect(out.ok && out.value.endedApproved).toEqual([`G${grant.id}`]);
    expect((await h.store.getGrant(grant.id))?.state).toBe('revoked');
  });
});
