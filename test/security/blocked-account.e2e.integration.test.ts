// Adversary findings 3, 5 and 8 over signed Slack traffic: revoke-all cancels scheduled windows and says so; a
// blocked (perhaps stolen) account clears no post-access review and acknowledges no break-glass use; an admin cannot
// block themselves. The lead U0LEAD1 is the admin here, so the security reviewer can be blocked by someone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

const POLICY = {
  ...NOOP_PROVIDERS,
  settings: { admins: 'sre-leads' },
  tiers: { low: { review: 'security' } }, // sandbox:admin is reviewed by security after every grant
} as Parameters<typeof startE2E>[0];

const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('a blocked account and revoke-all, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E(POLICY, { reconcileIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user, channel: text.startsWith('breakglass') ? 'C0INC42' : 'C0GENERAL' });
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const auditRows = async (action: string, grantId: string) => (await e.sql.all('SELECT actor FROM audit_log WHERE action = ? AND grant_id = ?', action, grantId));
  const reviewsAsked = async () => ((await e.sql.all("SELECT grant_id FROM audit_log WHERE action = 'grant.review_requested'")) as { grant_id: string }[]).map((r) => r.grant_id);

  it('revoke-all cancels a scheduled window and counts it, so an unblock later does not bring it back', async () => {
    const text = await reply(`request sandbox 1h at ${isoIn(6_000)} CHG-1 planned`);
    expect(text).toMatch(/Scheduled/);
    const id = Number(/`R(\d+)`/.exec(text)?.[1]);
    expect((await e.sesame.store.getRequest(id))?.state).toBe('scheduled');
    const revoked = await reply(`revoke-all <@${PEOPLE.engineer}> laptop stolen SEC-1`, PEOPLE.lead1);
    expect(revoked).toContain('1 scheduled window(s) were cancelled');
    expect((await e.sesame.store.getRequest(id))?.state).toBe('cancelled');
    expect(await reply(`unblock <@${PEOPLE.engineer}>`, PEOPLE.lead1)).toMatch(/may request access again/);
    await new Promise((r) => setTimeout(r, 9_000));
    await e.sesame.reconcile();
    expect(await e.sesame.store.grantForRequest(id)).toBeUndefined();
  }, 30_000);

  it('an admin cannot block themselves (which could lock out the last admin); refused with a sentence, audited', async () => {
    const answer = await reply(`revoke-all <@${PEOPLE.lead1}> testing SEC-2`, PEOPLE.lead1);
    expect(answer).toMatch(/yourself/);
    expect(await e.sesame.store.isBlocked(PEOPLE.lead1)).toBe(false);
    const refused = await e.sql.all<{ actor: string; details: string }>("SELECT actor, details FROM audit_log WHERE action = 'user.block_refused'");
    expect(refused.filter((r) => (JSON.parse(r.details) as { code?: string }).code === 'self_block').map((r) => r.actor)).toEqual([PEOPLE.lead1]);
  });

  it('a blocked security account cannot clear a post-access review, as it cannot approve', async () => {
    const id = /`G(\d+)`/.exec(await reply('request sandbox 1h CHG-3 try'))?.[1];
    await reply(`revoke G${id}`);
    await e.slack.waitFor(async () => (await reviewsAsked()).includes(`G${id}`) || null, 'the review asked');
    expect(await reply(`revoke-all <@${PEOPLE.security}> account compromised SEC-7`, PEOPLE.lead1)).toContain('is blocked');
    expect((await e.signer.click(PEOPLE.security, 'review_looks_right', `G${id}`)).status).toBe(200);
    await e.slack.waitFor(async () => (await auditRows('grant.review_refused', `G${id}`))[0] ?? null, 'the refused review');
    expect(await auditRows('grant.reviewed', `G${id}`)).toEqual([]);
  });

  it('a blocked security account cannot acknowledge a break-glass use either', async () => {
    expect(await e.sesame.store.isBlocked(PEOPLE.security)).toBe(true);
    const id = /`G(\d+)`/.exec(await reply('breakglass prod-db write 10m INC-42 primary down', PEOPLE.oncall))?.[1];
    expect(id).toBeDefined();
    expect((await e.signer.click(PEOPLE.security, 'acknowledge_breakglass', `G${id}`)).status).toBe(200);
    await e.slack.waitFor(async () => (await auditRows('breakglass.review_refused', `G${id}`))[0] ?? null, 'the refused acknowledgement');
    expect(await auditRows('breakglass.reviewed', `G${id}`)).toEqual([]);
  });
});
