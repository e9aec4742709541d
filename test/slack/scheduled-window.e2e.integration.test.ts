// Scheduled windows end to end: signed /access, clicks and the form in; the fake Slack out; real Redis jobs activate them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveStart } from '../../src/slack/start-time.ts';
import { PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

/** An ISO start `ms` from now, to the second (the form people type, with `Z`). */
const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const idOf = (text: string) => /`(R\d+)`/.exec(text)?.[1] ?? '';
const numberOf = (ref: string) => Number(ref.slice(1));

describe('scheduled windows, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E();
    e.slack.users.set(PEOPLE.engineer, { tz: 'America/New_York' });
  });
  afterAll(async () => {
    await e.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer, channel?: string) => {
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const click = async (user: string, actionId: string, value: string, where: 'message' | 'home' = 'message') => {
    const sent = await e.signer.click(user, actionId, value, where);
    expect(sent.status).toBe(200);
    return sent.responseId;
  };
  const ephemeralAfter = (responseId: string) => e.slack.waitFor(() => e.slack.responsesTo(responseId)[0], 'an ephemeral reply').then((b) => String(b.text));
  const dmsTo = (user: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => String(c.text));
  const grantOf = async (ref: string) => await e.sesame.store.grantForRequest(numberOf(ref));

  it('schedules an auto-approved window, tells the window, and its job grants it at the start for start + duration', async () => {
    const start = isoIn(3_000);
    const text = await reply(`request sandbox 1h at ${start} CHG-881 planned migration`);
    expect(text).toMatch(/^🗓️ Scheduled: `sandbox` `admin` for 1h, <!date\^\d+\^.*> – <!date\^\d+\^.*>\. Request `R\d+` is approved/);
    const id = idOf(text);
    expect(await e.sesame.store.getRequest(numberOf(id))).toMatchObject({ state: 'scheduled', startsAt: Date.parse(start), reason: 'CHG-881 planned migration' });
    expect(await grantOf(id)).toBeUndefined();
    await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(`request \`${id}\``) && t.includes('the access starts then')), 'the scheduled DM');

    const grant = await e.slack.waitFor(async () => { const g = await grantOf(id); return g?.state === 'active' ? g : null; }, 'the grant at the start', 20_000);
    expect(grant.expiresAt).toBe(Date.parse(start) + 3_600_000);
    expect(grant.startsAt ?? 0).toBeGreaterThanOrEqual(Date.parse(start));
    await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes('🔓 You have') && t.includes(`G${grant.id}`)), 'the grant DM');
    // Started: cancelling is refused (that is a revoke now).
    expect(await reply(`cancel ${id}`)).toBe(`Request \`${id}\` is already approved, so nothing was changed.`);
  });

  it("reads `at HH:MM` in the requester's Slack time zone and says which, and lists the window until it is cancelled", async () => {
    const text = await reply('request sandbox 1h at 23:59 CHG-5 late check');
    expect(text).toContain('(I read your start time in `America/New_York`)');
    const id = idOf(text);
    expect((await e.sesame.store.getRequest(numberOf(id)))?.startsAt).toBe(resolveStart({ kind: 'clock', day: 'next', hour: 23, minute: 59 }, new Date(), 'America/New_York'));
    const list = await e.signer.command('list', { user: PEOPLE.engineer });
    const listing = JSON.stringify(await e.slack.waitFor(() => e.slack.responsesTo(list.responseId)[0], 'the list'));
    expect(listing).toContain(id);
    expect(listing).toContain('scheduled for');
    expect(await reply(`cancel ${id}`, PEOPLE.engineer2)).toBe(`Request \`${id}\` is not yours; only the person who asked can cancel it.`);
    expect(await reply(`cancel ${id}`)).toBe(`🚫 Request \`${id}\` is cancelled.`);
    expect((await e.sesame.store.getRequest(numberOf(id)))?.state).toBe('cancelled');
  });

  it('refuses break-glass with a start, a start beyond max_schedule_ahead, and one it cannot read', async () => {
    expect(await reply(`breakglass prod-db write 1h at ${isoIn(60_000)} INC-9 down`, PEOPLE.oncall, 'C0INC42')).toBe('Break-glass is for now and cannot be scheduled; leave out `at …`, or use `/access request` for planned work.');
    expect(await reply(`request sandbox 1h at ${isoIn(8 * 86_400_000)} CHG-6`)).toContain('is more than 7d ahead, the furthest this policy schedules');
    expect(await reply(`request sandbox 1h at ${isoIn(-60_000)} CHG-6`)).toContain('has already passed');
    expect(await reply('request sandbox 1h at 24:30 CHG-6')).toContain('`24:30` is not a start time I can read');
    expect((await e.sql.get('SELECT count(*) AS n FROM grants WHERE breakglass'))).toEqual({ n: 0 });
  });

  it('shows the window on the approval card, refuses the requester, and schedules on the last approval', async () => {
    const start = isoIn(6_000);
    const text = await reply(`request prod-db write 1h at ${start} CHG-881 migration`);
    expect(text).toContain('is waiting for `security`');
    const id = idOf(text);
    const card = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0DBA' && JSON.stringify(c.blocks ?? '').includes(`Access request ${id}`)), 'the card');
    expect(JSON.stringify(card.blocks)).toContain('*Window* <!date^');
    expect(await ephemeralAfter(await click(PEOPLE.engineer, 'approve_request', id))).toContain('You cannot decide on your own request');
    await click(PEOPLE.security, 'approve_request', id);
    await e.slack.waitFor(async () => (await e.sesame.store.getRequest(numberOf(id)))?.currentStep === 1, 'step 2');
    await click(PEOPLE.lead1, 'approve_request', id);
    await click(PEOPLE.lead2, 'approve_request', id);
    await e.slack.waitFor(async () => (await e.sesame.store.getRequest(numberOf(id)))?.state === 'scheduled', 'the scheduled request');
    const cardTs = (await e.sesame.store.getRequest(numberOf(id)))?.cardTs;
    await e.slack.waitFor(() => e.slack.callsTo('chat.update').find((c) => c.ts === cardTs && JSON.stringify(c.blocks).includes('scheduled for')), 'the card showing the window');
    const grant = await e.slack.waitFor(async () => { const g = await grantOf(id); return g?.state === 'active' ? g : null; }, 'the grant at the start', 20_000);
    expect(grant.expiresAt).toBe(Date.parse(start) + 3_600_000);
  });

  it('cancels a scheduled window from App Home, and it never activates', async () => {
    const start = isoIn(4_000);
    const id = idOf(await reply(`request sandbox 30m at ${start} CHG-7`));
    await e.signer.event({ type: 'app_home_opened', user: PEOPLE.engineer, tab: 'home' });
    const home = await e.slack.waitFor(() => e.slack.callsTo('views.publish').filter((c) => c.user_id === PEOPLE.engineer && JSON.stringify(c.view).includes(id)).at(-1), 'App Home with the window');
    expect(JSON.stringify(home.view)).toContain('scheduled for');
    await click(PEOPLE.engineer, 'cancel_request', id, 'home');
    await e.slack.waitFor(async () => (await e.sesame.store.getRequest(numberOf(id)))?.state === 'cancelled', 'the cancelled request');
    // Past the start, plus time for a job that (wrongly) survived the cancel.
    await new Promise((resolve) => setTimeout(resolve, Date.parse(start) - Date.now() + 2_000));
    expect(await e.sesame.access.windows.activate(numberOf(id))).toBe('not_scheduled');
    expect(await grantOf(id)).toBeUndefined();
  });

  it('takes the start from the request form, in the same forms, and refuses one it cannot read on that field', async () => {
    const values = (start: string) => ({
      resource: { resource_value: { type: 'static_select', selected_option: { value: 'sandbox' } } },
      duration: { duration_value: { type: 'plain_text_input', value: '1h' } },
      start: { start_value: { type: 'plain_text_input', value: start } },
      reason: { reason_value: { type: 'plain_text_input', value: 'CHG-8 from the form' } },
    });
    const bad = await e.signer.submit(PEOPLE.engineer, 'request_form', values('tomorrow noon'));
    expect(JSON.parse(bad.body)).toMatchObject({ response_action: 'errors', errors: { start: expect.stringContaining('`tomorrow noon` is not a start time I can read') } });
    const past = await e.signer.submit(PEOPLE.engineer, 'request_form', values(isoIn(-60_000)));
    expect(JSON.parse(past.body)).toMatchObject({ response_action: 'errors', errors: { start: expect.stringContaining('has already passed') } });
    const ok = await e.signer.submit(PEOPLE.engineer, 'request_form', values('tomorrow 09:00'));
    expect(ok.status).toBe(200);
    const scheduled = await e.slack.waitFor(async () => (await e.sesame.store.requestsBy(PEOPLE.engineer, ['scheduled'])).find((r) => r.reason === 'CHG-8 from the form'), 'the scheduled request');
    expect(scheduled.startsAt).toBe(resolveStart({ kind: 'clock', day: 'tomorrow', hour: 9, minute: 0 }, new Date(), 'America/New_York'));
    await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes('I read your start time in `America/New_York`')), 'the reply naming the time zone');
    expect(await reply(`cancel R${scheduled.id}`)).toBe(`🚫 Request \`R${scheduled.id}\` is cancelled.`);
  });
});
