// Adversary with write access to the database (a backup restored by hand, a shell on the host) edits the columns and
// table the last features added, where `sesame audit verify` did not look: a block deleted (a silent unblock), the
// group a grant rests on cleared (it then outlives leaving on-call), a review's reviewers changed or cleared (a
// friend reviews, or the review disappears from every list), a flag turned into "looks right".
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/store/audit.ts';
import { verifyTablesAgainstAudit } from '../../src/store/audit-tables.ts';
import { PEOPLE, sqliteAccessHarness } from '../support/access-harness.ts';
import { onPostgres } from '../support/store-factories.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

// SQLite only: `audit verify --tables` (verifyTablesAgainstAudit) has no PostgreSQL version yet.
describe.skipIf(onPostgres)('adversary: table edits that audit verify must catch', () => {
  let h: Awaited<ReturnType<typeof sqliteAccessHarness>>;
  afterEach(() => h.cleanup());
  const sql = (text: string, ...params: unknown[]) => h.temp.db.$client.prepare(text).run(...params);
  /** The tables' mismatches with the log; the chain itself is untouched by every edit here. */
  const problems = () => {
    expect(verifyAuditChain(h.temp.db.$client).ok).toBe(true);
    return verifyTablesAgainstAudit(h.temp.db.$client).mismatches.map((m) => `${m.row}: ${m.problem}`);
  };
  const reviewedGrant = async () => {
    h = await sqliteAccessHarness(aLoadedPolicy({ tiers: { low: { review: 'security' } } }));
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    if (!out.ok || out.value.kind !== 'granted') throw new Error('expected a grant');
    await h.service.revoke(out.value.grant.id, PEOPLE.engineer);
    expect((await h.store.getGrant(out.value.grant.id))?.reviewFrom).toBe('security');
    expect(problems()).toEqual([]);
    return out.value.grant.id;
  };

  it('a block deleted from blocked_users (a silent unblock)', async () => {
    h = await sqliteAccessHarness();
    expect((await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen')).ok).toBe(true);
    expect(problems()).toEqual([]);
    sql('DELETE FROM blocked_users WHERE user = ?', PEOPLE.engineer);
    expect(await h.store.isBlocked(PEOPLE.engineer)).toBe(false);
    expect(problems().join('\n')).toContain(PEOPLE.engineer);
  });

  it('a block added to blocked_users that no admin ran', async () => {
    h = await sqliteAccessHarness();
    sql("INSERT INTO blocked_users (user, blocked_by, reason, blocked_at) VALUES (?, 'U0SEC1', 'x', 0)", PEOPLE.lead1);
    expect(problems().join('\n')).toContain(PEOPLE.lead1);
  });

  it('the auto-approving group cleared from a request, so leaving on-call no longer ends the grant', async () => {
    h = await sqliteAccessHarness();
    const out = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-1 slow queries' });
    if (!out.ok || out.value.kind !== 'granted') throw new Error('expected an automatic grant');
    expect((await h.store.getRequest(out.value.request.id))?.autoGroup).toBe('oncall');
    expect(problems()).toEqual([]);
    sql('UPDATE requests SET auto_group = NULL WHERE id = ?', out.value.request.id);
    expect(problems().join('\n')).toMatch(/auto_group/);
  });

  it("a review's reviewers changed to a group the grantee's friend is in", async () => {
    const id = await reviewedGrant();
    sql("UPDATE grants SET review_from = 'engineering' WHERE id = ?", id);
    expect(problems().join('\n')).toMatch(/review_from/);
  });

  it('a review waiting cleared, so it leaves every list and reminder', async () => {
    const id = await reviewedGrant();
    sql('UPDATE grants SET review_from = NULL WHERE id = ?', id);
    expect(await h.service.reviews.post.countPending()).toBe(0);
    expect(problems().join('\n')).toMatch(/review_from/);
  });

  it("a team lead review's leads changed", async () => {
    const id = await reviewedGrant();
    sql(`UPDATE grants SET review_from = 'team_lead', review_leads = '["${PEOPLE.engineer2}"]' WHERE id = ?`, id);
    expect(problems().join('\n')).toMatch(/review_leads|review_from/);
  });

  it('a flag turned into "looks right"', async () => {
    const id = await reviewedGrant();
    expect((await h.service.reviews.post.give(id, PEOPLE.security, 'flagged', 'prod data copied')).ok).toBe(true);
    expect(problems()).toEqual([]);
    sql("UPDATE grants SET review_verdict = 'looks_right', review_note = NULL WHERE id = ?", id);
    expect(problems().join('\n')).toMatch(/review_verdict|review_note/);
  });
});

describe.skipIf(onPostgres)('adversary: an escalation moved earlier in the table', () => {
  it('names escalate_at set to now, which would let the escalation group decide at once', async () => {
    const h = await sqliteAccessHarness(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'security', count: 1, escalate_after: '30m', escalate_to: 'engineering' }, { from: 'sre-leads', count: 1, escalate_after: '20m', escalate_to: 'engineering' }] } } } as Parameters<typeof aLoadedPolicy>[0]));
    try {
      const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-4 fix' });
      if (!out.ok || out.value.kind !== 'pending') throw new Error('expected a pending request');
      const id = out.value.request.id;
      h.clock.advance(5 * 60_000);
      expect((await h.service.approve(id, PEOPLE.security)).value?.kind).toBe('next_step');
      const mismatches = () => verifyTablesAgainstAudit(h.temp.db.$client).mismatches.map((m) => m.problem);
      expect(mismatches()).toEqual([]);
      await h.sql.run('UPDATE requests SET escalate_at = ? WHERE id = ?', h.clock.now().getTime(), id);
      expect(mismatches().join('\n')).toMatch(/escalate_at/);
    } finally {
      await h.cleanup();
    }
  });
});

describe.skipIf(onPostgres)('adversary: a request\'s record rewritten in the table', () => {
  it('names a reason or tickets rewritten, and a break-glass request moved to another channel (so archiving the incident channel would not end it)', async () => {
    const h = await sqliteAccessHarness();
    try {
      const plain = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking CHG-1' });
      const glass = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-42 primary down', breakglass: true, channelId: 'C0INC42' });
      if (!plain.ok || !glass.ok) throw new Error('expected both granted');
      const mismatches = () => verifyTablesAgainstAudit(h.temp.db.$client).mismatches.map((m) => `${m.row}: ${m.problem}`).join('\n');
      expect(mismatches()).toBe('');
      const sql = (text: string, ...params: unknown[]) => h.temp.db.$client.prepare(text).run(...params);
      sql("UPDATE requests SET reason = 'routine check', tickets = '[]' WHERE id = ?", plain.value.request.id);
      expect(mismatches()).toMatch(/reason is routine check/);
      expect(mismatches()).toMatch(/tickets/);
      sql("UPDATE requests SET channel_id = 'C0GENERAL' WHERE id = ?", glass.value.request.id);
      expect(mismatches()).toMatch(/channel_id is C0GENERAL/);
    } finally {
      await h.cleanup();
    }
  });
});
