// Adversary: the accomplice breaks glass; the stolen reviewer account (lead1, in breakglass.review_by) acknowledges the
// use at once ("looks right"), so it leaves every awaiting-review list and the daily reminder stops. An admin then runs
// revoke-all on lead1. Approvals lead1 gave before the block no longer count (and their grants are revoked), and so
// no review lead1 gave in the 30 days before the block closes anyone's oversight: it waits again, audited.
import { describe, expect, it } from 'vitest';
import { REVIEW_REOPEN_WINDOW_MS } from '../../src/core/user-blocks.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { onPostgres } from '../support/store-factories.ts';
import { gate } from '../support/gates.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
const POLICY = aLoadedPolicy({ breakglass: { review_by: 'sre-leads' }, tiers: { low: { review: 'sre-leads' } } } as Parameters<typeof aLoadedPolicy>[0]);

describe('adversary: a review given by an account blocked since', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(POLICY);
  });

  async function brokenGlass(): Promise<number> {
    const glass = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-98 primary down', breakglass: true, channelId: 'C0INC42' });
    if (!glass.ok || glass.value.kind !== 'granted') throw new Error(`expected a break-glass grant, got ${JSON.stringify(glass)}`);
    return glass.value.grant.id;
  }

  /** An ended grant of the reviewed tier, waiting for its review. */
  async function ended(): Promise<number> {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'trying INC-1' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    h.clock.advance(HOUR);
    expect((await h.service.expire(out.value.grant.id)).kind).toBe('ended');
    return out.value.grant.id;
  }

  async function endedAndReviewed(reviewer: string): Promise<number> {
    const id = await ended();
    expect((await h.service.reviews.post.give(id, reviewer, 'looks_right', null)).ok).toBe(true);
    return id;
  }

  const reopenedEntries = async () =>
    ((await h.sql.all("SELECT actor, grant_id, details FROM audit_log WHERE action = 'grant.review_reopened' ORDER BY id")) as { actor: string; grant_id: string; details: string }[]).map((e) => ({ ...e, details: JSON.parse(e.details) as unknown }));

  it('reopens the break-glass acknowledgement the blocked account gave: waiting again, audited, the card updated', async () => {
    const id = await brokenGlass();
    const reviewed = await h.service.reviews.acknowledge(id, PEOPLE.lead1); // the stolen reviewer
    expect(reviewed.ok, JSON.stringify(reviewed)).toBe(true);
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-98');
    expect(out.ok && out.value.reviewsReopened).toBe(1);
    expect(await h.store.getGrant(id)).toMatchObject({ reviewedBy: null, reviewedAt: null });
    expect((await h.service.reviews.waitingFor(PEOPLE.lead2)).map((g) => g.id)).toEqual([id]);
    expect(await reopenedEntries()).toEqual([{ actor: PEOPLE.security, grant_id: `G${id}`, details: { reviewer: PEOPLE.lead1, breakglass: true, reason: `revoke-all on its reviewer <@${PEOPLE.lead1}>: account compromised SEC-98` } }]);
    expect(h.notifier.events.find((e) => e.type === 'review_reopened')).toMatchObject({ grant: { id, reviewedBy: null }, reviewer: PEOPLE.lead1 });
    // An honest reviewer acknowledges it again; the blocked account cannot.
    expect((await h.service.reviews.acknowledge(id, PEOPLE.lead1)).ok).toBe(false);
    expect((await h.service.reviews.acknowledge(id, PEOPLE.lead2)).ok).toBe(true);
  });

  it('reopens a post-access verdict too, and leaves reviews of others and reviews older than the window alone', async () => {
    const old = await endedAndReviewed(PEOPLE.lead1);
    h.clock.advance(REVIEW_REOPEN_WINDOW_MS + HOUR);
    const recent = await endedAndReviewed(PEOPLE.lead1);
    const others = await endedAndReviewed(PEOPLE.lead2);
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'left the company');
    expect(out.ok && out.value.reviewsReopened).toBe(1);
    expect(await h.store.getGrant(recent)).toMatchObject({ reviewedBy: null, reviewVerdict: null, reviewFrom: 'sre-leads' });
    expect((await h.store.getGrant(old))?.reviewedBy).toBe(PEOPLE.lead1);
    expect((await h.store.getGrant(others))?.reviewedBy).toBe(PEOPLE.lead2);
    expect((await h.service.reviews.post.waitingFor(PEOPLE.lead2)).map((g) => g.id)).toEqual([recent]);
  });

  it('stays reopened after an unblock, and the sweep reopens what a revoke-all cut short left', async () => {
    const id = await brokenGlass();
    expect((await h.service.reviews.acknowledge(id, PEOPLE.lead1)).ok).toBe(true);
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-99'); // revoke-all's replica died here
    expect((await h.store.getGrant(id))?.reviewedBy).toBe(PEOPLE.lead1);
    const blocks = userBlocksOf(h);
    expect(await blocks.reopenReviews('sesame', 'an admin blocked its reviewer (/access revoke-all)')).toBe(1);
    expect(await blocks.reopenReviews('sesame', 'again')).toBe(0); // each review once
    expect((await blocks.unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    expect(await h.store.getGrant(id)).toMatchObject({ reviewedBy: null });
    expect((await reopenedEntries()).map((e) => e.actor)).toEqual(['sesame']);
  });

  // Found by an attack: a click checked just before the block and written just after it stood until the next sweep.
  it('refuses an acknowledgement or a verdict whose reviewer is blocked while it is being checked', async () => {
    const glass = await brokenGlass();
    const waiting = await ended();
    for (const click of [() => h.service.reviews.acknowledge(glass, PEOPLE.lead1), () => h.service.reviews.post.give(waiting, PEOPLE.lead1, 'looks_right', null)]) {
      // The check has read "not blocked" and is held there while the block lands.
      const held = gate();
      const isBlocked = h.store.isBlocked.bind(h.store);
      h.store.isBlocked = async (user) => {
        const blocked = await isBlocked(user);
        if (user === PEOPLE.lead1) await held.pass();
        return blocked;
      };
      const clicked = click();
      await held.reached;
      await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-96');
      held.release();
      expect((await clicked).error?.code).toBe('blocked_decider');
      h.store.isBlocked = isBlocked;
      expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    }
    expect((await h.store.getGrant(glass))?.reviewedBy).toBeNull();
    expect((await h.store.getGrant(waiting))?.reviewedBy).toBeNull();
  });

  // SQLite only: `audit verify --tables` has no PostgreSQL version yet.
  it.skipIf(onPostgres)('is caught by audit verify when the reopened review is put back in the table alone', async () => {
    const id = await brokenGlass();
    expect((await h.service.reviews.acknowledge(id, PEOPLE.lead1)).ok).toBe(true);
    expect((await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised SEC-97')).ok).toBe(true);
    expect(await h.opened.verifyTables?.()).toEqual([]);
    await h.sql.run('UPDATE grants SET reviewed_by = ? WHERE id = ?', PEOPLE.lead1, id);
    expect((await h.opened.verifyTables?.())?.map((m) => m.row)).toEqual([`grant G${id}`]);
    await h.sql.run('UPDATE grants SET reviewed_by = NULL WHERE id = ?', id);
  });
});
