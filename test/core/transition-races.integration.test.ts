// Transitions raced inside one process: each audit entry stands for a change that applied, and says what it applied.
import { describe, expect, it } from 'vitest';
import { LOST_RACE } from '../../src/store/repositories.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';

const HOUR = 3_600_000;

describe('racing transitions and their audit entries', () => {
  let h: Harness;
  useFreshHarness((fresh) => (h = fresh));

  it('fails an interrupted grant once when two sweeps undo it at the same time', async () => {
    const now = h.clock.now();
    const ids = await h.store.transaction(now, async (tx) => {
      const request = await tx.insertRequest({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', tier: 'low', durationMs: HOUR, reason: 'r', tickets: [], state: 'approved', steps: [], rule: 'test', createdAt: now.getTime(), decidedAt: now.getTime(), decidedBy: 'policy' });
      await tx.audit({ actor: PEOPLE.engineer, action: 'request.created', requestId: `R${request.id}`, details: { resource: 'sandbox', role: 'admin' } });
      await tx.audit({ actor: 'policy', action: 'request.auto_approved', requestId: `R${request.id}` });
      // The grant is left pending without an entry, as a crash in the middle of granting leaves it.
      const grant = await tx.insertGrant({ requestId: request.id, user: PEOPLE.engineer, resource: 'sandbox', role: 'admin', provider: { type: 'noop' }, reason: 'r', state: 'pending', createdAt: now.getTime() });
      return { request: request.id, grant: grant.id };
    });
    if (ids === LOST_RACE) throw new Error('insert lost');
    // Each revoke waits for the other, so both sweeps have read the grant as pending (on PostgreSQL one sweep's read
    // could otherwise come after the other's write, and it would rightly find nothing to undo).
    h.provider.duringRevoke = async () => {
      for (let waited = 0; h.provider.count('revoke') < 2; waited += 5) {
        if (waited > 10_000) throw new Error('the second sweep never reached the provider');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const undone = await Promise.all([h.service.grants.undoInterrupted(ids.grant), h.service.grants.undoInterrupted(ids.grant)]);
    expect(undone).toEqual([true, true]); // both took the access back at the provider; only one recorded it
    expect((await h.auditActions()).filter((a) => a === 'grant.failed')).toHaveLength(1);
    expect(h.notifier.types().filter((t) => t === 'request_failed')).toHaveLength(1);
    expect((await h.store.getGrant(ids.grant))?.state).toBe('failed');
  });


  it('takes back what the provider granted when a sweep failed the grant meanwhile, and records no activation', async () => {
    h.provider.duringGrant = async () => {
      // The sweep's side of the race, as it lands while the provider is still answering.
      const [grantId] = await h.store.stalePendingGrantIds(Number.MAX_SAFE_INTEGER, 0, 1);
      const grant = await h.store.getGrant(grantId as number);
      if (grant === undefined) throw new Error('expected a pending grant');
      await h.store.transaction(h.clock.now(), async (tx) => {
        await tx.updateGrant(grant.id, 'pending', { state: 'failed', endedAt: h.clock.now().getTime() });
        await tx.updateRequest(grant.requestId, 'approved', { state: 'failed', decisionNote: 'interrupted' });
        await tx.audit({ actor: 'sesame', action: 'grant.failed', requestId: `R${grant.requestId}`, grantId: `G${grant.id}`, details: { problem: 'interrupted', created_at: new Date(grant.createdAt).toISOString() } });
      });
    };
    await expect(h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: HOUR, reason: 'try' })).rejects.toThrow('left the pending state while being granted');
    expect(h.provider.present.size).toBe(0);
    expect(h.provider.calls.map((c) => c.op)).toEqual(['grant', 'revoke']);
    expect((await h.auditActions())).not.toContain('grant.activated');
  });

  it('extends from the end as it is when the extension applies, not as another process read it earlier', async () => {
    const granted = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: HOUR, reason: 'try' });
    if (granted.value?.kind !== 'granted') throw new Error('expected a grant');
    const { grant, request } = granted.value;
    // Both extensions start from the same row, read before either applied, as two processes racing would.
    await h.service.grants.extend(grant, request, 30 * 60_000, PEOPLE.engineer, 8 * HOUR);
    await h.service.grants.extend(grant, request, 30 * 60_000, PEOPLE.engineer, 8 * HOUR);
    const end = (grant.expiresAt ?? 0) + HOUR;
    expect((await h.store.getGrant(grant.id))?.expiresAt).toBe(end);
    const entries = await h.sql.all("SELECT details FROM audit_log WHERE action = 'grant.extended' ORDER BY id") as { details: string }[];
    expect(entries.map((e) => (JSON.parse(e.details) as { expires_at: string }).expires_at).at(-1)).toBe(new Date(end).toISOString());
  });
});
