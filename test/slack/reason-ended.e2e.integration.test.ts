// Grants end when their reason ends, through signed Slack traffic: an archived incident channel, a person leaving the
// on-call group that auto-approved them, and an admin's /access revoke-all (with unblock, and the abuse cases).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

/** Medium-tier grants are automatic for on-call members alone, so the test does not depend on the time of day. */
const POLICY = {
  ...NOOP_PROVIDERS,
  tiers: { medium: { auto_approve: { business_hours: undefined, ticket: undefined, max_duration: undefined, groups: ['oncall'] } } },
} as Parameters<typeof startE2E>[0];

describe('grants end when their reason ends, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    // The sweep runs when the test says so (and once at start).
    e = await startE2E(POLICY, { reconcileIntervalMs: 3_600_000 });
    e.slack.channels.set('C0INC77', { name: 'inc-77-payments' });
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string, channel = 'C0GENERAL') => {
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };
  const grantIdOf = (text: string) => {
    const id = Number(/`G(\d+)`/.exec(text)?.[1]);
    expect(id).toBeGreaterThan(0);
    return id;
  };
  const grant = async (id: number) => await e.sesame.store.getGrant(id);
  const auditOf = async (action: string, grantId?: number) =>
    ((await e.sql.all('SELECT actor, grant_id, details FROM audit_log WHERE action = ? ORDER BY id', action)) as { actor: string; grant_id: string | null; details: string }[])
      .filter((r) => grantId === undefined || r.grant_id === `G${grantId}`)
      .map((r) => ({ actor: r.actor, details: JSON.parse(r.details) as Record<string, unknown> }));
  /** Grants a fresh sweep ended for a gone reason; the first await may join a sweep already under way, started before the change under test. */
  const sweep = async () => (await e.sesame.reconcile()).reasonsEnded + (await e.sesame.reconcile()).reasonsEnded;

  describe('break-glass and the incident channel', () => {
    it('ends the break-glass grants made in a channel when Slack says it was archived, with the reason on record', async () => {
      const here = grantIdOf(await reply('breakglass prod-db write 1h INC-42 primary is down', PEOPLE.oncall, 'C0INC42'));
      const elsewhere = grantIdOf(await reply('breakglass staging-db write 1h INC-77 payments stuck', PEOPLE.oncall, 'C0INC77'));
      expect((await grant(here))?.state).toBe('active');

      const sent = await e.signer.event({ type: 'channel_archive', channel: 'C0INC42', user: PEOPLE.engineer, event_ts: `${Date.now() / 1000}` });
      expect(sent.status).toBe(200);
      await e.slack.waitFor(async () => (await grant(here))?.state === 'revoked', 'the break-glass grant of the archived channel to end');
      expect(await grant(here)).toMatchObject({ endedBy: 'sesame' });
      expect((await auditOf('grant.revoked', here))).toEqual([{ actor: 'sesame', details: expect.objectContaining({ reason: 'the incident channel C0INC42 was archived' }) }]);
      // Another incident's grant is untouched.
      expect((await grant(elsewhere))?.state).toBe('active');
    });

    it('ends them for a private incident channel too (group_archive)', async () => {
      e.slack.channels.set('C0INC91', { name: 'inc-91-private' });
      const here = grantIdOf(await reply('breakglass staging-db write 1h INC-91 private incident', PEOPLE.oncall, 'C0INC91'));
      const sent = await e.signer.event({ type: 'group_archive', channel: 'C0INC91', user: PEOPLE.engineer, event_ts: `${Date.now() / 1000}` });
      expect(sent.status).toBe(200);
      await e.slack.waitFor(async () => (await grant(here))?.state === 'revoked', 'the break-glass grant of the archived private channel to end');
      expect((await auditOf('grant.revoked', here))).toEqual([{ actor: 'sesame', details: expect.objectContaining({ reason: 'the incident channel C0INC91 was archived' }) }]);
    });

    it('an archive event for a channel with no break-glass grant, or a forged one, ends nothing', async () => {
      const live = (await e.sesame.store.grantsOf(PEOPLE.oncall, ['active'])).map((g) => g.id);
      expect((await e.signer.event({ type: 'channel_archive', channel: 'C0GENERAL', user: PEOPLE.engineer })).status).toBe(200);
      const forged = await e.signer.event({ type: 'channel_archive', channel: 'C0INC77', user: PEOPLE.engineer }, undefined, { secret: 'not-the-signing-secret' });
      expect(forged.status).toBe(401);
      await sweep(); // anything the events might have started has settled by then
      expect((await e.sesame.store.grantsOf(PEOPLE.oncall, ['active'])).map((g) => g.id)).toEqual(live);
    });

    it('the reconcile sweep ends them when the archive event was missed', async () => {
      const [missed] = (await e.sesame.store.grantsOf(PEOPLE.oncall, ['active'])).filter((g) => g.breakglass);
      expect(missed).toBeDefined();
      const id = missed?.id as number;
      e.slack.channels.set('C0INC77', { name: 'inc-77-payments', is_archived: true });
      expect(await sweep()).toBe(1);
      expect((await grant(id))?.state).toBe('revoked');
      expect((await auditOf('grant.revoked', id))[0]?.details.reason).toBe('the incident channel C0INC77 was archived');
    });
  });

  describe('auto-approval by on-call membership', () => {
    it('ends a grant auto-approved because of on-call when the person leaves the on-call user group', async () => {
      const text = await reply('request prod-db read 1h INC-5 slow queries', PEOPLE.oncall);
      expect(text).toMatch(/^✅ Granted/);
      const id = grantIdOf(text);
      const request = await e.sesame.store.getRequest((await grant(id))?.requestId as number);
      expect(request?.autoGroup).toBe('oncall');
      expect((await auditOf('request.auto_approved')).at(-1)?.details.group).toBe('oncall');

      // Still on call: the sweep leaves it alone.
      await sweep();
      expect((await grant(id))?.state).toBe('active');

      e.slack.usergroups.set('S0ONCALL', []);
      expect(await sweep()).toBe(1);
      expect((await grant(id))?.state).toBe('revoked');
      expect((await auditOf('grant.revoked', id))).toEqual([{ actor: 'sesame', details: expect.objectContaining({ reason: 'left group oncall' }) }]);
      e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    });

    it('keeps grants approved by people, and auto-approved ones while Slack cannot say who is on call', async () => {
      const approvedByPolicyAlone = grantIdOf(await reply('request staging-db read 1h looking at data', PEOPLE.oncall));
      expect((await e.sesame.store.getRequest((await grant(approvedByPolicyAlone))?.requestId as number))?.autoGroup).toBeNull();
      const viaOncall = grantIdOf(await reply('request deployers member 1h INC-6 deploy fix', PEOPLE.oncall));
      e.slack.usergroups.delete('S0ONCALL'); // usergroups.users.list now fails: membership unknown
      await sweep();
      expect((await grant(viaOncall))?.state).toBe('active');
      expect((await grant(approvedByPolicyAlone))?.state).toBe('active');
      e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    });
  });

  describe('/access revoke-all and /access unblock', () => {
    it('refuses anyone but an admin, audited, and changes nothing', async () => {
      const before = (await e.sesame.store.grantsOf(PEOPLE.oncall, ['active'])).length;
      expect(before).toBeGreaterThan(0);
      expect(await reply(`revoke-all <@${PEOPLE.oncall}|oncall> they annoy me`, PEOPLE.lead1)).toBe('Only admins may use `/access revoke-all`; ask one of them.');
      expect(await reply(`revoke-all <@${PEOPLE.oncall}> I am leaving anyway`, PEOPLE.oncall)).toBe('Only admins may use `/access revoke-all`; ask one of them.');
      expect(await e.sesame.store.grantsOf(PEOPLE.oncall, ['active'])).toHaveLength(before);
      expect(await e.sesame.store.isBlocked(PEOPLE.oncall)).toBe(false);
      expect((await auditOf('user.block_refused')).map((r) => [r.actor, r.details.code])).toEqual([
        [PEOPLE.lead1, 'not_admin'],
        [PEOPLE.oncall, 'not_admin'],
      ]);
    });

    it('needs a person and a reason', async () => {
      expect(await reply(`revoke-all <@${PEOPLE.oncall}>`, PEOPLE.security)).toBe('That needs more: `/access revoke-all &lt;@person&gt; &lt;reason…&gt;`.');
      expect(await reply('revoke-all oncall laptop stolen', PEOPLE.security)).toMatch(/^`oncall` does not name a person/);
    });

    it('ends every live grant, cancels pending requests, blocks new ones, and tells the audit channel', async () => {
      const pending = await reply('request prod-db write 1h INC-8 migration', PEOPLE.oncall);
      expect(pending).toMatch(/R\d+/);
      const live = (await e.sesame.store.grantsOf(PEOPLE.oncall, ['active', 'revoke_failed'])).map((g) => g.id);
      expect(live.length).toBeGreaterThanOrEqual(2);

      const text = await reply(`revoke-all <@${PEOPLE.oncall}|oncall> laptop stolen SEC-9`, PEOPLE.security);
      expect(text).toContain(`<@${PEOPLE.oncall}> lost ${live.length} grant(s)`);
      expect(text).toContain('all their access is confirmed gone. 1 pending request(s) were cancelled.');
      for (const id of live) {
        expect(await grant(id)).toMatchObject({ state: 'revoked', endedBy: PEOPLE.security });
        expect((await auditOf('grant.revoked', id))[0]?.details.reason).toBe('revoke-all: laptop stolen SEC-9');
      }
      expect(await e.sesame.store.requestsBy(PEOPLE.oncall, ['pending'])).toEqual([]);
      expect((await auditOf('user.blocked'))).toEqual([{ actor: PEOPLE.security, details: { user: PEOPLE.oncall, reason: 'laptop stolen SEC-9' } }]);
      const told = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0AUDIT' && String(c.text).includes('ran revoke-all')), 'the audit channel told');
      expect(String(told.text)).toContain('confirmed gone');
    });

    it('refuses the blocked person\'s requests and break-glass with a sentence, audited as refusals', async () => {
      const blocked = 'An admin has blocked your access requests (after revoking your access); ask an admin, who can lift it with `/access unblock`.';
      expect(await reply('request sandbox admin 1h trying again', PEOPLE.oncall)).toBe(blocked);
      expect(await reply('breakglass prod-db write 1h INC-43 it is an emergency', PEOPLE.oncall, 'C0INC42')).toBe(blocked);
      const refusals = ((await e.sql.all("SELECT actor, details FROM audit_log WHERE action = 'request.refused'")) as { actor: string; details: string }[]).map((r) => [r.actor, (JSON.parse(r.details) as { code: string }).code]);
      expect(refusals.filter(([, c]) => c === 'user_blocked')).toEqual([
        [PEOPLE.oncall, 'user_blocked'],
        [PEOPLE.oncall, 'user_blocked'],
      ]);
      expect(await e.sesame.store.grantsOf(PEOPLE.oncall, ['pending', 'active'])).toEqual([]);
    });

    it('a blocked account cannot approve anyone, even when its group could', async () => {
      const asked = await reply('request prod-db read 1h needs a look', PEOPLE.engineer);
      const requestId = Number(/R(\d+)/.exec(asked)?.[1]);
      expect((await e.sesame.store.getRequest(requestId))?.state).toBe('pending');
      await reply(`revoke-all <@${PEOPLE.lead1}> account compromised`, PEOPLE.security);
      const click = await e.signer.click(PEOPLE.lead1, 'approve_request', `R${requestId}`);
      expect(click.status).toBe(200);
      await e.slack.waitFor(async () => (await auditOf('approval.refused')).find((r) => r.actor === PEOPLE.lead1), 'the refused click on record');
      expect((await e.sesame.store.getRequest(requestId))?.state).toBe('pending');
      expect(await reply(`unblock <@${PEOPLE.lead1}>`, PEOPLE.security)).toBe(`🔓 <@${PEOPLE.lead1}> may request access again.`);
    });

    it('unblock is for admins only, and lets the person request again', async () => {
      expect(await reply(`unblock <@${PEOPLE.oncall}>`, PEOPLE.oncall)).toBe('Only admins may use `/access unblock`; ask one of them.');
      expect(await e.sesame.store.isBlocked(PEOPLE.oncall)).toBe(true);
      expect(await reply(`unblock ${PEOPLE.oncall}`, PEOPLE.security)).toBe(`🔓 <@${PEOPLE.oncall}> may request access again.`);
      expect(await reply(`unblock ${PEOPLE.oncall}`, PEOPLE.security)).toBe(`\`${PEOPLE.oncall}\` is not blocked, so there is nothing to unblock.`);
      expect((await auditOf('user.unblocked')).map((r) => [r.actor, r.details.user])).toEqual([
        [PEOPLE.security, PEOPLE.lead1],
        [PEOPLE.security, PEOPLE.oncall],
      ]);
      expect(await reply('request sandbox admin 1h back at work', PEOPLE.oncall)).toMatch(/^✅ Granted/);
    });
  });
});
