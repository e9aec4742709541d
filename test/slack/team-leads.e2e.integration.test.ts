// Team leads and post-access review end to end: signed commands and clicks against the fake Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

const PAY_LEAD = 'U0PAYLEAD';
const WEB_LEAD = 'U0WEBLEAD';
const WEB_DEV = 'U0WEBDEV';

const POLICY = {
  ...NOOP_PROVIDERS,
  teams: {
    payments: { members: [PEOPLE.engineer], leads: [PAY_LEAD] },
    web: { slack_usergroup: 'S0WEB', leads: [WEB_LEAD] },
  },
  tiers: { high: { approvals: [{ from: 'team_lead', count: 1, fallback: 'security' }], review: 'team_lead' } },
} as Parameters<typeof startE2E>[0];

describe('team leads and post-access review, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E(POLICY);
    e.slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PAY_LEAD, WEB_LEAD, WEB_DEV]);
    e.slack.usergroups.set('S0WEB', [WEB_DEV]);
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string) => {
    const sent = await e.signer.command(text, { user });
    expect(sent.status).toBe(200);
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };
  const clickReply = async (user: string, actionId: string, value: string) => {
    const sent = await e.signer.click(user, actionId, value);
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `the reply to ${user}'s ${actionId}`)).text);
  };
  const click = async (user: string, actionId: string, value: string) => expect((await e.signer.click(user, actionId, value)).status).toBe(200);
  const cardOf = (id: string) => e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0DBA' && String(c.text).includes(id)), `the card of ${id}`);
  const refusals = async (actor: string, action: string) =>
    (await e.sql.all('SELECT details FROM audit_log WHERE actor = ? AND action = ?', actor, action)).map((r) => JSON.parse((r as { details: string }).details) as { code: string });
  const pendingFor = async (user: string) => {
    const sent = await e.signer.command('pending', { user });
    return JSON.stringify(await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `${user}'s pending list`));
  };
  const requestIdOf = (text: string) => /`(R\d+)`/.exec(text)?.[1] ?? '';

  /** Grants made below, reviewed in the second half: the engineer's (approved by their lead) and the lead's own. */
  const granted: { engineer: number; lead: number } = { engineer: 0, lead: 0 };

  it('sends a request to the leads of the requester\'s team, mentions them, and lets only them decide', async () => {
    const text = await reply('request prod-db write 1h hotfix INC-5', PEOPLE.engineer);
    expect(text).toContain(`is waiting for the team leads (<@${PAY_LEAD}>)`);
    const id = requestIdOf(text);
    const card = await cardOf(id);
    expect(JSON.stringify(card.blocks)).toContain(`1 approval from the team leads (<@${PAY_LEAD}>)`);

    // Another team's lead, an admin who is no lead, and the requester are all refused, and each refusal is audited.
    expect(await clickReply(WEB_LEAD, 'approve_request', id)).toBe(`Request \`${id}\` is waiting for the requester's team leads (<@${PAY_LEAD}>), and you are not one of them.`);
    expect(await clickReply(PEOPLE.security, 'approve_request', id)).toContain('you are not one of them');
    expect(await clickReply(PEOPLE.engineer, 'approve_request', id)).toContain('You cannot decide on your own request');
    expect((await refusals(WEB_LEAD, 'approval.refused')).map((d) => d.code)).toEqual(['not_team_lead']);
    expect((await e.sesame.store.getRequest(Number(id.slice(1))))?.state).toBe('pending');

    // What waits for whom: the lead sees it in /access pending, the other team's lead does not.
    expect(await pendingFor(PAY_LEAD)).toContain(id);
    expect(await pendingFor(WEB_LEAD)).not.toContain(id);
    await click(PAY_LEAD, 'approve_request', id);
    await e.slack.waitFor(async () => (await e.sesame.store.grantForRequest(Number(id.slice(1))))?.state === 'active' || null, 'the grant');
    expect((await e.sesame.store.getRequest(Number(id.slice(1))))?.decidedBy).toBe(PAY_LEAD);
    granted.engineer = (await e.sesame.store.grantForRequest(Number(id.slice(1))))?.id ?? 0;
  });

  it('finds a team from its Slack user group', async () => {
    const text = await reply('request prod-db write 30m css INC-6', WEB_DEV);
    expect(text).toContain(`is waiting for the team leads (<@${WEB_LEAD}>)`);
    expect(await clickReply(PAY_LEAD, 'approve_request', requestIdOf(text))).toContain('you are not one of them');
  });

  it('sends a lead\'s own request to the fallback group, not to the lead, and never approves it by itself', async () => {
    const text = await reply('request prod-db write 1h rotate keys INC-7', PAY_LEAD);
    expect(text).toContain('is waiting for `security`');
    const id = requestIdOf(text);
    const card = await cardOf(id);
    expect(JSON.stringify(card.blocks)).toContain('1 approval from `security`');
    expect(JSON.stringify(card.blocks)).not.toContain(`<@${PAY_LEAD}>)`);
    expect(await clickReply(PAY_LEAD, 'approve_request', id)).toContain('You cannot decide on your own request');
    expect((await e.sesame.store.getRequest(Number(id.slice(1))))?.state).toBe('pending');
    await click(PEOPLE.security, 'approve_request', id);
    await e.slack.waitFor(async () => (await e.sesame.store.grantForRequest(Number(id.slice(1))))?.state === 'active' || null, 'the grant');
    granted.lead = (await e.sesame.store.grantForRequest(Number(id.slice(1))))?.id ?? 0;
  });

  it('sends someone in no team to the fallback group', async () => {
    expect(await reply('request prod-db write 1h look INC-8', PEOPLE.engineer2)).toContain('is waiting for `security`');
  });

  const reviewCardOf = (grantId: number) =>
    e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0DBA' && String(c.text).startsWith(`Review of G${grantId}:`)), `the review card of G${grantId}`);
  const scrape = async () => e.sesame.metrics.registry.getSingleMetricAsString('sesame_reviews_pending');

  it('asks the grantee\'s team lead to review a grant once it ends, and only they may; a flag alerts the admins', async () => {
    const g = granted.engineer;
    expect(await reply(`revoke G${g}`, PEOPLE.engineer)).toBe(`🔒 \`G${g}\` is revoked.`);
    const card = await reviewCardOf(g);
    const shown = JSON.stringify(card.blocks);
    expect(shown).toContain(`<@${PAY_LEAD}>: did this access look right?`);
    expect(shown).toContain('ended early');
    expect(shown).toContain(`*Approved by*\\n<@${PAY_LEAD}>`);
    expect(shown).toContain('hotfix INC-5');
    expect(shown).toContain('review_looks_right');
    expect(shown).toContain('review_flag');
    expect((await e.auditActions())).toContain('grant.review_requested');
    expect(await scrape()).toContain('sesame_reviews_pending 1');

    // The grantee, another team's lead and an admin who is no lead are refused, each refusal audited; no form opens for them.
    expect(await clickReply(PEOPLE.engineer, 'review_looks_right', `G${g}`)).toBe(`\`G${g}\` was your own access; someone else among its reviewers must review it.`);
    expect(await clickReply(WEB_LEAD, 'review_flag', `G${g}`)).toBe(`Only the grantee's team leads (<@${PAY_LEAD}>) may review grant \`G${g}\`, and never the person who held it.`);
    expect(await clickReply(PEOPLE.security, 'review_looks_right', `G${g}`)).toContain('Only the grantee\'s team leads');
    expect((await refusals(PEOPLE.engineer, 'grant.review_refused')).map((d) => d.code)).toEqual(['review_own_grant']);
    expect((await refusals(WEB_LEAD, 'grant.review_refused')).map((d) => d.code)).toEqual(['not_reviewer']);
    expect(e.slack.callsTo('views.open').some((v) => (v.view as { private_metadata?: string }).private_metadata === `G${g}`)).toBe(false);
    // A forged Flag form (never opened by Slack for them) from another team's lead is refused and audited too.
    const forged = await e.signer.submit(WEB_LEAD, 'flag_review', { note: { note_value: { type: 'plain_text_input', value: 'looks odd' } } }, `G${g}`);
    expect(JSON.stringify(forged.body)).toContain('may review grant');
    expect((await refusals(WEB_LEAD, 'grant.review_refused'))).toHaveLength(2);
    expect((await e.sesame.store.getGrant(g))?.reviewedBy).toBeNull();

    // Waiting for the lead: in /access pending, with both buttons; not for the other lead.
    expect(await pendingFor(PAY_LEAD)).toContain('Ended grants waiting for your review');
    expect(await pendingFor(WEB_LEAD)).not.toContain(`G${g}`);

    await click(PAY_LEAD, 'review_flag', `G${g}`);
    const opened = await e.slack.waitFor(() => e.slack.callsTo('views.open').find((v) => (v.view as { private_metadata?: string }).private_metadata === `G${g}`), 'the Flag form');
    expect((opened.view as { callback_id: string }).callback_id).toBe('flag_review');
    const empty = await e.signer.submit(PAY_LEAD, 'flag_review', { note: { note_value: { type: 'plain_text_input', value: '   ' } } }, `G${g}`);
    expect(JSON.stringify(empty.body)).toContain('Say what looks wrong');
    const submitted = await e.signer.submit(PAY_LEAD, 'flag_review', { note: { note_value: { type: 'plain_text_input', value: 'no incident needed prod write' } } }, `G${g}`);
    expect(submitted.status).toBe(200);
    expect(await e.sesame.store.getGrant(g)).toMatchObject({ reviewedBy: PAY_LEAD, reviewVerdict: 'flagged', reviewNote: 'no incident needed prod write' });

    const alert = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0AUDIT' && String(c.text).includes('flagged')), 'the flag alert');
    expect(String(alert.text)).toContain(`<@${PEOPLE.security}> <@${PAY_LEAD}> flagged`);
    expect(String(alert.text)).toContain('no incident needed prod write');
    const updated = await e.slack.waitFor(() => e.slack.callsTo('chat.update').filter((c) => c.ts === card.ts || JSON.stringify(c.blocks).includes(`Review of G${g}`)).at(-1), 'the updated review card');
    expect(JSON.stringify(updated.blocks)).toContain(`Flagged by <@${PAY_LEAD}>`);
    expect(JSON.stringify(updated.blocks)).not.toContain('review_flag');
    expect((await e.auditActions())).toContain('grant.flagged');
    // A second click after the review changes nothing and says so.
    expect(await clickReply(PAY_LEAD, 'review_looks_right', `G${g}`)).toContain('was already acknowledged');
    expect(await scrape()).toContain('sesame_reviews_pending 0');
  });

  it('sends the review of a lead\'s own grant to the admins, who may say it looks right', async () => {
    const g = granted.lead;
    expect(await reply(`revoke G${g}`, PAY_LEAD)).toBe(`🔒 \`G${g}\` is revoked.`);
    const card = await reviewCardOf(g);
    expect(JSON.stringify(card.blocks)).toContain(`<@${PEOPLE.security}>: did this access look right?`);
    expect(await clickReply(PAY_LEAD, 'review_looks_right', `G${g}`)).toContain('was your own access');
    expect(await clickReply(PEOPLE.security, 'review_looks_right', `G${g}`)).toBe(`✅ Thanks: you reviewed G${g} as looking right.`);
    expect(await e.sesame.store.getGrant(g)).toMatchObject({ reviewedBy: PEOPLE.security, reviewVerdict: 'looks_right' });
    expect((await e.auditActions())).toContain('grant.reviewed');
  });

  it('reopens the flag a lead gave once an admin blocks the lead: the card asks again, and the admins review it', async () => {
    const g = granted.engineer;
    const summary = await reply(`revoke-all <@${PAY_LEAD}> account compromised SEC-61`, PEOPLE.security);
    expect(summary).toContain(`1 review(s) <@${PAY_LEAD}> gave in the last 30 days wait for review again.`);
    // Sent to whoever reviews it now: with the team's only lead blocked, the admins, named on the card.
    expect(await e.sesame.store.getGrant(g)).toMatchObject({ reviewedBy: null, reviewVerdict: null, reviewNote: null, reviewFrom: 'security', reviewLeads: null });
    const updated = await e.slack.waitFor(() => e.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.blocks).includes(`Review of G${g}`)).at(-1), 'the updated review card');
    expect(JSON.stringify(updated.blocks)).toContain('review_looks_right');
    expect(JSON.stringify(updated.blocks)).not.toContain('Flagged by');
    expect(JSON.stringify(updated.blocks)).toContain(`<@${PEOPLE.security}>: did this access look right?`);
    expect(JSON.stringify(updated.blocks)).not.toContain(`<@${PAY_LEAD}>: did this access look right?`);
    await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0AUDIT' && String(c.text).includes(`is open again: <@${PAY_LEAD}>, who gave it, was blocked`)), 'the audit channel told');
    // With the only lead blocked, the review goes to the admins.
    expect(await pendingFor(PEOPLE.security)).toContain(`G${g}`);
    expect(await clickReply(PEOPLE.security, 'review_looks_right', `G${g}`)).toBe(`✅ Thanks: you reviewed G${g} as looking right.`);
  });
});
