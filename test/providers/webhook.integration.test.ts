// The webhook provider against a real HTTP receiver on loopback that verifies the HMAC signature, as a customer's would.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import type { ProviderConfig } from '../../src/policy/schema.ts';
import { webhookProvider } from '../../src/providers/webhook.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'webhook-secret-for-tests';

describe('webhook provider', () => {
  const receiver = new WebhookReceiver(SECRET);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.mode = 'ok';
    receiver.message = 'connect with: ssh bastion.example.com';
  });

  const config = (overrides: Partial<Extract<ProviderConfig, { type: 'webhook' }>> = {}) =>
    webhookProvider.schema.parse({ type: 'webhook', url: receiver.url, secret_env: 'HOOK_SECRET', ...overrides });
  const provider = (env: Record<string, string> = { HOOK_SECRET: SECRET }, overrides = {}): Provider =>
    webhookProvider.create(config(overrides), { env, usergroups: noUsergroups });
  const failureOf = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as ProviderError);

  it('POSTs the exact payload with a valid signature, and passes the answer\'s message on', async () => {
    const subject = aSubject({ breakglass: true, expiresAt: new Date('2026-11-23T10:00:00.000Z') });
    expect(await provider().grant(subject)).toEqual({ message: 'connect with: ssh bastion.example.com' });

    const [call] = receiver.received;
    expect(call).toMatchObject({ event: 'grant', signatureValid: true, contentType: 'application/json' });
    expect(JSON.parse(call?.raw ?? '')).toEqual({
      event: 'grant',
      grant_id: subject.grantId,
      request_id: subject.requestId,
      user: { slack_id: 'U0ENG1', email: 'eng1@example.com' },
      resource: 'prod-db',
      role: 'read',
      reason: 'INC-42 debugging',
      starts_at: '2026-11-23T09:00:00.000Z',
      expires_at: '2026-11-23T10:00:00.000Z',
      breakglass: true,
    });
  });

  it('signs revokes too, and treats an empty 2xx answer to a grant as a grant without a message', async () => {
    receiver.message = undefined;
    const subject = aSubject();
    expect(await provider().grant(subject)).toEqual({});
    await provider().revoke(subject);
    expect(receiver.received.map((r) => [r.event, r.signatureValid, r.payload?.event])).toEqual([['grant', true, 'grant'], ['revoke', true, 'revoke']]);
  });

  it('asks GET url?grant_id= when check is on, and only then', async () => {
    const checking = provider(undefined, { check: true });
    const subject = aSubject();
    await checking.grant(subject);
    expect(await checking.check?.(subject)).toBe('present');
    await checking.revoke(subject);
    expect(await checking.check?.(subject)).toBe('absent');
    expect(receiver.received.filter((r) => r.event === 'check').every((r) => r.signatureValid)).toBe(true);
    expect(provider().check).toBeUndefined();
  });

  it('fails, retryably, on a non-2xx answer', async () => {
    receiver.mode = 'fail';
    const failure = await failureOf(provider().grant(aSubject()));
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/answered 503 to grant$/) });
    expect(await failureOf(provider().revoke(aSubject()))).toMatchObject({ retryable: true });
  });

  it('refuses to call a 200 with garbage a grant', async () => {
    receiver.mode = 'garbage';
    expect(await failureOf(provider().grant(aSubject()))).toMatchObject({
      retryable: false,
      message: expect.stringContaining('answered the grant with something other than JSON like {"message": "…"}'),
    });
  });

  it('fails a check whose answer is not {"present": bool}, so an unverifiable revoke is never called verified', async () => {
    receiver.mode = 'garbage';
    expect(await failureOf(provider(undefined, { check: true }).check?.(aSubject()) ?? Promise.resolve())).toMatchObject({ retryable: true });
  });

  it('gives up on a webhook that takes 10 s after 5 s, retryably', async () => {
    receiver.mode = 'slow';
    const started = Date.now();
    const failure = await failureOf(provider().grant(aSubject()));
    expect(failure).toMatchObject({ retryable: true, message: expect.stringContaining('did not answer within 5 s') });
    expect(Date.now() - started).toBeLessThan(9_000);
  }, 15_000);

  it('fails retryably when nothing listens, naming the host', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await failureOf(provider(undefined, { url: `http://127.0.0.1:${port}/hook` }).grant(aSubject()));
    expect(failure).toMatchObject({ retryable: true, message: `the webhook at 127.0.0.1:${port} could not be reached (ECONNREFUSED)` });
  });

  /** A receiver that answers every request with `answer`, for what the shared receiver cannot do. */
  async function oddReceiver(answer: (res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/hook`,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  }

  it('does not follow a redirect: a 3xx is a failed call', async () => {
    const odd = await oddReceiver((res) => res.writeHead(302, { location: receiver.url }).end());
    const failure = await failureOf(provider(undefined, { url: odd.url }).grant(aSubject()));
    await odd.close();
    expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/answered 302 to grant$/) });
    expect(receiver.received).toEqual([]);
  });

  it('reads at most 64 KiB of an answer, so a huge one is garbage rather than a message', async () => {
    const odd = await oddReceiver((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'x'.repeat(200_000) })));
    const failure = await failureOf(provider(undefined, { url: odd.url }).grant(aSubject()));
    await odd.close();
    expect(failure).toMatchObject({ retryable: false, message: expect.stringContaining('something other than JSON') });
  });

  it('gives up after 5 s on an answer whose body never ends', async () => {
    const odd = await oddReceiver((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"message": "still wri');
    });
    const failure = await failureOf(provider(undefined, { url: odd.url }).revoke(aSubject()));
    await odd.close();
    expect(failure).toMatchObject({ retryable: true, message: expect.stringContaining('did not answer within 5 s') });
  }, 15_000);

  it('fails permanently, naming the variable, when the secret is not set', async () => {
    expect(await failureOf(provider({}).grant(aSubject()))).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/^HOOK_SECRET is not set/),
    });
    expect(receiver.received).toEqual([]);
  });

  it('signs with the secret, so a receiver with another key refuses', async () => {
    const failure = await failureOf(provider({ HOOK_SECRET: 'not-the-secret' }).grant(aSubject()));
    expect(failure).toMatchObject({ message: expect.stringContaining('answered 401') });
    expect(receiver.received[0]?.signatureValid).toBe(false);
  });
});
