// The DM that carries a provider's message (credentials) across a restart: a fresh notifier (new process memory)
// over the same SQLite file still deletes it when the grant ends, from the channel and ts stored with the grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvent } from '../../src/core/ports.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createSlackNotifier } from '../../src/slack/notifier.ts';
import { countingCalls, createWebClient } from '../../src/slack/slack-api.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const PASSWORD = 'hunter2-but-longer-0123456789';

describe('the credential DM', () => {
  const slack = new FakeSlack();
  let h: Harness;
  beforeAll(async () => {
    await slack.start();
    h = await accessHarness();
    h.provider.grantMessage = `psql "postgres://sesame_g1:${PASSWORD}@db.example.com/app"`;
  });
  afterAll(async () => {
    await h.cleanup();
    await slack.stop();
  });
  const notifierProcess = () => {
    const policy = aLoadedPolicy();
    return createSlackNotifier({ client: createWebClient('xoxb-test', slack.apiUrl), call: countingCalls(createMetrics(), silentLogger), store: h.store, policy: () => policy, log: silentLogger });
  };
  const eventOf = <T extends AccessEvent['type']>(type: T) => h.notifier.events.find((e): e is Extract<AccessEvent, { type: T }> => e.type === type);

  it('is deleted at the end of the grant by a notifier that did not post it', async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 3_600_000, reason: 'credentials' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    const grantId = out.value.grant.id;

    const before = notifierProcess();
    await before.notify(eventOf('grant_activated') as AccessEvent);
    await before.close?.();
    const [ts, dm] = [...slack.messages].find(([, m]) => JSON.stringify(m).includes(PASSWORD)) ?? [];
    expect(dm?.channel).toBe(PEOPLE.engineer);
    expect(String(dm?.text)).not.toContain(PASSWORD);
    expect(await h.store.getGrant(grantId)).toMatchObject({ dmChannel: PEOPLE.engineer, dmTs: ts });

    // "Restart": the grant ends, and a new notifier, knowing nothing of the first, is told.
    await h.service.revoke(grantId, PEOPLE.engineer);
    const after = notifierProcess();
    await after.notify(eventOf('grant_ended') as AccessEvent);
    await after.close?.();
    expect(slack.callsTo('chat.delete')).toEqual([{ channel: PEOPLE.engineer, ts }]);
    expect([...slack.messages.values()].filter((m) => JSON.stringify(m).includes(PASSWORD))).toEqual([]);
    expect(await h.store.getGrant(grantId)).toMatchObject({ dmChannel: null, dmTs: null });
  });
});
