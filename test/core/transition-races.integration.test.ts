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
    const ids = h.store.transaction(now, (tx) => {
      const request = tx.insertRequest({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', tier: 'low', durationMs: HOUR, reason: 'r', tickets: [], state: 'approved', steps: [], rule: 'test', createdAt: now.getTime(), decidedAt: now.getTime(), decidedBy: 'policy' });
      tx.audit({ actor: PEOPLE.engineer, action: 'request.created', requestId: `R${request.id}`, details: { resource: 'sandbox', role: 'admin' } });
      tx.audit({ actor: 'policy', action: 'request.auto_approved', requestId: `R${request.id}` });
      // The grant is left pending without an entry, as a crash in the middle of granting leaves it.
      const grant = tx.insertGrant({ requestId: request.id, user: PEOPLE.engineer, resource: 'sandbox', role: 'admin', provider: { type: 'noop' }, reason: 'r', state: 'pending', createdAt: now.getTime() });
      return { request: request.id, grant: grant.id };
    });
    if (ids === LOST_RACE) throw new Error('insert lost');
    const undone = await Promise.all([h.service.grants.undoInterrupted(ids.grant), h.service.grants.undoInterrupted(ids.grant)]);
    expect(undone).toEqual([true, true]); // both took the access back at the provider; only one recorded it
    expect(h.auditActions().filter((a) => a === 'grant.failed')).toHaveLength(1);
    expect(h.notifier.types().filter((t) => t === 'request_failed')).toHaveLength(1);
    expect(h.store.getGrant(ids.grant)?.state).toBe('failed');
  });

});
