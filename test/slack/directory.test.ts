// The Slack directory: cached look-ups, Slack's "no such thing" as null, and outages as an error rather than a guess.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';
import { createSlackDirectory } from '../../src/slack/directory.ts';
import { countingCalls, SlackUnavailableError } from '../../src/slack/slack-api.ts';
import { silentLogger } from '../support/fakes.ts';
import { FakeSlack } from '../support/fake-slack.ts';

describe('createSlackDirectory', () => {
  const slack = new FakeSlack();
  let now = 0;
  const metrics = createMetrics();
  const directory = () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    return createSlackDirectory(client, countingCalls(metrics, silentLogger), () => now, 60_000);
  };
  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ONCALL', ['U1']);
    slack.channels.set('C0INC', { name: 'inc-1' });
    slack.channels.set('D0DM', { name: 'dm', is_im: true });
    slack.emails.set('U1', 'u1@example.com');
  });
  afterAll(() => slack.stop());

  it('caches user group members for its lifetime, then asks again', async () => {
    const dir = directory();
    const before = slack.callsTo('usergroups.users.list').length;
    expect(await dir.usergroupMembers('S0ONCALL')).toEqual(['U1']);
    slack.usergroups.set('S0ONCALL', ['U2']);
    now += 59_000;
    expect(await dir.usergroupMembers('S0ONCALL')).toEqual(['U1']);
    now += 2_000;
    expect(await dir.usergroupMembers('S0ONCALL')).toEqual(['U2']);
    expect(slack.callsTo('usergroups.users.list').length - before).toBe(2);
  });

  it('forgets the look-up fetched longest ago once it holds its maximum, so memory stays bounded', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const dir = createSlackDirectory(client, countingCalls(metrics, silentLogger), () => now, 60_000, 2);
    slack.emails.set('U2', 'u2@example.com');
    slack.emails.set('U3', 'u3@example.com');
    const asked = () => slack.callsTo('users.info').length;
    const before = asked();
    for (const user of ['U1', 'U2', 'U3']) await dir.userEmail(user);
    expect(asked() - before).toBe(3);
    expect(await dir.userEmail('U3')).toBe('u3@example.com');
    expect(asked() - before).toBe(3);
    expect(await dir.userEmail('U1')).toBe('u1@example.com');
    expect(asked() - before).toBe(4);
  });

  it('reads a channel name fresh when asked (break-glass), so a rename counts at once', async () => {
    const dir = directory();
    slack.channels.set('C0REN', { name: 'inc-7-outage' });
    expect(await dir.channelName('C0REN')).toBe('inc-7-outage');
    slack.channels.set('C0REN', { name: 'random' });
    expect(await dir.channelName('C0REN')).toBe('inc-7-outage'); // cached for the routine look-ups
    expect(await dir.channelName('C0REN', { fresh: true })).toBe('random');
  });

  it('keeps a fresh look-up when the older one it replaced comes back empty afterwards', async () => {
    const answers: ((channel: { name?: string; is_im?: boolean }) => void)[] = [];
    const client = { conversations: { info: () => new Promise((resolve) => answers.push((channel) => resolve({ ok: true, channel }))) } } as unknown as WebClient;
    const dir = createSlackDirectory(client, countingCalls(metrics, silentLogger), () => now, 60_000);
    const older = dir.channelName('C0SLOW');
    const fresh = dir.channelName('C0SLOW', { fresh: true });
    answers[1]?.({ name: 'inc-9' });
    expect(await fresh).toBe('inc-9');
    answers[0]?.({ is_im: true }); // an empty answer, arriving last
    expect(await older).toBeNull();
    const again = dir.channelName('C0SLOW');
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers.length).toBe(2); // from the cache: Slack is not asked a third time
    answers[2]?.({ name: 'inc-9' });
    expect(await again).toBe('inc-9');
  });

  it('answers null for what Slack says does not exist, and for DMs', async () => {
    const dir = directory();
    expect(await dir.usergroupMembers('S0NOPE')).toBeNull();
    expect(await dir.channelName('C0NOPE')).toBeNull();
    expect(await dir.channelName('D0DM')).toBeNull();
    expect(await dir.channelName('C0INC')).toBe('inc-1');
    expect(await dir.userEmail('U1')).toBe('u1@example.com');
  });

  it('throws SlackUnavailableError on an outage, counts it, and does not cache it', async () => {
    const dir = directory();
    const errors = async () => (await metrics.slackApiErrors.get()).values.find((v) => v.labels.method === 'conversations.info')?.value ?? 0;
    const before = await errors();
    slack.failNext('conversations.info', { status: 503 });
    await expect(dir.channelName('C0INC')).rejects.toBeInstanceOf(SlackUnavailableError);
    expect(await errors()).toBe(before + 1);
    expect(await dir.channelName('C0INC')).toBe('inc-1');
  });

  it("tells members from guests and people of other workspaces (users.info against auth.test's team), cached", async () => {
    const dir = directory();
    slack.users.set('UGUEST', { is_restricted: true });
    slack.users.set('USINGLE', { is_ultra_restricted: true });
    slack.users.set('UCONNECT', { team_id: 'T0OTHER' });
    expect(await dir.standing('U1')).toBe('member');
    expect(await dir.standing('UGUEST')).toBe('guest');
    expect(await dir.standing('USINGLE')).toBe('guest');
    expect(await dir.standing('UCONNECT')).toBe('external');
    const asked = slack.callsTo('users.info').length;
    slack.users.set('UGUEST', {});
    expect(await dir.standing('UGUEST')).toBe('guest'); // cached like group membership
    expect(slack.callsTo('users.info').length).toBe(asked);
    now += 61_000;
    expect(await dir.standing('UGUEST')).toBe('member');
  });

  it('counts someone Slack does not know as external, and fails closed (throws) when Slack is down', async () => {
    const dir = directory();
    slack.failNext('users.info', { error: 'user_not_found' });
    expect(await dir.standing('UNOBODY')).toBe('external');
    slack.failNext('users.info', { status: 503 });
    await expect(dir.standing('U1')).rejects.toBeInstanceOf(SlackUnavailableError);
  });

  it('gives up on the email quietly during an outage, since it only decorates payloads', async () => {
    const dir = directory();
    slack.failNext('users.info', { status: 503 });
    expect(await dir.userEmail('U1')).toBeNull();
  });
});
