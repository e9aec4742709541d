// The store port's contract, run against every store (test/support/store-factories.ts): conditional transitions,
// rollback on abort or throw, records read back as written, the blocks, and an audit chain that verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOST_RACE, type StorePort, type TransactionPort } from '../../src/core/store-port.ts';
import type { ProviderConfig } from '../../src/policy/schema.ts';
import { storeFactories, type OpenedStore } from '../support/store-factories.ts';

const now = new Date('2026-11-23T09:00:00Z');
/** Epoch ms past 2^31, and a duration (30 days) past it too: a 32-bit column would refuse or wrap these. */
const LATER = Date.UTC(2027, 0, 1);
const MONTH_MS = 30 * 24 * 3_600_000;
const PROVIDER = { type: 'noop', settings: { nested: { b: 2, a: [1, 'x'] } } } as unknown as ProviderConfig;

let counter = 0;
const user = () => `U${++counter}`;

async function committed<T>(store: StorePort, body: (tx: TransactionPort) => Promise<T>): Promise<T> {
  const result = await store.transaction(now, body);
  if (result === LOST_RACE) throw new Error('the transaction lost a race it could not lose');
  return result;
}

const newRequest = (requester: string) => ({
  requester,
  resource: 'sandbox',
  role: 'admin',
  tier: 'high',
  durationMs: MONTH_MS,
  reason: 'incident 42',
  tickets: ['INC-1'],
  state: 'pending' as const,
  steps: [{ from: 'security', count: 1 }, { from: 'team_lead', count: 1, leads: ['U9'] }],
  rule: 'test',
  createdAt: LATER,
  timeoutAt: LATER + 60_000,
});

