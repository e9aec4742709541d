// A review given by an account an admin blocks since, end to end: signed clicks and /access revoke-all, the card and the audit channel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

describe('revoke-all on a reviewer reopens their reviews, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E({ ...NOOP_PROVIDERS, breakglass: { review_by: 'sre-leads' } } as Parameters<typeof startE2E>[0]);
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const replyTo = async (sent: { status: number; responseId: string }, what: string) => {
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], what)).text);
  };
  const cardUpdates = (grantId: number) => e.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.blocks).includes(`Break-glass G${grantId}`));

  it('puts the stolen reviewer\'s acknowledgement back in the queue: the reply counts it, the card asks again, the audit channel says why', async () => {
    const used = await replyTo(await e.signer.command('breakglass prod-db read 30m INC-51 primary down', { user: PEOPLE.oncall, channel: 'C0INC42' }), 'the break-glass reply');
    const grantId = Number(/`G(\d+)`/.exec(used)?.[1]);
    expect(grantId).toBeGreaterThan(0);
    expect(await replyTo(await e.signer.click(PEOPLE.lead1, 'acknowledge_breakglass', `G${grantId}`), 'the thanks')).toBe(`✅ Thanks: you acknowledged break-glass G${grantId}.`);
    await e.slack.waitFor(() => cardUpdates(grantId).find((c) => JSON.stringify(c.blocks).includes(`Acknowledged by <@${PEOPLE.lead1}>`)), 'the acknowledged card');

    const summary = await replyTo(await e.signer.command(`revoke-all <@${PEOPLE.lead1}> account compromised SEC-51`, { user: PEOPLE.security }), 'the revoke-all reply');
    expect(summary).toContain(`1 review(s) <@${PEOPLE.lead1}> gave in the last 30 days wait for review again.`);
    expect((await e.sesame.store.getGrant(grantId))?.reviewedBy).toBeNull();
    const reopened = await e.slack.waitFor(() => cardUpdates(grantId).slice(-1).find((c) => JSON.stringify(c.blocks).includes('acknowledge_breakglass')), 'the card asking again');
    expect(JSON.stringify(reopened.blocks)).not.toContain('Acknowledged by');
    await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0AUDIT' && String(c.text).includes(`waits for review again: <@${PEOPLE.lead1}>, who acknowledged it, was blocked`)), 'the audit channel told');
    expect(await e.auditActions()).toContain('grant.review_reopened');

    // The blocked account cannot acknowledge it again; an honest reviewer can.
    expect(await replyTo(await e.signer.click(PEOPLE.lead1, 'acknowledge_breakglass', `G${grantId}`), 'the refusal')).not.toContain('Thanks');
    expect(await replyTo(await e.signer.click(PEOPLE.lead2, 'acknowledge_breakglass', `G${grantId}`), 'the thanks')).toBe(`✅ Thanks: you acknowledged break-glass G${grantId}.`);
    expect((await e.sesame.store.getGrant(grantId))?.reviewedBy).toBe(PEOPLE.lead2);
  });
});
