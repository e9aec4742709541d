// The replay guard on real Redis: SET NX EX under the deployment's prefix, shared by processes, expiring with the window.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createReplayGuard, guardReplays, replayKeys, SIGNATURE_WINDOW_SECONDS, signedBySlack } from '../../src/slack/replay-guard.ts';
import { deleteKeys } from '../support/e2e.ts';
import { silentLogger } from '../support/fakes.ts';

describe('createReplayGuard', () => {
  const prefix = `sesame-replay-${randomUUID()}`;
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const guards = [createReplayGuard({ redisUrl: 'redis://127.0.0.1:6379/0', prefix, log: silentLogger }), createReplayGuard({ redisUrl: 'redis://127.0.0.1:6379/0', prefix, log: silentLogger })];
  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()));
    await deleteKeys(`${prefix}:*`);
    redis.disconnect();
  });
  /** The guards connect in the background; a first call waits for that, within its deadline. */
  const ready = async () => {
    for (let i = 0; i < 200; i++) {
      await Promise.all(guards.map((g, n) => g.firstTime([`warm-up-${n}-${i}`], 5)));
      if ((await redis.exists(`${prefix}:replay:warm-up-0-${i}`, `${prefix}:replay:warm-up-1-${i}`)) === 2) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('says first time once, in Redis under the prefix with a TTL of the window, also for another process', async () => {
    await ready();
    const [a, b] = guards;
    const key = `sig:${randomUUID()}`;
    expect(await a?.firstTime([key], SIGNATURE_WINDOW_SECONDS)).toBe(true);
    expect(await a?.firstTime([key], SIGNATURE_WINDOW_SECONDS)).toBe(false);
    expect(await b?.firstTime([key], SIGNATURE_WINDOW_SECONDS)).toBe(false); // a restarted or second Sesame
    const ttl = await redis.ttl(`${prefix}:replay:${key}`);
    expect(ttl).toBeGreaterThan(SIGNATURE_WINDOW_SECONDS - 10);
    expect(ttl).toBeLessThanOrEqual(SIGNATURE_WINDOW_SECONDS);
  });

  it('keys a signed request on its signature and, for an Events API callback, on the event id Slack retries with', () => {
    const event = JSON.stringify({ type: 'event_callback', event_id: 'Ev1' });
    expect(replayKeys('v0=abc', '1700000000', event, 'application/json')).toEqual([expect.stringMatching(/^sig:[0-9a-f]{64}$/), 'event:Ev1']);
    expect(replayKeys('v0=abc', '1700000000', 'payload=%7B%7D', 'application/x-www-form-urlencoded')).toHaveLength(1);
    expect(replayKeys('v0=abc', '1700000001', event, 'application/json')[0]).not.toBe(replayKeys('v0=abc', '1700000000', event, 'application/json')[0]);
    // Spellings Bolt's check accepts as the same request map to the same key.
    expect(replayKeys('v0=abc=x', '1700000000.0', event, 'application/json')[0]).toBe(replayKeys('v0=abc', '1700000000', event, 'application/json')[0]);
  });

  it('waits for its first connection, so a replay sent right after a restart is caught by Redis, not let through', async () => {
    const restarted = createReplayGuard({ redisUrl: 'redis://127.0.0.1:6379/0', prefix, log: silentLogger });
    try {
      const key = `sig:${randomUUID()}`;
      expect(await restarted.firstTime([key], SIGNATURE_WINDOW_SECONDS)).toBe(true);
      expect(await redis.exists(`${prefix}:replay:${key}`)).toBe(1);
      const again = createReplayGuard({ redisUrl: 'redis://127.0.0.1:6379/0', prefix, log: silentLogger });
      expect(await again.firstTime([key], SIGNATURE_WINDOW_SECONDS)).toBe(false);
      await again.close();
    } finally {
      await restarted.close();
    }
  });

  it('falls back to this process when Redis cannot be reached, so a repeat still acts once here', async () => {
    const offline = createReplayGuard({ redisUrl: 'redis://127.0.0.1:1/0', prefix, log: silentLogger });
    expect(await offline.firstTime(['sig:offline'], 60)).toBe(true);
    expect(await offline.firstTime(['sig:offline'], 60)).toBe(false);
    await offline.close();
  });

  it('refuses a signed request once shutdown no longer waits, without remembering it, so Slack\'s retry still acts', async () => {
    await ready();
    const [guard] = guards;
    if (!guard) throw new Error('no guard');
    let refusing = true;
    let reachedBolt = 0;
    const secret = 'replay-guard-shutdown-secret';
    const listener = guardReplays(
      (_req, res) => {
        reachedBolt++;
        res.writeHead(200).end();
      },
      { signingSecret: secret, guard, log: silentLogger, bodyLimit: 1024 * 1024, refusing: () => refusing },
    );
    const server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const body = JSON.stringify({ type: 'event_callback', event_id: `Ev${randomUUID()}` });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers = { 'content-type': 'application/json', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}` };
      const send = () => fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', headers, body });

      const refused = await send();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('connection')).toBe('close');
      expect(reachedBolt).toBe(0);
      // The same request again (Slack's retry, at another replica or after the restart) is acted on.
      refusing = false;
      expect((await send()).status).toBe(200);
      expect(reachedBolt).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('signedBySlack', () => {
  const signingSecret = 'signed-by-slack-secret';
  const nowMs = 1_700_000_100_000;
  const rawBody = 'command=%2Faccess&text=help';
  const mac = (secret: string, timestamp: string) => createHmac('sha256', secret).update(`v0:${Number(timestamp)}:${rawBody}`).digest('hex');
  const check = (signature: string, timestamp: string, body = rawBody) => signedBySlack({ signingSecret, signature, timestamp, rawBody: body, nowMs });

  it('accepts Slack\'s v0 signature within the window, and the spellings Bolt accepted', () => {
    expect(check(`v0=${mac(signingSecret, '1700000000')}`, '1700000000')).toBe(true);
    expect(check(`v0=${mac(signingSecret, '1700000000')}`, '1700000000.0')).toBe(true);
    expect(check(`v0=${mac(signingSecret, '1700000000')}=x`, '1700000000')).toBe(true);
  });

  it('refuses another secret, another body, a stale timestamp, another version and any other spelling of the MAC', () => {
    const good = mac(signingSecret, '1700000000');
    expect(check(`v0=${mac('another-secret', '1700000000')}`, '1700000000')).toBe(false);
    expect(check(`v0=${good}`, '1700000000', `${rawBody}&user_id=U0ADMIN`)).toBe(false);
    const stale = String(nowMs / 1000 - SIGNATURE_WINDOW_SECONDS - 1);
    expect(check(`v0=${mac(signingSecret, stale)}`, stale)).toBe(false);
    expect(check(`v1=${good}`, '1700000000')).toBe(false);
    // Upper case decodes to the same bytes; accepted, it would be a new replay key for the same request.
    expect(check(`v0=${good.toUpperCase()}`, '1700000000')).toBe(false);
    expect(check(`v0=${good.slice(0, 62)}`, '1700000000')).toBe(false);
    expect(check(`v0=${good}00`, '1700000000')).toBe(false);
    expect(check('v0', '1700000000')).toBe(false);
    expect(check(`v0=${good}`, 'soon')).toBe(false);
    // Signed over the bytes: a body whose invalid UTF-8 decodes to the same text as the signed one is another request.
    const withReplacement = Buffer.from('text=\u{FFFD}');
    const signedReplacement = `v0=${createHmac('sha256', signingSecret).update('v0:1700000000:').update(withReplacement).digest('hex')}`;
    expect(signedBySlack({ signingSecret, signature: signedReplacement, timestamp: '1700000000', rawBody: withReplacement, nowMs })).toBe(true);
    expect(signedBySlack({ signingSecret, signature: signedReplacement, timestamp: '1700000000', rawBody: Buffer.from([...Buffer.from('text='), 0xff]), nowMs })).toBe(false);
    expect(signedBySlack({ signingSecret: '', signature: `v0=${createHmac('sha256', '').update(`v0:1700000000:${rawBody}`).digest('hex')}`, timestamp: '1700000000', rawBody, nowMs })).toBe(false);
  });

  it('refuses what is not validly signed before Bolt sees it, and answers Slack\'s unsigned SSL check with 200', async () => {
    let reachedBolt = 0;
    let clock = Date.now();
    const warnings: { fields: object; message: string }[] = [];
    const guard = { firstTime: async () => true, close: async () => undefined };
    const server = createServer(guardReplays((_req, res) => {
      reachedBolt++;
      res.writeHead(200).end();
    }, { signingSecret, guard, log: { ...silentLogger, warn: (fields: object, message: string) => void warnings.push({ fields, message }) }, bodyLimit: 1024 * 1024, now: () => clock }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
      expect((await fetch(url, { method: 'POST', headers: form, body: rawBody })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', headers: { ...form, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${signature.slice(3).toUpperCase()}` }, body: rawBody })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', headers: form, body: 'ssl_check=1&token=x' })).status).toBe(200);
      expect(reachedBolt).toBe(0);
      expect((await fetch(url, { method: 'POST', headers: { ...form, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature }, body: rawBody })).status).toBe(200);
      expect(reachedBolt).toBe(1);
      // A wrong signing secret shows in the log, at most once a minute however many requests are refused.
      expect(warnings).toEqual([{ fields: { refused: 1 }, message: expect.stringContaining('SLACK_SIGNING_SECRET') as string }]);
      clock += 61_000;
      expect((await fetch(url, { method: 'POST', headers: form, body: rawBody })).status).toBe(401);
      expect(warnings.at(-1)?.fields).toEqual({ refused: 2 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
