// One provider call that never returns: the sweep goes on without it, another grant due meanwhile is revoked by the
// next sweep, and the stuck one ends revoke_failed with the admins alerted once the provider deadline passes.
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEvent } from '../../src/core/ports.ts';
import { grantRef } from '../../src/core/ids.ts';
import { createMetrics } from '../../src/metrics.ts';
import { withDeadlines } from '../../src/providers/deadline.ts';
import { createReconciler, type Reconciler } from '../../src/scheduler/reconciler.ts';
import { createSlackNotifier } from '../../src/slack/notifier.ts';
import { countingCalls, createWebClient } from '../../src/slack/slack-api.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const realClock = { now: () => new Date() };
const INTERVAL_MS = 1_000;
const PROVIDER_DEADLINE_MS = 3_000;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a provider call that never returns', () => {
  let h: Harness;
  let reconciler: Reconciler;
  afterEach(async () => {
    await reconciler.stop();
    await h.cleanup();
  });

  it('does not keep the reconciler from revoking another grant, and ends revoke_failed with the admins alerted', async () => {
    h = await accessHarness(undefined, { clock: realClock, providers: (fake) => withDeadlines(fake, PROVIDER_DEADLINE_MS) });
    const grant = async (durationMs: number) => {
      const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: durationMs, reason: 'stuck provider' });
      if (out.value?.kind !== 'granted') throw new Error('expected a grant');
      return out.value.grant;
    };
    // The fake scheduler runs no jobs: only the reconciler revokes here.
    const stuck = await grant(1_000);
    h.provider.hangRevokes.add(grantRef(stuck.id));
    const other = await grant(2_000);
    reconciler = createReconciler({ store: h.store, access: h.service, scheduler: h.scheduler, clock: realClock, log: silentLogger, intervalMs: INTERVAL_MS });
    reconciler.start();

    await until(async () => (await h.store.getGrant(other.id))?.state === 'expired', 'the other grant to be revoked');
    // Revoked while the stuck call was still running: no sweep waited for it.
    expect((await h.store.getGrant(stuck.id))?.state).toBe('active');

    await until(async () => (await h.store.getGrant(stuck.id))?.state === 'revoke_failed', 'the stuck grant to fail');
    // The alert follows the committed state change, a moment later on a busy database.
    await until(() => h.notifier.events.some((e) => e.type === 'grant_revoke_failed'), 'the admins to be alerted', 5_000);
    const alert = h.notifier.events.find((e) => e.type === 'grant_revoke_failed');
    expect(alert).toMatchObject({ grant: { id: stuck.id }, problem: `the noop provider's revoke did not answer within ${PROVIDER_DEADLINE_MS / 1000} s; it will be tried again` });
    expect((await h.auditActions())).toContain('grant.revoke_failed');

    // What the admins see: the alert, as Sesame's Slack notifier posts it to the audit channel, mentioning them.
    const slack = new FakeSlack();
    await slack.start();
    try {
      const policy = aLoadedPolicy();
      const notifier = createSlackNotifier({ client: createWebClient('xoxb-test', slack.apiUrl), call: countingCalls(createMetrics(), silentLogger), store: h.store, policy: () => policy, log: silentLogger });
      await notifier.notify(alert as AccessEvent);
      await notifier.close?.();
      const posted = slack.callsTo('chat.postMessage').map((c) => ({ channel: c.channel, text: String(c.text) }));
      expect(posted).toContainEqual({ channel: 'C0AUDIT', text: expect.stringMatching(new RegExp(`🚨 <@${PEOPLE.security}> Revoking .*\\(G${stuck.id}\\).* failed; Sesame keeps retrying\\. The provider said: .*did not answer within 3 s`)) });
    } finally {
      await slack.stop();
    }
  }, 60_000);

  it('lets a sweep finish while the call is still running, and the next sweep skips that grant', async () => {
    h = await accessHarness(undefined, { clock: realClock });
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 1_000, reason: 'stuck provider' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    const stuck = out.value.grant;
    h.provider.hangRevokes.add(grantRef(stuck.id));
    await until(() => Date.now() > (stuck.expiresAt ?? 0), 'the grant to fall due', 5_000);
    reconciler = createReconciler({ store: h.store, access: h.service, scheduler: h.scheduler, clock: realClock, log: silentLogger, intervalMs: 60_000, grantWaitMs: 200 });
    await reconciler.runOnce();
    await reconciler.runOnce();
    expect(h.provider.count('revoke')).toBe(1);
  });

  it('leaves at most four calls per lane running, so a provider that stopped answering is not flooded', async () => {
    h = await accessHarness(undefined, { clock: realClock });
    for (let i = 0; i < 12; i++) {
      const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 1_000, reason: `stuck ${i}` });
      if (out.value?.kind !== 'granted') throw new Error('expected a grant');
      h.provider.hangRevokes.add(grantRef(out.value.grant.id));
    }
    await new Promise((r) => setTimeout(r, 1_100));
    reconciler = createReconciler({ store: h.store, access: h.service, scheduler: h.scheduler, clock: realClock, log: silentLogger, intervalMs: 60_000, concurrency: 2, grantWaitMs: 20 });
    await reconciler.runOnce();
    await reconciler.runOnce();
    expect(h.provider.count('revoke')).toBe(8);
  });
});
