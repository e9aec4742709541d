// Adversary findings 3 and 8: revoke-all left scheduled windows in place (granted after an unblock, or at their start
// while the block still stood), and an admin could block themselves, locking out the only admin account.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('revoke-all and scheduled windows', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));
  const blocks = () => userBlocksOf(h);
  const scheduledWindow = async () => {
    const startsAt = h.clock.now().getTime() + 2 * HOUR;
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'planned work CHG-881', startsAt });
    if (!out.ok || out.value.kind !== 'scheduled') throw new Error(`expected a scheduled request, got ${JSON.stringify(out)}`);
    return { request: out.value.request, startsAt };
  };
  const cancelAudits = async () =>
    (await h.sql.all("SELECT actor, request_id, details FROM audit_log WHERE action = 'request.cancelled' ORDER BY id") as { actor: string; request_id: string; details: string }[]).map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));

  it('cancels the person\'s scheduled windows (audited, activation job dropped), so an unblock does not bring them back', async () => {
    const { request, startsAt } = await scheduledWindow();
    expect(h.scheduler.activations.has(request.id)).toBe(true);

    const out = await blocks().revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    expect(out.ok && out.value).toMatchObject({ newlyBlocked: true, cancelled: 0, windowsCancelled: 1, ended: [], failed: [] });
    expect((await h.store.getRequest(request.id))?.state).toBe('cancelled');
    expect(h.scheduler.activations.has(request.id)).toBe(false);
    expect((await cancelAudits())).toEqual([{ actor: PEOPLE.security, request_id: `R${request.id}`, details: expect.objectContaining({ code: 'user_blocked' }) }]);

    // The admin unblocks before the start; the window's job (or a sweep) fires anyway and must grant nothing.
    expect((await blocks().unblock(PEOPLE.engineer, PEOPLE.security)).ok).toBe(true);
    h.clock.set(new Date(startsAt));
    expect(await h.service.windows.activate(request.id)).toBe('not_scheduled');
    expect(await h.store.grantForRequest(request.id)).toBeUndefined();
    expect(h.provider.count('grant')).toBe(0);
  });

  it('re-checks the block at activation: a window of a blocked person is refused and cancelled, audited', async () => {
    const { request, startsAt } = await scheduledWindow();
    // A block that revoke-all's cancel did not reach (the window was held just after its scan).
    await blockOnly(h, PEOPLE.engineer, PEOPLE.security);
    h.clock.set(new Date(startsAt));
    expect(await h.service.windows.activate(request.id)).toBe('no_longer_allowed');
    expect((await h.store.getRequest(request.id))?.state).toBe('cancelled');
    expect(await h.store.grantForRequest(request.id)).toBeUndefined();
    expect(h.provider.count('grant')).toBe(0);
    expect((await cancelAudits())).toEqual([{ actor: 'sesame', request_id: `R${request.id}`, details: expect.objectContaining({ cause: 'user_blocked' }) }]);
  });

  it('refuses an admin\'s revoke-all on themselves with a sentence, audited, and blocks nothing', async () => {
    const out = await blocks().revokeAll(PEOPLE.security, PEOPLE.security, 'testing');
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error).toEqual({ code: 'self_block' });
    expect(await h.store.isBlocked(PEOPLE.security)).toBe(false);
    const refused = await h.sql.all("SELECT actor, details FROM audit_log WHERE action = 'user.block_refused'") as { actor: string; details: string }[];
    expect(refused.map((r) => ({ actor: r.actor, details: JSON.parse(r.details) as unknown }))).toEqual([{ actor: PEOPLE.security, details: expect.objectContaining({ code: 'self_block', user: PEOPLE.security }) }]);
    expect((await h.auditActions())).not.toContain('user.blocked');
  });
});
