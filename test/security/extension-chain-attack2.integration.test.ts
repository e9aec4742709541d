// Second adversarial pass (attack2) on revoke-all's "resting on a blocked approver": extensions approved in two steps,
// extensions of extensions, a bundle's extension, the sweep after a block that revoke-all never finished, and the
// over-reach side (an extension the stolen account approved a step of but that was denied, cancelled or timed out
// must not cost the honest holder their honestly approved grant).
import { describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
type PolicyInput = Parameters<typeof aLoadedPolicy>[0];
const TWO_STEPS = { settings: { request_timeout: '10m', remind_after: '5m' }, tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as PolicyInput;

async function honestGrant(h: Harness, reason = 'INC-21 fix'): Promise<{ id: number; expiresAt: number }> {
  const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR / 2, reason });
  if (!asked.ok || asked.value.kind !== 'pending') throw new Error(`expected a pending request, got ${JSON.stringify(asked)}`);
  expect((await h.service.approve(asked.value.request.id, PEOPLE.lead2)).value?.kind).toBe('next_step');
  expect((await h.service.approve(asked.value.request.id, PEOPLE.security)).value?.kind).toBe('approved');
  const grant = await h.store.grantForRequest(asked.value.request.id);
  if (grant?.state !== 'active') throw new Error('expected an active grant');
  return { id: grant.id, expiresAt: grant.expiresAt as number };
}

async function askExtension(h: Harness, grantId: number): Promise<number> {
  const ext = await h.service.extend(grantId, PEOPLE.engineer, HOUR / 4);
  if (!ext.ok || ext.value.kind !== 'pending') throw new Error(`expected a pending extension, got ${JSON.stringify(ext)}`);
  return ext.value.request.id;
}

describe('attack2: extensions whose approval rests partly on a stolen approver', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy(TWO_STEPS));
  });

  it('held: stolen lead approves step 1, honest security step 2; revoke-all on the lead ends the grant', async () => {
    const grant = await honestGrant(h);
    const ext = await askExtension(h, grant.id);
    expect((await h.service.approve(ext, PEOPLE.lead1)).value?.kind).toBe('next_step');
    expect((await h.service.approve(ext, PEOPLE.security)).value?.kind).toBe('approved');
    expect((await h.store.getGrant(grant.id))?.expiresAt).toBeGreaterThan(grant.expiresAt);
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-21');
    expect(out.ok && out.value.endedApproved).toEqual([`G${grant.id}`]);
    expect((await h.store.getGrant(grant.id))?.state).toBe('revoked');
  });

  it('held: an extension of an extension (first honest, second by the stolen lead) ends on revoke-all', async () => {
    const grant = await honestGrant(h);
    const ext1 = await askExtension(h, grant.id);
    await h.service.approve(ext1, PEOPLE.lead2);
    expect((await h.service.approve(ext1, PEOPLE.security)).value?.kind).toBe('approved');
    const ext2 = await askExtension(h, grant.id);
    await h.service.approve(ext2, PEOPLE.lead1);
    expect((await h.service.approve(ext2, PEOPLE.security)).value?.kind).toBe('approved');
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-22');
    expect(out.ok && out.value.endedApproved).toEqual([`G${grant.id}`]);
    expect((await h.store.getGrant(grant.id))?.state).toBe('revoked');
  });

  it('held: a block that revoke-all never followed up (replica died) is finished by the sweep, two-step extension included', async () => {
    const grant = await honestGrant(h);
    const ext = await askExtension(h, grant.id);
    await h.service.approve(ext, PEOPLE.lead1);
    expect((await h.service.approve(ext, PEOPLE.security)).value?.kind).toBe('approved');
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-23');
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(TWO_STEPS), directory: h.directory, log: silentLogger }, h.service.grants);
    expect((await reasons.sweep()).blocked).toBe(1);
    expect((await h.store.getGrant(grant.id))?.state).toBe('revoked');
  });
});

describe('attack2: revoke-all must not end grants whose only link to the stolen account is a refused extension', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy(TWO_STEPS));
  });

  for (const how of ['denied', 'cancelled', 'timed_out'] as const) {
    it(`held: the stolen lead approved step 1 of an extension that was then ${how}; the honest grant stays`, async () => {
      const grant = await honestGrant(h);
      const ext = await askExtension(h, grant.id);
      expect((await h.service.approve(ext, PEOPLE.lead1)).value?.kind).toBe('next_step');
      if (how === 'denied') expect((await h.service.deny(ext, PEOPLE.security, 'no')).ok).toBe(true);
      if (how === 'cancelled') expect((await h.service.cancel(ext, PEOPLE.engineer)).ok).toBe(true);
      if (how === 'timed_out') {
        h.clock.advance(11 * 60_000);
        expect(await h.service.timeOut(ext)).toBe(true);
      }
      expect((await h.store.getRequest(ext))?.state).toBe(how);
      const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-24');
      expect(out.ok && out.value.ended).toEqual([]);
      const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(TWO_STEPS), directory: h.directory, log: silentLogger }, h.service.grants);
      expect((await reasons.sweep()).blocked).toBe(0);
      expect((await h.store.getGrant(grant.id))?.state).toBe('active');
    });
  }

  it('held: a re-asked extension approved honestly after revoke-all cancelled the stolen one does not make the grant rest on the stolen account', async () => {
    const grant = await honestGrant(h);
    const ext = await askExtension(h, grant.id);
    await h.service.approve(ext, PEOPLE.lead1);
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-25');
    expect(out.ok && out.value.approvalsCancelled).toBe(1);
    const again = await askExtension(h, grant.id);
    await h.service.approve(again, PEOPLE.lead2);
    expect((await h.service.approve(again, PEOPLE.security)).value?.kind).toBe('approved');
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(TWO_STEPS), directory: h.directory, log: silentLogger }, h.service.grants);
    expect((await reasons.sweep()).blocked).toBe(0);
    expect((await h.store.getGrant(grant.id))?.state).toBe('active');
  });
});
