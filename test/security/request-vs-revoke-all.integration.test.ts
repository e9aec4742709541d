// Adversary: a request decided just before revoke-all and stored just after it (the await on the scheduler's health
// check, a Redis round trip, sits between the decision and the insert). revoke-all's cancel scan saw nothing, so a
// scheduled window (or a pending request) of the blocked person survived it; after an unblock the window started
// by itself, which is what cancelling windows at revoke-all was for.
import { describe, expect, it } from 'vitest';
import { gate } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: revoke-all vs a request being stored', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));

  /** Holds the request between its decision and its insert until `release`, as a slow Redis ping does. */
  const slowHealthCheck = () => {
    const { reached: inCheck, release, pass } = gate();
    h.scheduler.available = async () => {
      await pass();
      return true;
    };
    return { inCheck, release };
  };

  it('a scheduled window stored after revoke-all is refused, so no unblock brings it back', async () => {
    const { inCheck, release } = slowHealthCheck();
    const startsAt = h.clock.now().getTime() + 2 * HOUR;
    const asking = h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'planned CHG-1', startsAt });
    await inCheck;
    const revoked = await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    expect(revoked.ok && revoked.value).toMatchObject({ newlyBlocked: true, windowsCancelled: 0 });
    release();
    const out = await asking;
    expect(!out.ok && out.error.code).toBe('user_blocked');
    expect(await h.store.requestsBy(PEOPLE.engineer, ['pending', 'scheduled', 'approved'])).toEqual([]);

    // The laptop turns up; the admin unblocks before the window's start. Nothing is granted at the start.
    expect((await userBlocksOf(h).unblock(PEOPLE.engineer, PEOPLE.security)).ok).toBe(true);
    h.clock.set(new Date(startsAt));
    for (const [id] of h.scheduler.activations) await h.service.windows.activate(id);
    expect(h.provider.count('grant')).toBe(0);
  });

  it('a request needing approval stored after revoke-all is refused too, so no approver grants it after an unblock', async () => {
    const { inCheck, release } = slowHealthCheck();
    const asking = h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-9 fix' });
    await inCheck;
    expect((await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen')).ok).toBe(true);
    release();
    const out = await asking;
    expect(!out.ok && out.error.code).toBe('user_blocked');
    expect(await h.store.requestsBy(PEOPLE.engineer, ['pending'])).toEqual([]);
    const refused = await h.sql.all("SELECT actor, details FROM audit_log WHERE action = 'request.refused'") as { actor: string; details: string }[];
    expect(refused.map((r) => [r.actor, (JSON.parse(r.details) as { code: string }).code])).toEqual([[PEOPLE.engineer, 'user_blocked']]);
  });
});
