// The limits the policy promises, tried as an attacker would over signed Slack traffic: real Bolt, Redis and SQLite.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';
import { OwnRedis } from '../support/own-redis.ts';

/** The e2e policy, plus one sre-lead who is also in security: someone in two steps' groups. */
const POLICY = { ...NOOP_PROVIDERS, groups: { security: { users: [PEOPLE.security, PEOPLE.lead1] } } } as typeof NOOP_PROVIDERS;
const ENGINEERING = [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall];

function helpers(get: () => E2E) {
  const reply = async (text: string, user: string, channel?: string) => {
    const e = get();
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const clickReply = async (user: string, action: string, value: string) => {
    const e = get();
    const sent = await e.signer.click(user, action, value);
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `the answer to ${user}'s click`)).text);
  };
  const click = async (user: string, action: string, value: string) => expect((await get().signer.click(user, action, value)).status).toBe(200);
  const auditCount = async (action: string, requestId?: string) =>
    ((await get().sql.get('SELECT count(*) AS n FROM audit_log WHERE action = ? AND (CAST(? AS TEXT) IS NULL OR request_id = ?)', action, requestId ?? null, requestId ?? null)) as { n: number }).n;
  return { reply, clickReply, click, auditCount };
}

describe('limits the policy promises, over signed Slack traffic', () => {
  let e: E2E;
  const { reply, clickReply, click, auditCount } = helpers(() => e);
  beforeAll(async () => {
    e = await startE2E(POLICY);
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });
  const idIn = (text: string, prefix: 'R' | 'G') => new RegExp(`\`(${prefix}\\d+)\``).exec(text)?.[1] ?? '';
  const dmsTo = (user: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => JSON.stringify(c));

  it('keeps extensions within the tier maximum from start to new end, saying the maximum and the time left', async () => {
    const grant = idIn(await reply('request sandbox 2h trying INC-1', PEOPLE.engineer), 'G');
    expect(grant).toMatch(/^G\d+$/);
    const refused = await reply(`extend ${grant} 7h`, PEOPLE.engineer);
    expect(refused).toMatch(new RegExp(`^Extending \`${grant}\` by 7h would make it last 9h from start to end, more than the 8h maximum for low-tier access; it can be extended by at most 6h more \\(it ends in (1h59m|2h)\\)\\. If you need more after that, request access again\\.$`));
    expect(await reply(`extend ${grant} 6h`, PEOPLE.engineer)).toContain(`⏩ \`${grant}\` now lasts until`);
    expect(await reply(`extend ${grant} 1m`, PEOPLE.engineer)).toContain('it cannot be extended any further');
    const row = await e.sesame.store.getGrant(Number(grant.slice(1)));
    expect((row?.expiresAt ?? 0) - (row?.startsAt ?? 0)).toBe(8 * 3_600_000);
  });

  it("refuses break-glass to someone on call who is not in the resource's eligible groups", async () => {
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall, PEOPLE.outsider]);
    try {
      expect(await reply('breakglass prod-db write 1h INC-9 db down', PEOPLE.outsider, 'C0INC42')).toBe('Only members of `engineering` may request `prod-db`; ask one of them, or ask to be added to the group.');
      expect(await e.sesame.store.grantsOf(PEOPLE.outsider, ['active'])).toEqual([]);
    } finally {
      e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    }
  });

  it('refuses a Slack guest as requester and someone from another workspace as approver, with a sentence, audited', async () => {
    e.slack.users.set(PEOPLE.engineer2, { is_restricted: true });
    e.slack.users.set(PEOPLE.security, { team_id: 'T0OTHER' });
    try {
      const before = (await auditCount('request.refused'));
      expect(await reply('request sandbox 1h INC-2 guest tries', PEOPLE.engineer2)).toContain('Slack guests cannot request or approve access here');
      expect((await auditCount('request.refused'))).toBe(before + 1);

      const request = idIn(await reply('request prod-db write 1h INC-3 migration', PEOPLE.engineer), 'R');
      expect(await clickReply(PEOPLE.security, 'approve_request', request)).toContain('People from another Slack workspace cannot request or approve access here');
      expect((await auditCount('approval.refused', request))).toBe(1);
      expect(await e.sesame.store.getRequest(Number(request.slice(1)))).toMatchObject({ state: 'pending', currentStep: 0 });
    } finally {
      e.slack.users.delete(PEOPLE.engineer2);
      e.slack.users.delete(PEOPLE.security);
    }
  });

  it('counts one person once per request: a member of both steps cannot approve both', async () => {
    const request = idIn(await reply('request prod-db write 1h INC-4 schema change', PEOPLE.engineer), 'R');
    await click(PEOPLE.lead1, 'approve_request', request);
    await e.slack.waitFor(async () => (await e.sesame.store.getRequest(Number(request.slice(1))))?.currentStep === 1, 'step 2');
    expect(await clickReply(PEOPLE.lead1, 'approve_request', request)).toBe(`You already approved request \`${request}\` at step 1; each step needs different people, so someone else must approve this one.`);
    await click(PEOPLE.lead2, 'approve_request', request);
    await e.slack.waitFor(async () => (await e.sesame.store.approvalsFor(Number(request.slice(1)))).length === 2, 'the second approval');
    expect(await e.sesame.store.getRequest(Number(request.slice(1)))).toMatchObject({ state: 'pending', currentStep: 1 });
  });

  it('judges a click under the policy in force now: a requester no longer eligible is cancelled, not granted', async () => {
    const request = idIn(await reply('request prod-db write 1h INC-5 cleanup', PEOPLE.engineer2), 'R');
    e.slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.oncall]);
    try {
      const answer = await clickReply(PEOPLE.security, 'approve_request', request);
      expect(answer).toBe(`Request \`${request}\` was cancelled, not granted, because the policy in force now does not allow it: only members of \`engineering\` may request \`prod-db\`; ask one of them, or ask to be added to the group. The requester was told.`);
    } finally {
      e.slack.usergroups.set('S0ENG', ENGINEERING);
    }
    expect(await e.sesame.store.getRequest(Number(request.slice(1)))).toMatchObject({ state: 'cancelled', decidedBy: 'sesame' });
    expect(await e.sesame.store.grantsOf(PEOPLE.engineer2, ['active'])).toEqual([]);
    expect((await auditCount('request.cancelled', request))).toBe(1);
    await e.slack.waitFor(() => dmsTo(PEOPLE.engineer2).find((t) => t.includes(`${request}\`` ) && t.includes('was cancelled, not granted')), 'the DM to the requester');
    await e.slack.waitFor(() => e.slack.callsTo('chat.update').find((u) => JSON.stringify(u).includes('Cancelled by Sesame')), 'the card saying so');
  });

  it('acts once on a signed command delivered twice (a replay inside the window)', async () => {
    const sent = await e.signer.command('request sandbox 1h INC-6 replayed', { user: PEOPLE.engineer2 });
    const original = e.signer.lastSent;
    if (!original) throw new Error('nothing was sent');
    await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'the first reply');
    const replay = await e.signer.deliver(original);
    expect(replay.status).toBe(200);
    // Spellings the signature check accepts too: a timestamp read as a Number, and a signature split at '='.
    const timestamp = original.headers['x-slack-request-timestamp'] ?? '';
    const signature = original.headers['x-slack-signature'] ?? '';
    expect((await e.signer.deliver({ ...original, headers: { ...original.headers, 'x-slack-request-timestamp': `${timestamp}.0` } })).status).toBe(200);
    expect((await e.signer.deliver({ ...original, headers: { ...original.headers, 'x-slack-signature': `${signature}=again` } })).status).toBe(200);
    const requests = () => e.sql.get("SELECT count(*) AS n FROM requests WHERE reason = 'INC-6 replayed'");
    // Nothing more may happen: give a wrongly accepted replay ample time to show itself.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(e.slack.responsesTo(sent.responseId)).toHaveLength(1);
    expect(await requests()).toEqual({ n: 1 });
  });

  it("acks Slack's retry of an event already handled without handling it again", async () => {
    const publishesFor = (user: string) => e.slack.callsTo('views.publish').filter((v) => v.user_id === user).length;
    const homeOf = (user: string) => ({ type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home' });
    expect((await e.signer.event(homeOf(PEOPLE.lead2), 'Ev0RETRIED')).status).toBe(200);
    await e.slack.waitFor(() => publishesFor(PEOPLE.lead2) === 1, 'the Home tab');
    const retry = await e.signer.event(homeOf(PEOPLE.lead2), 'Ev0RETRIED', { timestamp: Math.floor(Date.now() / 1000) + 1, headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect(retry.status).toBe(200);
    // A later event is handled: once it shows, a wrongly handled retry would have had ample time to show too.
    expect((await e.signer.event(homeOf(PEOPLE.lead1), 'Ev0LATER')).status).toBe(200);
    await e.slack.waitFor(() => publishesFor(PEOPLE.lead1) === 1, 'the Home tab for the later event');
    await new Promise((r) => setTimeout(r, 500));
    expect(publishesFor(PEOPLE.lead2)).toBe(1);
  });

  it('still refuses a request signed with the wrong secret', async () => {
    const forged = await e.signer.command('request sandbox 1h forged', { user: PEOPLE.engineer }, { secret: 'not-the-secret-at-all' });
    expect(forged.status).toBe(401);
  });
});

describe('replay protection across a restart and while Redis is down', () => {
  const redis = new OwnRedis();
  const redisPrefix = `sesame-e2e-${randomUUID()}`;
  let e: E2E;
  const { reply } = helpers(() => e);
  beforeAll(async () => {
    await redis.start();
    e = await startE2E(NOOP_PROVIDERS, { redisUrl: redis.url, redisPrefix });
  });
  afterAll(async () => {
    // BullMQ closes cleanly only once it is connected to its Redis again.
    await redis.start();
    for (let i = 0; i < 150 && (await e.sesame.reconcile()).schedulerDown; i++) await new Promise((r) => setTimeout(r, 100));
    await e.stop();
    await redis.stop();
  });

  it('remembers a handled request across a restart, so a replay to the new process acts not', async () => {
    await reply('request sandbox 1h INC-11 before restart', PEOPLE.engineer);
    const original = e.signer.lastSent;
    if (!original) throw new Error('nothing was sent');
    await e.stop();
    e = await startE2E(NOOP_PROVIDERS, { redisUrl: redis.url, redisPrefix });
    expect((await e.signer.deliver(original)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await e.sql.get('SELECT count(*) AS n FROM requests'))).toEqual({ n: 0 });
  });

  it('lets break-glass through with Redis down (SPEC §6), and still acts once on a replay within the process', async () => {
    await redis.stop();
    expect(await reply('breakglass prod-db write 1h INC-10 db down', PEOPLE.oncall, 'C0INC42')).toMatch(/^✅ Granted: `prod-db` `write`/);
    const original = e.signer.lastSent;
    if (!original) throw new Error('nothing was sent');
    expect((await e.signer.deliver(original)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await e.sesame.store.grantsOf(PEOPLE.oncall, ['active'])).toHaveLength(1);
  });
});
