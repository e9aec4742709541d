// /access and the approval card end to end: signed HTTP into the real Bolt app, fake Slack Web API out, real Redis and SQLite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, SIGNING_SECRET, startE2E, type E2E } from '../support/e2e.ts';

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { action_id?: string; text?: unknown }[] };
const textOf = (message: Record<string, unknown> | undefined): string => JSON.stringify(message ?? {});

describe('Slack surface, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E();
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer, channel?: string) => {
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    expect(body.response_type).toBe('ephemeral');
    return String(body.text);
  };
  const click = async (user: string, actionId: string, value: string) => {
    const sent = await e.signer.click(user, actionId, value);
    expect(sent.status).toBe(200);
    return sent.responseId;
  };
  const ephemeralAfter = (responseId: string) => e.slack.waitFor(() => e.slack.responsesTo(responseId)[0], 'an ephemeral reply').then((b) => String(b.text));
  const cardPostsIn = (channel: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === channel && JSON.stringify(c.blocks ?? '').includes('approve_request'));
  const lastUpdateOf = (ts: string) => e.slack.callsTo('chat.update').filter((c) => c.ts === ts).at(-1);
  const dmsTo = (user: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => String(c.text));

  describe('commands', () => {
    it('answers help with the subcommands and the resources this user may request', async () => {
      const sent = await e.signer.command('', { user: PEOPLE.outsider });
      const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'help');
      const text = textOf(body);
      expect(text).toContain('/access request <resource> [role] [duration] [reason…]');
      expect(text).toContain('`sandbox`');
      expect(text).not.toContain('`prod-db`'); // outsiders are not in engineering
    });

    it('grants an auto-approved request and DMs the holder', async () => {
      const text = await reply('request sandbox 1h trying INC-1');
      expect(text).toMatch(/^✅ Granted: `sandbox` `admin` for 1h until <!date\^\d+\^.*\(`G\d+`\)\.$/);
      await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes('You have')), 'the grant DM');
    });

    it('explains every mistake in a sentence that says what to type', async () => {
      expect(await reply('request prod-bd read 1h x')).toBe('There is no resource `prod-bd`. Did you mean `prod-db`?');
      expect(await reply('request sandbox 9h x')).toContain('9h is longer than the 8h maximum');
      expect(await reply('request prod-db write 1h x', PEOPLE.outsider)).toBe('Only members of `engineering` may request `prod-db`; ask one of them, or ask to be added to the group.');
      expect(await reply('request staging-db 1h x')).toBe('`staging-db` has several roles; name one: `read` or `write`.');
      expect(await reply('frobnicate')).toContain('is not something I know');
      expect(await reply('cancel G4')).toContain('is not a request id');
      expect(await reply(`request sandbox 1h ${'x'.repeat(5_000)}`)).toContain('keep it under 1,000');
    });

    it('lists my pending requests and grants, and cancels one', async () => {
      const pending = await reply('request prod-db write 1h migration INC-7');
      const id = /`(R\d+)`/.exec(pending)?.[1] ?? '';
      expect(pending).toContain('is waiting for `security`');
      const list = await reply('list');
      expect(list).toContain('pending request');
      const listing = textOf(e.slack.responses.at(-1)?.body);
      expect(listing).toContain(id);
      expect(await reply(`cancel ${id}`)).toBe(`🚫 Request \`${id}\` is cancelled.`);
      expect(await reply(`cancel ${id}`)).toBe(`Request \`${id}\` is already cancelled, so nothing was changed.`);
    });

    it('explains what the policy would decide, without changing anything', async () => {
      const before = (await e.auditActions()).length;
      expect(await reply('explain prod-db write 1h')).toContain('*Needs approval:* `prod-db` `write` for 1h (tier `high`), from 1) 1 of `security`, then 2) 2 of `sre-leads`.');
      expect((await e.auditActions()).length).toBe(before);
    });

    it('routes break-glass to the core, refusing outside incident channels', async () => {
      expect(await reply('breakglass prod-db write 1h INC-9 down', PEOPLE.oncall, 'C0GENERAL')).toContain('Break-glass works only in incident channels');
      expect(await reply('breakglass prod-db write 1h INC-9 down', PEOPLE.oncall, 'C0INC42')).toMatch(/^✅ Granted: `prod-db` `write`/);
    });
  });

  describe('approval in channel', () => {
    it('walks a two-step approval, refusing the requester, an outsider and a double click, updating the card in place', async () => {
      const text = await reply('request prod-db write 1h schema change INC-8');
      const id = /`(R\d+)`/.exec(text)?.[1] ?? '';
      const card = await e.slack.waitFor(() => cardPostsIn('C0DBA').find((c) => String(c.text).includes(id)), 'the approval card in the resource channel');
      const cardTs = String((await e.slack.waitFor(async () => (await e.sesame.store.getRequest(Number(id.slice(1))))?.cardTs, 'the stored card ts')) ?? '');
      const blocks = card.blocks as Block[];
      expect(JSON.stringify(blocks)).toContain('Waiting for step 1 of 2: 1 approval from `security`');
      expect(blocks.find((b) => b.type === 'actions')?.elements?.map((el) => el.action_id)).toEqual(['approve_request', 'deny_request']);

      expect(await ephemeralAfter(await click(PEOPLE.engineer, 'approve_request', id))).toContain('You cannot decide on your own request');
      expect(await ephemeralAfter(await click(PEOPLE.outsider, 'approve_request', id))).toContain('waiting for someone in `security`, and you are not in that group');
      await click(PEOPLE.security, 'approve_request', id);
      await e.slack.waitFor(() => JSON.stringify(lastUpdateOf(cardTs)?.blocks ?? '').includes('step 2 of 2'), 'the card at step 2');
      // The requester hears of every approval that leaves the request pending, with what is still missing.
      await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(`approved your request \`${id}\``) && t.includes('it now waits for `sre-leads` (step 2 of 2)')), 'the step DM');
      await click(PEOPLE.lead1, 'approve_request', id);
      await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(`approved your request \`${id}\``) && t.includes('1 of 2 from `sre-leads` (step 2 of 2); waiting for 1 more')), 'the partial approval DM');
      expect(await ephemeralAfter(await click(PEOPLE.lead1, 'approve_request', id))).toContain('You have already approved');
      await click(PEOPLE.lead2, 'approve_request', id);
      const final = await e.slack.waitFor(() => {
        const update = lastUpdateOf(cardTs);
        return JSON.stringify(update?.blocks ?? '').includes('granted as') ? update : null;
      }, 'the card showing the grant');
      expect((final.blocks as Block[]).some((b) => b.type === 'actions')).toBe(false);
      await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(`approved your request \`${id}\``)), 'the approval DM');
      const refused = (await e.sql.get("SELECT count(*) AS n FROM audit_log WHERE action = 'approval.refused' AND request_id = ?", id));
      expect(refused).toEqual({ n: 3 });
    });

    it('denies with a reason through the modal, and the card loses its buttons', async () => {
      const id = /`(R\d+)`/.exec(await reply('request prod-db write 1h risky thing'))?.[1] ?? '';
      await click(PEOPLE.security, 'deny_request', id);
      const opened = await e.slack.waitFor(() => e.slack.callsTo('views.open').find((v) => (v.view as { private_metadata?: string }).private_metadata === id), 'the deny modal');
      expect((opened.view as { callback_id: string }).callback_id).toBe('deny_reason');
      const submitted = await e.signer.submit(PEOPLE.security, 'deny_reason', { note: { note_value: { type: 'plain_text_input', value: 'use the read replica' } } }, id);
      expect(submitted.status).toBe(200);
      expect(await e.sesame.store.getRequest(Number(id.slice(1)))).toMatchObject({ state: 'denied', decisionNote: 'use the read replica', decidedBy: PEOPLE.security });
      await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(`denied your request \`${id}\``) && t.includes('use the read replica')), 'the denial DM with its reason');
    });

    it("reminds the approvers once, in the card's thread, while the request is still pending", async () => {
      const id = /`(R\d+)`/.exec(await reply('request prod-db write 1h needs a nudge'))?.[1] ?? '';
      const requestId = Number(id.slice(1));
      const cardTs = await e.slack.waitFor(async () => (await e.sesame.store.getRequest(requestId))?.cardTs, 'the card');
      expect(await e.sesame.access.remind(requestId)).toBe(true);
      const nudge = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.thread_ts === cardTs), 'the reminder in the thread');
      expect(String(nudge.text)).toContain(`Reminder: \`${id}\``);
      expect(String(nudge.text)).toContain('still waiting for `security`');
      await reply(`cancel ${id}`);
      expect(await e.sesame.access.remind(requestId)).toBe(false);
    });

    it('refuses a Deny by someone outside the step before asking for a reason', async () => {
      const id = /`(R\d+)`/.exec(await reply('request prod-db write 1h another'))?.[1] ?? '';
      const opensBefore = e.slack.callsTo('views.open').length;
      expect(await ephemeralAfter(await click(PEOPLE.outsider, 'deny_request', id))).toContain('you are not in that group');
      expect(e.slack.callsTo('views.open').length).toBe(opensBefore);
      await reply(`cancel ${id}`);
    });

    it('produces exactly one grant when two approvers click at the same instant', async () => {
      const text = await reply('request deployers member 1h release without ticket');
      const id = /`(R\d+)`/.exec(text)?.[1] ?? '';
      expect(text).toContain('waiting for `sre-leads`');
      await Promise.all([click(PEOPLE.lead1, 'approve_request', id), click(PEOPLE.lead2, 'approve_request', id)]);
      const requestId = Number(id.slice(1));
      await e.slack.waitFor(async () => (await e.sesame.store.getRequest(requestId))?.state !== 'pending' && await e.sesame.store.grantForRequest(requestId), 'the grant');
      const grants = (await e.sql.get('SELECT count(*) AS n FROM grants WHERE request_id = ?', requestId));
      expect(grants).toEqual({ n: 1 });
      expect(await e.sesame.store.approvalsFor(requestId)).toHaveLength(1);
    });
  });

  describe('bad input', () => {
    it('shows reasons escaped and as plain text, so markup pings nobody', async () => {
      const id = /`(R\d+)`/.exec(await reply('request prod-db write 1h <!channel> <@U0SEC1> *bold* 🚀 ünïcödé'))?.[1] ?? '';
      const card = await e.slack.waitFor(() => cardPostsIn('C0DBA').find((c) => String(c.text).includes(id)), 'the card');
      const reasonBlock = (card.blocks as { type: string; text?: { type: string; text: string } }[]).find((b) => b.text?.text.includes('*bold*'));
      expect(reasonBlock?.text).toEqual({ type: 'plain_text', text: 'Reason: <!channel> <@U0SEC1> *bold* 🚀 ünïcödé', emoji: false });
      expect(JSON.stringify(card.blocks)).not.toMatch(/"type":"mrkdwn","text":"[^"]*<!channel>/);
      await reply(`cancel ${id}`);
    });

    it('answers an unknown button and a card of a request that does not exist, changing nothing but auditing the refused click', async () => {
      const before = (await e.auditActions()).length;
      expect(await ephemeralAfter(await click(PEOPLE.security, 'self_destruct', 'R1'))).toContain('nothing was changed');
      expect(await ephemeralAfter(await click(PEOPLE.security, 'approve_request', 'R99999'))).toBe('There is no request `R99999`; `/access list` shows yours.');
      expect((await e.auditActions()).slice(before)).toEqual(['approval.refused']);
    });

    it('returns inline errors for a request form with missing or wrong fields', async () => {
      const missing = await e.signer.submit(PEOPLE.engineer, 'request_form', {});
      expect(JSON.parse(missing.body)).toEqual({ response_action: 'errors', errors: { resource: 'Choose the resource you need.' } });
      const badDuration = await e.signer.submit(PEOPLE.engineer, 'request_form', {
        resource: { resource_value: { type: 'static_select', selected_option: { value: 'sandbox' } } },
        duration: { duration_value: { type: 'plain_text_input', value: '5x' } },
        reason: { reason_value: { type: 'plain_text_input', value: 'testing' } },
      });
      expect(JSON.parse(badDuration.body)).toMatchObject({ response_action: 'errors', errors: { duration: expect.stringContaining('"5x" is not a duration') } });
      const tooLong = await e.signer.submit(PEOPLE.engineer, 'request_form', {
        resource: { resource_value: { type: 'static_select', selected_option: { value: 'staging-db' } } },
        duration: { duration_value: { type: 'plain_text_input', value: '2h' } },
        reason: { reason_value: { type: 'plain_text_input', value: 'testing' } },
      });
      expect(JSON.parse(tooLong.body)).toMatchObject({ response_action: 'errors', errors: { role: '`staging-db` has several roles; name one: `read` or `write`.' } });
    });

    it('opens the request modal with only the resources the user may request', async () => {
      await e.signer.command('request', { user: PEOPLE.outsider });
      const opened = await e.slack.waitFor(() => e.slack.callsTo('views.open').find((v) => (v.view as { callback_id?: string }).callback_id === 'request_form'), 'the request modal');
      const text = JSON.stringify(opened.view);
      expect(text).toContain('"value":"sandbox"');
      expect(text).not.toContain('"value":"prod-db"');
    });

    it('grants through the request modal with one DM, not two', async () => {
      const before = dmsTo(PEOPLE.engineer2).length;
      const res = await e.signer.submit(PEOPLE.engineer2, 'request_form', {
        resource: { resource_value: { type: 'static_select', selected_option: { value: 'sandbox' } } },
        duration: { duration_value: { type: 'plain_text_input', value: '90min' } },
        reason: { reason_value: { type: 'plain_text_input', value: 'from the form' } },
      });
      expect(res.status).toBe(200);
      const granted = await e.slack.waitFor(() => dmsTo(PEOPLE.engineer2).slice(before).find((t) => t.includes('You have `sandbox` `admin`')), 'the grant DM');
      const grant = /\((G\d+)\)/.exec(granted)?.[1] ?? '';
      expect(grant).toMatch(/^G\d+$/);
      // The form's own outcome DM (the second one this replaced) used to go out before the grant's.
      expect(dmsTo(PEOPLE.engineer2).slice(before)).toEqual([granted]);
      // The form reads "90min" as /access does.
      const row = (await e.sql.get('SELECT r.duration_ms AS ms FROM grants g JOIN requests r ON r.id = g.request_id WHERE g.id = ?', Number(grant.slice(1)))) as { ms: number };
      expect(row.ms).toBe(90 * 60_000);
    });

    it('lists only the chosen resource\'s roles once a resource is picked in the form', async () => {
      const form = { id: 'V0FORM', hash: '1700000000.abc', callbackId: 'request_form' };
      const updatesBefore = e.slack.callsTo('views.update').length;
      expect((await e.signer.select(PEOPLE.engineer, form, 'resource', 'resource_value', 'staging-db')).status).toBe(200);
      const several = await e.slack.waitFor(() => e.slack.callsTo('views.update').slice(updatesBefore)[0], 'the form with staging-db roles');
      expect(several).toMatchObject({ view_id: 'V0FORM', hash: '1700000000.abc' });
      const roleBlock = (call: Record<string, unknown>) => (call.view as { blocks: { block_id?: string }[] }).blocks.find((b) => b.block_id === 'role');
      const optionsOf = (call: Record<string, unknown>) => ((roleBlock(call) as { element?: { options?: { value: string }[] } }).element?.options ?? []).map((o) => o.value);
      expect(optionsOf(several)).toEqual(['read', 'write']);
      expect(JSON.stringify(several.view)).toContain('"initial_option"');

      await e.signer.select(PEOPLE.engineer, form, 'resource', 'resource_value', 'sandbox');
      const single = await e.slack.waitFor(() => e.slack.callsTo('views.update').slice(updatesBefore)[1], 'the form with the sandbox role');
      expect(roleBlock(single)).toMatchObject({ type: 'context' });
      expect(JSON.stringify(roleBlock(single))).toContain('Role: *admin* (the only one)');
      // The select is handled, not mistaken for a stale button (that answer would be a DM, as there is no response_url).
      expect(dmsTo(PEOPLE.engineer).filter((t) => t.includes('no longer knows'))).toEqual([]);
    });
  });

  describe('App Home', () => {
    it('publishes my grants, my pending requests and what waits for me, with their buttons', async () => {
      await reply('request prod-db write 1h home test', PEOPLE.engineer2);
      const sent = await e.signer.event({ type: 'app_home_opened', user: PEOPLE.security, channel: 'D0HOME', tab: 'home' });
      expect(sent.status).toBe(200);
      const published = await e.slack.waitFor(() => e.slack.callsTo('views.publish').find((p) => p.user_id === PEOPLE.security), 'views.publish');
      const view = JSON.stringify(published.view);
      expect(view).toContain('Waiting for your approval');
      expect(view).toContain('approve_request');
    });

    it('revokes from App Home and republishes it', async () => {
      const text = await reply('request sandbox 1h home revoke', PEOPLE.engineer2);
      const grant = /`(G\d+)`/.exec(text)?.[1] ?? '';
      const publishes = e.slack.callsTo('views.publish').length;
      await e.signer.click(PEOPLE.engineer2, 'revoke_grant', grant, 'home');
      await e.slack.waitFor(async () => (await e.sesame.store.getGrant(Number(grant.slice(1))))?.state === 'revoked', 'the revoke');
      await e.slack.waitFor(() => e.slack.callsTo('views.publish').length > publishes, 'a republished home');
    });
  });

  describe('Slack API trouble', () => {
    it('waits out a 429 with Retry-After and carries on', async () => {
      e.slack.failNext('usergroups.users.list', { status: 429, retryAfter: 1 });
      const text = await reply('request prod-db write 1h after a rate limit', PEOPLE.engineer2);
      expect(text).toContain('is waiting for `security`');
      await reply(`cancel ${/`(R\d+)`/.exec(text)?.[1] ?? ''}`, PEOPLE.engineer2);
    });

    it('says "try again" when Slack keeps failing a look-up, creates nothing, and counts the errors', async () => {
      const before = (await e.auditActions()).length;
      // Three failures: the first try and the Web API client's two retries.
      e.slack.failNext('usergroups.users.list', { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
      const text = await reply('request prod-db write 1h during an outage', PEOPLE.lead1);
      expect(text).toBe('Slack did not answer when Sesame looked up your groups or this channel, so nothing was changed. Try again in a minute.');
      expect((await e.auditActions()).length).toBe(before);
      expect(await e.sesame.metrics.registry.getSingleMetricAsString('sesame_slack_api_errors_total')).toMatch(/sesame_slack_api_errors_total\{method="usergroups.users.list"\} [1-9]/);
    });
  });

  describe('request signing', () => {
    it('refuses a bad signature, a stale timestamp and one more than five minutes in the future', async () => {
      const now = Math.floor(Date.now() / 1000);
      expect((await e.signer.command('help', { user: PEOPLE.engineer }, { secret: 'wrong-secret' })).status).toBe(401);
      expect((await e.signer.command('help', { user: PEOPLE.engineer }, { timestamp: now - 6 * 60 })).status).toBe(401);
      expect((await e.signer.command('help', { user: PEOPLE.engineer }, { timestamp: now + 6 * 60 })).status).toBe(401);
      expect((await e.signer.command('help', { user: PEOPLE.engineer }, { timestamp: now + 60 })).status).toBe(200);
      expect(SIGNING_SECRET).not.toBe('wrong-secret');
    });
  });
});