describe.each(storeFactories)('the $name store', (factory) => {
  let opened: OpenedStore;
  let store: StorePort;
  beforeAll(async () => {
    opened = await factory.open();
    store = opened.store;
  });
  afterAll(() => opened.close());

  it('reads a request and its grant back exactly as written: JSON, booleans, nulls and times past 32 bits', async () => {
    const requester = user();
    const { request, grant } = await committed(store, async (tx) => {
      const request = await tx.insertRequest({ ...newRequest(requester), breakglass: true, bundleMembers: null });
      const grant = await tx.insertGrant({ requestId: request.id, user: requester, resource: 'sandbox', role: 'admin', provider: PROVIDER, reason: 'r', state: 'pending', createdAt: LATER, expiresAt: LATER + MONTH_MS, reviewLeads: ['U7', 'U8'] });
      return { request, grant };
    });
    expect(await store.getRequest(request.id)).toEqual(request);
    expect(request).toMatchObject({ breakglass: true, selfApproval: false, currentStep: 0, durationMs: MONTH_MS, createdAt: LATER, tickets: ['INC-1'], bundleMembers: null, escalateAt: null });
    expect(await store.getGrant(grant.id)).toEqual(grant);
    expect(grant).toMatchObject({ provider: PROVIDER, providerState: null, breakglass: false, revokeAttempts: 0, expiresAt: LATER + MONTH_MS, reviewLeads: ['U7', 'U8'] });
    expect(await store.grantsOfRequest(request.id)).toEqual([grant]);
    expect(await store.grantForRequest(request.id)).toEqual(grant);
    expect(await store.breakglassGrantsSince(requester, LATER)).toBe(0);
  });

  it('changes a request only from the states it names (and the step, if given), and never twice', async () => {
    const request = await committed(store, (tx) => tx.insertRequest(newRequest(user())));
    expect(await committed(store, (tx) => tx.updateRequest(request.id, 'pending', { currentStep: 1 }, 1))).toBe(false);
    expect(await committed(store, (tx) => tx.updateRequest(request.id, 'pending', { currentStep: 1, decisionNote: undefined }, 0))).toBe(true);
    expect(await committed(store, (tx) => tx.updateRequest(request.id, ['pending', 'scheduled'], { state: 'approved', decidedBy: 'U9', decidedAt: LATER }))).toBe(true);
    expect(await committed(store, (tx) => tx.updateRequest(request.id, 'pending', { state: 'denied' }))).toBe(false);
    expect(await store.getRequest(request.id)).toMatchObject({ state: 'approved', currentStep: 1, decidedBy: 'U9', decidedAt: LATER });
  });

  it('refuses, as a bug, a transition the state machine does not allow', async () => {
    const request = await committed(store, (tx) => tx.insertRequest(newRequest(user())));
    await expect(store.transaction(now, (tx) => tx.updateRequest(request.id, 'denied', { state: 'approved' }))).rejects.toThrow('bug: a request cannot go from denied to approved');
    expect((await store.getRequest(request.id))?.state).toBe('pending');
  });

  it('rolls back everything a transaction wrote, audit entries included, when it aborts or throws', async () => {
    const requester = user();
    const before = (await opened.verifyChain()).entries;
    const aborted = await store.transaction(now, async (tx) => {
      await tx.insertRequest(newRequest(requester));
      await tx.audit({ actor: requester, action: 'request.created' });
      tx.abort();
    });
    expect(aborted).toBe(LOST_RACE);
    await expect(
      store.transaction(now, async (tx) => {
        await tx.insertRequest(newRequest(requester));
        await tx.audit({ actor: requester, action: 'request.created' });
        throw new Error('provider exploded');
      }),
    ).rejects.toThrow('provider exploded');
    // A body that catches the abort and carries on still rolls back: an abort cannot be undone from inside.
    const swallowed = await store.transaction(now, async (tx) => {
      await tx.insertRequest(newRequest(requester));
      try {
        tx.abort();
      } catch {
        // carries on regardless
      }
      await tx.audit({ actor: requester, action: 'request.created' });
    });
    expect(swallowed).toBe(LOST_RACE);
    expect(await store.requestsBy(requester, ['pending'])).toEqual([]);
    expect(await opened.verifyChain()).toMatchObject({ ok: true, entries: before });
  });

  it('records one approval per person and step, and a grant once per request member', async () => {
    const request = await committed(store, (tx) => tx.insertRequest(newRequest(user())));
    expect(await committed(store, (tx) => tx.insertApproval(request.id, 0, 'U9', LATER))).toBe(true);
    expect(await committed(store, (tx) => tx.insertApproval(request.id, 0, 'U9', LATER + 1))).toBe(false);
    expect(await committed(store, (tx) => tx.insertApproval(request.id, 1, 'U9', LATER + 2))).toBe(true);
    expect((await store.approvalsFor(request.id)).map((a) => [a.step, a.approver, a.at])).toEqual([
      [0, 'U9', LATER],
      [1, 'U9', LATER + 2],
    ]);
    const grant = { requestId: request.id, user: request.requester, resource: 'sandbox', role: 'admin', provider: PROVIDER, reason: 'r', state: 'pending' as const, createdAt: LATER };
    await committed(store, (tx) => tx.insertGrant(grant));
    await expect(store.transaction(now, (tx) => tx.insertGrant(grant))).rejects.toThrow();
  });

  it('finds the grants resting on an approver\'s approval, in the states asked for', async () => {
    const approver = user();
    const grantFor = async (approvedBy: string | null, state: 'active' | 'expired') =>
      committed(store, async (tx) => {
        const request = await tx.insertRequest(newRequest(user()));
        if (approvedBy !== null) await tx.insertApproval(request.id, 0, approvedBy, LATER);
        return tx.insertGrant({ requestId: request.id, user: request.requester, resource: 'sandbox', role: 'admin', provider: PROVIDER, reason: 'r', state, createdAt: LATER });
      });
    const live = await grantFor(approver, 'active');
    const over = await grantFor(approver, 'expired');
    await grantFor('someone else', 'active');
    await grantFor(null, 'active');
    expect((await store.grantsApprovedBy(approver, ['active', 'revoke_failed'])).map((g) => g.id)).toEqual([live.id]);
    expect((await store.grantsApprovedBy(approver, ['active', 'expired'])).map((g) => g.id)).toEqual([live.id, over.id]);
    expect(await store.grantsApprovedBy('nobody', ['active'])).toEqual([]);

    // An approved extension rests on its approvers too; a denied one does not.
    const extended = await grantFor('someone else', 'active');
    const refused = await grantFor('someone else', 'active');
    for (const [grant, state] of [[extended, 'approved'], [refused, 'denied']] as const) {
      await committed(store, async (tx) => {
        const extension = await tx.insertRequest({ ...newRequest(grant.user), extendsGrantId: grant.id });
        await tx.insertApproval(extension.id, 0, approver, LATER);
        return tx.updateRequest(extension.id, 'pending', { state });
      });
    }
    expect((await store.grantsApprovedBy(approver, ['active'])).map((g) => g.id)).toEqual([live.id, extended.id]);

    // What a sweep ends after a revoke-all was cut short: live grants resting on someone blocked now.
    expect(await store.reasons.liveGrantIdsApprovedByBlocked()).not.toContain(live.id);
    await committed(store, (tx) => tx.insertBlock({ user: approver, blockedBy: 'U0', reason: 'stolen', blockedAt: LATER }));
    const ofBlocked = await store.reasons.liveGrantIdsApprovedByBlocked();
    expect(ofBlocked).toEqual(expect.arrayContaining([live.id, extended.id]));
    expect(ofBlocked).not.toContain(over.id);
    expect(ofBlocked).not.toContain(refused.id);
  });

  it('moves a grant only from the states it names, and reviews it once', async () => {
    const requester = user();
    const grant = await committed(store, async (tx) => {
      const request = await tx.insertRequest({ ...newRequest(requester), breakglass: true });
      return tx.insertGrant({ requestId: request.id, user: requester, resource: 'sandbox', role: 'admin', provider: PROVIDER, reason: 'r', state: 'pending', breakglass: true, createdAt: LATER });
    });
    expect(await committed(store, (tx) => tx.updateGrant(grant.id, 'pending', { state: 'active', providerState: { wasMember: false } }))).toBe(true);
    expect(await committed(store, (tx) => tx.updateGrant(grant.id, 'pending', { state: 'failed' }))).toBe(false);
    expect(await store.breakglassGrantsSince(requester, LATER)).toBe(1);
    expect((await store.unreviewedBreakglassGrants()).map((g) => g.id)).toContain(grant.id);
    expect(await committed(store, (tx) => tx.markReviewed(grant.id, 'U9', LATER))).toBe(true);
    expect(await committed(store, (tx) => tx.markReviewed(grant.id, 'U8', LATER))).toBe(false);
    expect(await store.getGrant(grant.id)).toMatchObject({ state: 'active', providerState: { wasMember: false }, reviewedBy: 'U9', reviewedAt: LATER });
  });

  it('blocks a person once, and remembers through the audit log that they were blocked after an unblock', async () => {
    const blocked = user();
    const row = { user: blocked, blockedBy: 'U0', reason: 'left', blockedAt: LATER };
    expect(
      await committed(store, async (tx) => {
        await tx.audit({ actor: 'U0', action: 'user.blocked', details: { user: blocked } });
        return tx.insertBlock(row);
      }),
    ).toBe(true);
    expect(await committed(store, (tx) => tx.insertBlock({ ...row, reason: 'again' }))).toBe(false);
    expect(await store.isBlocked(blocked)).toBe(true);
    expect(await store.blockedAmong([blocked, 'nobody', blocked])).toEqual(new Set([blocked]));
    expect(await committed(store, (tx) => tx.deleteBlock(blocked))).toBe(true);
    expect(await committed(store, (tx) => tx.deleteBlock(blocked))).toBe(false);
    expect(await store.isBlocked(blocked)).toBe(false);
    expect(await store.blockedSince(blocked, now.getTime() - 1)).toBe(true);
    expect(await store.blockedSince(blocked, now.getTime() + 1)).toBe(false);
    expect(await store.blockedSince('someone else', 0)).toBe(false);
  });

  it('appends audit entries in one chain that verifies, in and outside transactions', async () => {
    const before = (await opened.verifyChain()).entries;
    const [first] = await store.audit(now, { actor: 'sesame', action: 'policy.loaded', details: { b: [2, { z: 1, y: null }], a: 'é' } });
    const second = await committed(store, async (tx) => [await tx.audit({ actor: 'U1', action: 'request.created', requestId: 'R1' }), await tx.audit({ actor: 'U1', action: 'grant.activated', grantId: 'G1' })]);
    expect(first).toMatchObject({ id: before + 1, details: '{"a":"é","b":[2,{"y":null,"z":1}]}', at: now.toISOString() });
    expect(second.map((e) => e.id)).toEqual([before + 2, before + 3]);
    expect(second[0]?.prevHash).toBe(first?.hash);
    expect(second[1]?.prevHash).toBe(second[0]?.hash);
    expect(await opened.verifyChain()).toMatchObject({ ok: true, entries: before + 3, head: { id: before + 3, hash: second[1]?.hash } });
    expect(await store.lastAuditAt('grant.activated')).toEqual(now);
    expect((await store.recent.auditEntries(1))[0]).toMatchObject({ id: before + 3, action: 'grant.activated', grantId: 'G1' });
  });
});
