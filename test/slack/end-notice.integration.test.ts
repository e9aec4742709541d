// The DM at a grant's end: sent when it expired or someone else revoked it; not echoed to a holder who revoked it
// themselves (the command's reply, or their Home tab, already says so). The audit channel hears of every end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvent } from '../../src/core/ports.ts';
import type { GrantRecord } from '../../src/core/records.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createSlackNotifier } from '../../src/slack/notifier.ts';
import { countingCalls, createWebClient } from '../../src/slack/slack-api.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

describe('the notice at the end of a grant', () => {
  const slack = new FakeSlack();
  const policy = aLoadedPolicy({ bundles: { kit: ['sandbox:admin', 'staging-db:read'] } });
  let h: Harness;
  beforeAll(async () => {
    await slack.start();
    h = await accessHarness(policy);
  });
  afterAll(async () => {
    await h.cleanup();
    await slack.stop();
  });

  const auditChannel = policy.policy.settings.audit_channel;
  const grantOf = async (reason: string): Promise<GrantRecord> => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 3_600_000, reason });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    return out.value.grant;
  };
  /** What one notifier posted for `event`, by channel. */
  const postsFor = async (event: AccessEvent): Promise<{ channel: string; text: string }[]> => {
    const before = slack.callsTo('chat.postMessage').length;
    const notifier = createSlackNotifier({ client: createWebClient('xoxb-test', slack.apiUrl), call: countingCalls(createMetrics(), silentLogger), store: h.store, policy: () => policy, log: silentLogger });
    await notifier.notify(event);
    await notifier.close?.();
    return slack.callsTo('chat.postMessage').slice(before).map((c) => ({ channel: String(c.channel), text: String(c.text) }));
  };

  it('tells the holder when the grant expired', async () => {
    const grant = await grantOf('expiry');
    const posts = await postsFor({ type: 'grant_ended', grant, outcome: 'expired', by: 'sesame' });
    expect(posts.filter((p) => p.channel === PEOPLE.engineer).map((p) => p.text)).toEqual([expect.stringMatching(/^🔒 Your access .* has ended\.$/)]);
    expect(posts.some((p) => p.channel === auditChannel)).toBe(true);
  });

  it('tells the holder who revoked it when someone else did', async () => {
    const grant = await grantOf('revoked by security');
    const posts = await postsFor({ type: 'grant_ended', grant, outcome: 'revoked', by: PEOPLE.security });
    expect(posts.filter((p) => p.channel === PEOPLE.engineer).map((p) => p.text)).toEqual([expect.stringContaining(`was revoked by <@${PEOPLE.security}>.`)]);
    expect(posts.some((p) => p.channel === auditChannel)).toBe(true);
  });

  it('does not DM a holder who revoked it themselves, and still records it in the audit channel', async () => {
    const grant = await grantOf('revoked by the holder');
    const posts = await postsFor({ type: 'grant_ended', grant, outcome: 'revoked', by: PEOPLE.engineer });
    expect(posts.filter((p) => p.channel === PEOPLE.engineer)).toEqual([]);
    expect(posts.filter((p) => p.channel === auditChannel).map((p) => p.text)).toEqual([expect.stringContaining(`(G${grant.id}) of <@${PEOPLE.engineer}> revoked.`)]);
  });

  it('still DMs each member of a bundle the holder revoked (the reply names only the grant they typed)', async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: 3_600_000, reason: 'bundle' });
    if (out.value?.kind !== 'granted') throw new Error('expected the bundle granted');
    const [first, second] = out.value.grants ?? [];
    const posts = [
      ...(await postsFor({ type: 'grant_ended', grant: first as GrantRecord, outcome: 'revoked', by: PEOPLE.engineer })),
      ...(await postsFor({ type: 'grant_ended', grant: second as GrantRecord, outcome: 'revoked', by: PEOPLE.engineer })),
    ];
    expect(posts.filter((p) => p.channel === PEOPLE.engineer).map((p) => p.text)).toEqual([
      expect.stringContaining(`(G${first?.id}) was revoked by <@${PEOPLE.engineer}>.`),
      expect.stringContaining(`(G${second?.id}) was revoked by <@${PEOPLE.engineer}>.`),
    ]);
  });
});
