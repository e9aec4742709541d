// Escalation end to end: signed Slack traffic into the real Bolt app, a real BullMQ escalate job (5 s), the fake Slack out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

const MANAGER = 'U0MGR1';

describe('escalation, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    // prod-db write waits for security; after 5 s (time enough to click before it) the managers (a Slack user group the requester is also in) are called in.
    e = await startE2E({
      ...NOOP_PROVIDERS,
      groups: { managers: { slack_usergroup: 'S0MGR' } },
      tiers: { high: { approvals: [{ from: 'security', count: 1, escalate_after: '5s', escalate_to: 'managers' }] as never } },
    });
    e.slack.usergroups.set('S0MGR', [MANAGER, PEOPLE.engineer]);
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user });
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const clickReply = async (user: string, actionId: string, value: string) => {
    const sent = await e.signer.click(user, actionId, value);
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'an ephemeral reply')).text);
  };
  const dmsTo = (user: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => String(c.text));

  it('pings the group in the thread, DMs its members, marks the card and App Home, and lets them decide only from then on', async () => {
    const id = /`(R\d+)`/.exec(await reply('request prod-db write 1h hotfix INC-5'))?.[1] ?? '';
    const requestId = Number(id.slice(1));
    const cardTs = await e.slack.waitFor(async () => (await e.sesame.store.getRequest(requestId))?.cardTs, 'the card');
    const card = e.slack.callsTo('chat.postMessage').find((c) => JSON.stringify(c.blocks ?? '').includes(`decide_${id}`));
    expect(JSON.stringify(card?.blocks)).toContain('Escalates to `managers` at');

    // Before the escalation a manager's click is refused and changes nothing.
    expect(await clickReply(MANAGER, 'approve_request', id)).toBe(`Request \`${id}\` is waiting for someone in \`security\`, and you are not in that group; \`managers\` may decide only once it escalates to them.`);
    expect(await e.sesame.store.approvalsFor(requestId)).toEqual([]);

    const ping = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.thread_ts === cardTs && String(c.text).includes('escalated')), 'the escalation in the thread', 20_000);
    expect(String(ping.text)).toBe(`⏫ \`${id}\` from <@${PEOPLE.engineer}> has waited 5s for \`security\`, so it is escalated to <!subteam^S0MGR>: anyone in \`security\` or \`managers\` may now approve or deny it on the card above.`);
    await e.slack.waitFor(() => dmsTo(MANAGER).find((t) => t.includes(`Request \`${id}\``) && t.includes('was escalated to you (`managers`)')), 'the DM to the manager');
    expect(dmsTo(PEOPLE.engineer).filter((t) => t.includes('escalated to you'))).toEqual([]); // never the requester
    const updated = await e.slack.waitFor(() => e.slack.callsTo('chat.update').filter((c) => c.ts === cardTs && JSON.stringify(c.blocks).includes('Escalated to')).at(-1), 'the escalated card');
    expect(JSON.stringify(updated.blocks)).toContain('⏫ Escalated to `managers`: a member of either group may decide.');
    expect((await e.auditActions()).filter((a) => a === 'request.escalated')).toHaveLength(1);

    await e.signer.event({ type: 'app_home_opened', user: MANAGER, channel: 'D0HOME', tab: 'home' });
    const home = await e.slack.waitFor(() => e.slack.callsTo('views.publish').find((p) => p.user_id === MANAGER), 'the manager’s App Home');
    expect(JSON.stringify(home.view)).toContain(`\`${id}\` <@${PEOPLE.engineer}> wants \`prod-db\` \`write\` for 1h ⏫ escalated to \`managers\``);

    // The requester is a manager too, and still cannot approve their own request.
    expect(await clickReply(PEOPLE.engineer, 'approve_request', id)).toContain('You cannot decide on your own request');
    const sent = await e.signer.click(MANAGER, 'approve_request', id);
    expect(sent.status).toBe(200);
    await e.slack.waitFor(async () => (await e.sesame.store.grantForRequest(requestId))?.state === 'active', 'the grant');
    expect(await e.sesame.store.getRequest(requestId)).toMatchObject({ state: 'approved', decidedBy: MANAGER });
  });

  it('does not escalate a request cancelled before its time', async () => {
    const id = /`(R\d+)`/.exec(await reply('request prod-db write 1h changed my mind'))?.[1] ?? '';
    const requestId = Number(id.slice(1));
    const cardTs = await e.slack.waitFor(async () => (await e.sesame.store.getRequest(requestId))?.cardTs, 'the card');
    expect(await reply(`cancel ${id}`)).toBe(`🚫 Request \`${id}\` is cancelled.`);
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await e.sesame.reconcile()).escalated).toBe(0);
    expect(e.slack.callsTo('chat.postMessage').filter((c) => c.thread_ts === cardTs)).toEqual([]);
    expect((await e.sesame.store.getRequest(requestId))?.escalatedStep).toBeNull();
  });
});
