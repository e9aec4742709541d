// At shutdown the Slack app waits for every request it has received to be answered and for the work it started,
// however late that started; then it starts none: a request that reaches Bolt once shutdown has stopped waiting can no
// longer be acknowledged, so acting on it would grant access nobody was told of (left half-done until a sweep found it).
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReasonEnds } from '../../src/core/reason-ended.ts';
import { createHttpServer, type HttpServer } from '../../src/http/server.ts';
import { createSlackApp, type SlackApp } from '../../src/slack/app.ts';
import { RESTARTING_NOTHING_DONE } from '../../src/slack/messages.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { SlackSigner } from '../support/signed-client.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const SIGNING_SECRET = 'shutdown-gate-signing-secret';

/** The Slack app in HTTP mode on a real server, over `h`, as main.ts serves it. */
async function serveSlackApp(h: Harness, slack: FakeSlack): Promise<{ app: SlackApp; server: HttpServer; signer: SlackSigner; idle(timeoutMs: number): Promise<boolean>; close(): Promise<void> }> {
  const deps = { access: h.service, blocks: userBlocksOf(h), reasons: new ReasonEnds({ store: h.store, policy: () => aLoadedPolicy(), directory: h.directory, log: silentLogger }, h.service.grants), policy: () => aLoadedPolicy(), log: silentLogger };
  const app = createSlackApp({ botToken: 'xoxb-shutdown-gate', signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl, log: pino({ level: 'silent' }) }, deps);
  await app.app.init();
  const listener = app.requestListener;
  if (!listener) throw new Error('expected HTTP mode');
  const server = createHttpServer({ slack: listener, readiness: async () => ({ ready: true, checks: {} }), metrics: new Registry() });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const signer = new SlackSigner(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
  return {
    app,
    server,
    signer,
    // As main.ts asks at shutdown, with no connection to cut.
    idle: (timeoutMs) => app.idle(timeoutMs, { received: Promise.resolve(), requests: server }),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the Slack app at shutdown', () => {
  const slack = new FakeSlack();
  let h: Harness;
  let server: HttpServer;
  let signer: SlackSigner;
  let idle: (timeoutMs: number) => Promise<boolean>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    await slack.start();
    h = await accessHarness();
    ({ server, signer, idle, close } = await serveSlackApp(h, slack));
  });
  afterAll(async () => {
    await close();
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

  it('has Bolt refuse what is not validly signed when no replay guard checks signatures in front of it', async () => {
    const forged = await signer.command('request sandbox admin 1h forged', { user: PEOPLE.engineer }, { secret: 'not-the-signing-secret' });
    expect(forged.status).toBe(401);
    const stale = await signer.command('request sandbox admin 1h stale', { user: PEOPLE.engineer }, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    expect(Number(await requestCount())).toBe(1);
  });

  it('waits for a request whose body was still arriving when shutdown began, and for the grant it then makes', async () => {
    const { body, responseId } = signer.commandBody('request sandbox admin 1h sent slowly', { user: PEOPLE.engineer });
    const signed = signer.sign(body, 'application/x-www-form-urlencoded');
    const head = ['POST /slack/events HTTP/1.1', 'host: 127.0.0.1', `content-length: ${Buffer.byteLength(body)}`, ...Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
    let answer = '';
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const received = new Promise<void>((resolve) => server.once('request', () => resolve()));
    socket.write(`${head}\r\n\r\n${body.slice(0, -8)}`);
    await received;

    let idled: boolean | undefined;
    const waiting = idle(10_000).then((done) => (idled = done));
    await new Promise((r) => setTimeout(r, 300));
    expect(idled).toBeUndefined();
    socket.write(body.slice(-8));

    expect(await waiting).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(String(slack.responsesTo(responseId)[0]?.text)).toMatch(/^✅ Granted: `sandbox` `admin`/);
    expect(Number(await requestCount())).toBe(2);
    socket.destroy();
  });

  it('does nothing with a request that reaches it once shutdown has stopped waiting, and leaves it unacknowledged', async () => {
    expect(await idle(5_000)).toBe(true);
    const grantsBefore = h.provider.calls.length;
    // Bolt answers an unacknowledged request itself after 3 s; a 200 would be an ack.
    const sent = await signer.command('request sandbox admin 1h after shutdown began', { user: PEOPLE.engineer });
    expect(sent.status).not.toBe(200);
    expect(Number(await requestCount())).toBe(2);
    expect(h.provider.calls.length).toBe(grantsBefore);
    expect(slack.responsesTo(sent.responseId)).toEqual([]);
  }, 15_000);

  it('does not start commands waiting for their turn once shutdown begins, and tells their requesters at once', async () => {
    const second = await serveSlackApp(h, slack);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.provider.duringGrant = () => held;
    try {
      const requestsBefore = Number(await requestCount());
      const grantCalls = () => h.provider.calls.filter((c) => c.op === 'grant').length;
      const grantCallsBefore = grantCalls();
      // Eight are worked on at once; the ninth waits for a turn.
      const sent = await Promise.all(Array.from({ length: 9 }, (_, i) => second.signer.command(`request sandbox admin 1h queued ${i}`, { user: `U0QUEUE${i}` })));
      expect(sent.map((s) => s.status)).toEqual(Array(9).fill(200));
      await slack.waitFor(() => grantCalls() >= grantCallsBefore + 8 || undefined, 'eight grants at the provider');

      const stopped = second.idle(10_000);
      // Told at once, not when its turn comes: that may be after the process is gone.
      await slack.waitFor(() => sent.some((s) => slack.responsesTo(s.responseId)[0]?.text === RESTARTING_NOTHING_DONE) || undefined, 'the waiting command to be answered');
      expect(sent.filter((s) => slack.responsesTo(s.responseId).length > 0)).toHaveLength(1);
      release();
      expect(await stopped).toBe(true);

      const answers = sent.map((s) => String(slack.responsesTo(s.responseId)[0]?.text));
      expect(answers.filter((a) => a.startsWith('✅ Granted'))).toHaveLength(8);
      expect(answers.filter((a) => a === RESTARTING_NOTHING_DONE)).toHaveLength(1);
      expect(Number(await requestCount())).toBe(requestsBefore + 8);
    } finally {
      h.provider.duringGrant = () => {};
      release();
      await second.close();
    }
  });
});
