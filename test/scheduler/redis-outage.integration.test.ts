// When Redis goes away: readiness says so, routine access fails closed, break-glass fails open with a timer,
// and once Redis is back the reconciler hands the timers back to BullMQ.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, startE2E, type E2E } from '../support/e2e.ts';
import { OwnRedis } from '../support/own-redis.ts';

describe('Redis outage', () => {
  const redis = new OwnRedis();
  let e: E2E;
  let base: string;

  beforeAll(async () => {
    await redis.start();
    e = await startE2E(undefined, { redisUrl: redis.url, reconcileIntervalMs: 60 * 60_000 });
    base = `http://127.0.0.1:${e.sesame.port}`;
  });
  afterAll(async () => {
    await e.stop();
    await redis.stop();
  });

  const reply = async (text: string, user: string, channel?: string) => {
    const sent = await e.signer.command(text, { user, channel });
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `the reply to ${text}`)).text);
  };
  const readiness = async () => {
    const res = await fetch(`${base}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };

  it('is ready while Redis is up', async () => {
    expect((await readiness()).status).toBe(200);
  });

  it('fails closed for routine requests and open, with a timer, for break-glass; then hands the timer back', async () => {
    await redis.stop();
    let ready = await readiness();
    for (let i = 0; i < 100 && ready.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await readiness();
    }
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable$/);

    expect(await reply('request sandbox 1h routine', PEOPLE.engineer)).toContain('Sesame cannot schedule revocations right now');
    const glass = await reply('breakglass prod-db write 1h INC-1 primary down', PEOPLE.oncall, 'C0INC42');
    expect(glass).toMatch(/^✅ Granted: `prod-db` `write`/);
    const grantId = Number(/`G(\d+)`/.exec(glass)?.[1]);
    expect((await e.sesame.store.getGrant(grantId))?.state).toBe('active');

    await redis.start();
    const until = Date.now() + 15_000;
    let report = await e.sesame.reconcile();
    while (report.schedulerDown && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      report = await e.sesame.reconcile();
    }
    expect(report.rescheduled).toBeGreaterThanOrEqual(1);
    expect((await readiness()).status).toBe(200);
  });
});
