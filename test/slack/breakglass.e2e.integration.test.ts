// Break-glass end to end: signed /access breakglass from incident channels, announcements, review cards and Acknowledge clicks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

const ONCALL2 = 'U0ONC2';

describe('break-glass, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E(NOOP_PROVIDERS);
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall, ONCALL2]);
    // Break-glass honours prod-db's eligible list too, so the second on-call person is an engineer as well.
    e.slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall, ONCALL2]);
    e.slack.channels.set('C0INC77', { name: 'inc-77-payments' });
    e.slack.channels.set('D0DIRECT', { name: 'direct', is_im: true });
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string, channel: string) => {
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    expect(body.response_type).toBe('ephemeral');
    return String(body.text);
  };
  const postsIn = (channel: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === channel);
  const grantIdOf = (text: string) => Number(/`G(\d+)`/.exec(text)?.[1]);
  const reviewCardOf = (grantId: number) =>
    e.slack.waitFor(() => postsIn('C0SECALERTS').find((c) => JSON.stringify(c.blocks).includes(`"value":"G${grantId}"`)), `the review card of G${grantId}`);

  it('grants at once from an incident channel, caps the duration and says so, and announces it', async () => {
    const text = await reply('breakglass prod-db write 3h INC-42 primary is down', PEOPLE.oncall, 'C0INC42');
    expect(text).toMatch(/^✅ Granted: `prod-db` `write` for 1h until .* 🚨 Break-glass: announced here, and security will review it\. You asked for 3h; break-glass is capped at 1h/);
    const grantId = grantIdOf(text);
    const grant = await e.sesame.store.getGrant(grantId);
    expect(grant).toMatchObject({ breakglass: true, state: 'active' });
    expect((grant?.expiresAt ?? 0) - (grant?.startsAt ?? 0)).toBe(3_600_000);

    const announcement = await e.slack.waitFor(() => postsIn('C0INC42').find((c) => String(c.text).includes('broke glass')), 'the announcement');
    expect(announcement).not.toHaveProperty('user'); // a visible message, not an ephemeral one
    expect(JSON.stringify(announcement.blocks)).toContain('INC-42 primary is down');
    const card = await reviewCardOf(grantId);
    expect(JSON.stringify(card.blocks)).toContain('acknowledge_breakglass');
    expect(JSON.stringify(card.blocks)).toContain('<@U0SEC1>'); // the review group, pinged
    expect((await e.auditActions())).toContain('breakglass.used');
  });

  it('refuses outside incident channels, naming the channels that work', async () => {
    expect(await reply('breakglass prod-db write 1h INC-9 down', PEOPLE.oncall, 'C0GENERAL')).toBe(
      'Break-glass works only in incident channels (`inc-*`), not in #general; run it from the incident\'s channel.',
    );
  });

  it('refuses someone not on call, naming the group, even in the right channel', async () => {
    expect(await reply('breakglass prod-db write 1h INC-9 down', PEOPLE.engineer, 'C0INC42')).toBe(
      'Break-glass is for members of `oncall`; ask someone on call, or use an ordinary request.',
    );
  });

  it('needs a reason, and spaces are not one', async () => {
    expect(await reply('breakglass prod-db write 1h', PEOPLE.oncall, 'C0INC42')).toBe('Break-glass needs a reason: say what the incident is, e.g. INC-42 database down.');
    expect(await reply('breakglass prod-db write 1h      ', PEOPLE.oncall, 'C0INC42')).toBe('Break-glass needs a reason: say what the incident is, e.g. INC-42 database down.');
  });

  it('refuses from a DM and from a private channel it cannot see, saying why', async () => {
    const cannotTell = /and I cannot tell this one's name: not from a DM, and in a private channel invite @Sesame first\.$/;
    expect(await reply('breakglass prod-db write 1h INC-9 down', PEOPLE.oncall, 'D0DIRECT')).toMatch(cannotTell);
    expect(await reply('breakglass prod-db write 1h INC-9 down', PEOPLE.oncall, 'G0SECRET')).toMatch(cannotTell);
  });

  it('follows a channel renamed after the fact', async () => {
    expect(await reply('breakglass prod-db read 30m INC-77 payments', ONCALL2, 'C0INC77')).toMatch(/^✅ Granted/);
    e.slack.channels.set('C0INC77', { name: 'payments-retro' });
    expect(await reply('breakglass prod-db read 30m INC-77 payments', ONCALL2, 'C0INC77')).toContain('not in #payments-retro');
  });

  it('lets a reviewer acknowledge, and refuses the user themself and an outsider', async () => {
    const grantId = grantIdOf(await reply('breakglass prod-db read 30m INC-43 cache stampede', PEOPLE.oncall, 'C0INC42'));
    const card = await reviewCardOf(grantId);

    const bySelf = await e.signer.click(PEOPLE.oncall, 'acknowledge_breakglass', `G${grantId}`);
    expect(String((await e.slack.waitFor(() => e.slack.responsesTo(bySelf.responseId)[0], 'a refusal')).text)).toBe(
      `\`G${grantId}\` is your own break-glass use; someone else in the review group must acknowledge it.`,
    );
    const byOutsider = await e.signer.click(PEOPLE.outsider, 'acknowledge_breakglass', `G${grantId}`);
    expect(String((await e.slack.waitFor(() => e.slack.responsesTo(byOutsider.responseId)[0], 'a refusal')).text)).toBe(
      `Only members of \`security\` may acknowledge break-glass uses like \`G${grantId}\`.`,
    );
    expect((await e.sesame.store.getGrant(grantId))?.reviewedBy).toBeNull();

    // Waiting for security: in /access pending, with its button.
    const pending = await e.signer.command('pending', { user: PEOPLE.security });
    const listed = JSON.stringify(await e.slack.waitFor(() => e.slack.responsesTo(pending.responseId)[0], 'the pending list'));
    expect(listed).toContain('Break-glass uses waiting for your review');
    expect(listed).toContain(`"value":"G${grantId}"`);

    const byReviewer = await e.signer.click(PEOPLE.security, 'acknowledge_breakglass', `G${grantId}`);
    expect(String((await e.slack.waitFor(() => e.slack.responsesTo(byReviewer.responseId)[0], 'the thanks')).text)).toBe(`✅ Thanks: you acknowledged break-glass G${grantId}.`);
    expect((await e.sesame.store.getGrant(grantId))?.reviewedBy).toBe(PEOPLE.security);
    const updated = await e.slack.waitFor(() => e.slack.callsTo('chat.update').filter((c) => c.channel === card.channel && JSON.stringify(c.blocks).includes(`Break-glass G${grantId}`)).at(-1), 'the updated card');
    expect(JSON.stringify(updated.blocks)).toContain('Acknowledged by <@U0SEC1>');
    expect(JSON.stringify(updated.blocks)).not.toContain('acknowledge_breakglass');
    expect((await e.auditActions())).toContain('breakglass.reviewed');
  });

  it('shows unreviewed uses in the reviewers\' App Home only', async () => {
    await e.signer.event({ type: 'app_home_opened', user: PEOPLE.security, tab: 'home' });
    const home = await e.slack.waitFor(() => e.slack.callsTo('views.publish').filter((c) => c.user_id === PEOPLE.security).at(-1), 'the home view');
    expect(JSON.stringify(home.view)).toContain('Break-glass uses to review');
    await e.signer.event({ type: 'app_home_opened', user: PEOPLE.engineer, tab: 'home' });
    const other = await e.slack.waitFor(() => e.slack.callsTo('views.publish').filter((c) => c.user_id === PEOPLE.engineer).at(-1), 'the home view');
    expect(JSON.stringify(other.view)).not.toContain('Break-glass uses to review');
  });

  it('audits each of 50 attempts in a minute, refuses past max_per_hour, and alerts the notify channel once', async () => {
    const spammer = 'U0ONC3';
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall, ONCALL2, spammer]);
    const alertsBefore = postsIn('C0SECALERTS').filter((c) => String(c.text).includes('tried to break glass')).length;
    const replies: string[] = [];
    for (let i = 0; i < 50; i++) replies.push(await reply(`breakglass sandbox admin 10m INC-50 attempt ${i}`, spammer, 'C0INC42'));
    expect(replies.filter((r) => r.startsWith('✅ Granted'))).toHaveLength(3);
    expect(replies.filter((r) => r.startsWith('You have already broken glass 3 times in the last hour'))).toHaveLength(47);
    const audited = (await e.sql.all("SELECT action, count(*) AS n FROM audit_log WHERE actor = ? AND action IN ('breakglass.used', 'request.refused') GROUP BY action ORDER BY action", spammer));
    expect(audited).toEqual([{ action: 'breakglass.used', n: 3 }, { action: 'request.refused', n: 47 }]);
    const alerts = await e.slack.waitFor(() => {
      const found = postsIn('C0SECALERTS').filter((c) => String(c.text).includes('tried to break glass'));
      return found.length > alertsBefore ? found : null;
    }, 'the rate-limit alert');
    expect(alerts.length - alertsBefore).toBe(1);
    expect(String(alerts.at(-1)?.text)).toContain(`<@${spammer}> tried to break glass on \`sandbox\` more than 3 times within an hour`);
  }, 60_000);
});

describe('on-call auto-approval, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    // The example's medium tier, reduced to its on-call condition so the test does not depend on the time of day.
    e = await startE2E({ ...NOOP_PROVIDERS, tiers: { medium: { auto_approve: { business_hours: undefined, ticket: undefined, max_duration: undefined, groups: ['oncall'] } } } } as typeof NOOP_PROVIDERS);
  });
  afterAll(() => e.stop());

  const reply = async (text: string, user: string) => {
    const sent = await e.signer.command(text, { user });
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };

  it('auto-approves whoever is in the on-call Slack user group now, and stops when they leave it', async () => {
    expect(await reply('request deployers member 1h hotfix release', PEOPLE.oncall)).toMatch(/^✅ Granted: `deployers` `member`/);
    expect(await reply('request deployers member 1h hotfix release', PEOPLE.engineer)).toMatch(/^⏳ Request `R\d+` for `deployers` `member` \(1h\) is waiting for `sre-leads`/);
    e.slack.usergroups.set('S0ONCALL', []); // the rotation moved on
    expect(await reply('request deployers member 1h another release', PEOPLE.oncall)).toMatch(/^⏳ Request/);
  });
});
