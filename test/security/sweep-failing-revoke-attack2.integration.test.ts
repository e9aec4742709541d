// Second adversarial pass (attack2): a grant resting on a blocked approver whose revoke keeps failing. Every sweep
// retries it; held means each sweep finishes (no loop), tries it once (with its retries), and alerts the admins once
// overall rather than every sweep.
import { describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
type PolicyInput = Parameters<typeof aLoadedPolicy>[0];
const POLICY = { tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } } } as PolicyInput;

describe('attack2: the sweep and a grant on a blocked approver whose revoke keeps failing', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy(POLICY));
  });

  it('held: each sweep ends, tries the grant once, and the admins are alerted once', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'accomplice' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    await h.service.approve(asked.value.request.id, PEOPLE.lead1);
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    h.provider.failRevokes = 1_000_000;
    const reasons = new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(POLICY), directory: h.directory, log: silentLogger }, h.service.grants);
    const perSweep: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = h.provider.calls.filter((c) => c.op === 'revoke').length;
      const report = await reasons.sweep();
      expect(report.blocked).toBe(0);
      perSweep.push(h.provider.calls.filter((c) => c.op === 'revoke').length - before);
    }
    const alerts = h.notifier.events.filter((e) => e.type === 'grant_revoke_failed').length;
    expect({ sameEverySweep: new Set(perSweep).size === 1, alerts, state: (await h.store.getGrant(1))?.state }).toEqual({ sameEverySweep: true, alerts: 1, state: 'revoke_failed' });
    h.provider.failRevokes = 0;
    expect((await reasons.sweep()).blocked).toBe(1);
    expect((await h.store.getGrant(1))?.state).toBe('revoked');
  });
});
