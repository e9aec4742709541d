// At shutdown the Slack app lets the work already running finish, and starts none after: a request that reaches Bolt
// once shutdown has cut its connection can no longer be acknowledged, so acting on it would grant access nobody was
// told of, after the point where shutdown stopped waiting for it (left half-done until a sweep found it).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { createSlackApp, type SlackApp } from '../../src/slack/app.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { SlackSigner } from '../support/signed-client.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const SIGNING_SECRET = 'shutdown-gate-signing-secret';

describe('the Slack app at shutdown', () => {
  const slack = new FakeSlack();
  let h: Harness;
  let app: SlackApp;
  let server: Server;
  let signer: SlackSigner;
  beforeAll(async () => {
    await slack.start();
    h = await accessHarness();
    const deps = { access: h.service, blocks: userBlocksOf(h), reasons: new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(), directory: h.directory, log: silentLogger }, h.service.grants), policy: () => aLoadedPolicy(), log: silentLogger };
    app = createSlackApp({ botToken: 'xoxb-shutdown-gate', signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl, log: pino({ level: 'silent' }) }, deps);
    await app.app.init();
    const listener = app.requestListener;
    if (!listener) throw new Error('expected HTTP mode');
    server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    signer = new SlackSigner(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await h.cleanup();
    await slack.stop();
  });

  const requestCount = async () => (await h.sql.all<{ n: number }>('SELECT count(*) AS n FROM requests'))[0]?.n;

  it('acts on a request before shutdown begins', async () => {
    const sent = await signer.command('request sandbox admin 1h before shutdown', { user: PEOPLE.engineer });
    expect(sent.status).toBe(200);
    await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the answer');
    expect(String(slack.responsesTo(sent.responseId)[0]?.text)).toMatch(/^✅ Granted: `sandbox` `admin`/);
    expect(Number(await requestCount())).toBe(1);
  });

  it('does nothing with a request that reaches it once shutdown has begun, and leaves it unacknowledged', async () => {
    expect(await app.idle(5_000)).toBe(true);
    const grantsBefore = h.provider.calls.length;
    // Bolt answers an unacknowledged request itself after 3 s; a 200 would be an ack.
    const sent = await signer.command('request sandbox admin 1h after shutdown began', { user: PEOPLE.engineer });
    expect(sent.status).not.toBe(200);
    expect(Number(await requestCount())).toBe(1);
    expect(h.provider.calls.length).toBe(grantsBefore);
    expect(slack.responsesTo(sent.responseId)).toEqual([]);
  }, 15_000);
});
