// A frozen Redis (SIGSTOP: connections stay open, nothing is answered) counts as down: readiness says so, routine
// requests are refused as when it is stopped, and once it thaws Sesame is ready again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, startE2E, type E2E } from '../support/e2e.ts';
import { OwnRedis } from '../support/own-redis.ts';

describe('frozen Redis', () => {
  const redis = new OwnRedis();
  let e: E2E;
  let base: string;

  beforeAll(async () => {
    await redis.start();
    e = await startE2E(undefined, { redisUrl: redis.url, reconcileIntervalMs: 60 * 60_000 });
    base = `http://127.0.0.1:${e.sesame.port}`;
  });
  afterAll(async () => {
    redis.thaw();
    await e.stop();
    await redis.stop();
  });

  const readiness = async () => {
    const res = await fetch(`${base}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };
  const readinessBecomes = async (status: number) => {
    let ready = await readiness();
    for (const until = Date.now() + 15_000; ready.status !== status && Date.now() < until; ready = await readiness()) await new Promise((r) => setTimeout(r, 100));
    return ready;
  };
  const reply = async (text: string, user: string) => {
    const sent = await e.signer.command(text, { user });
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `the reply to ${text}`, 20_000)).text);
  };

  it('is not ready and refuses routine requests while Redis is frozen, and recovers when it thaws', async () => {
    expect((await readiness()).status).toBe(200);

    redis.freeze();
    const frozen = await readinessBecomes(503);
    expect(frozen.status).toBe(503);
    expect(frozen.body.checks.redis).toBe(`Redis at ${redis.url} is unreachable`);
    expect(await reply('request sandbox 1h while frozen', PEOPLE.engineer)).toContain('Sesame cannot schedule revocations right now');
    expect((await e.sql.get("SELECT count(*) AS n FROM grants WHERE state = 'active'"))).toEqual({ n: 0 });

    redis.thaw();
    expect((await readinessBecomes(200)).status).toBe(200);
    expect(await reply('request sandbox 1h after thaw', PEOPLE.engineer)).toMatch(/^✅ Granted/);
  }, 60_000);
});
