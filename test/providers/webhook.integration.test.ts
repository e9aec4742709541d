// The webhook provider against a real HTTP receiver on loopback that verifies the HMAC signature, as a customer's would.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import { formatProblem, parsePolicy } from '../../src/policy/load.ts';
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
    receiver.clockOffsetSeconds = 0;
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

  it('signs "<t>.<raw body>" with the current unix time in X-Sesame-Signature: t=…,v1=…', async () => {
    await provider().grant(aSubject());
    const [call] = receiver.received;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(call?.signature ?? '') ?? [];
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60);
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${call?.raw}`).digest('hex'));
  });

  it('lets a receiver refuse a captured call replayed more than 5 minutes later, or with its t rewritten', async () => {
    await provider().grant(aSubject());
    const [call] = receiver.received;
    const replay = (signature: string) =>
      fetch(`${receiver.url.replace(/\/hook$/, '')}${call?.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sesame-event': 'grant', 'x-sesame-signature': signature },
        body: call?.raw,
      }).then((r) => r.status);
    const signature = call?.signature ?? '';
    expect(await replay(signature)).toBe(200); // within the window the receiver cannot tell, which is why it is short
    receiver.clockOffsetSeconds = 301;
    expect(await replay(signature)).toBe(401);
    receiver.clockOffsetSeconds = 0;
    const t = Number(/^t=(\d+)/.exec(signature)?.[1]);
    expect(await replay(signature.replace(/^t=\d+/, `t=${t + 1}`))).toBe(401);
  });

  it('signs the whole query string of a check, also when the URL already has one', async () => {
    const checking = provider(undefined, { check: true, url: `${receiver.url}?tenant=acme` });
    const subject = aSubject();
    expect(await checking.check?.(subject)).toBe('absent');
    const [call] = receiver.received;
    expect(call?.path).toBe(`/hook?tenant=acme&grant_id=${subject.grantId}`);
    expect(call?.signatureValid).toBe(true);
  });

  describe('plain http', () => {
    const policyWith = (provider: string) =>
      ['version: 1', 'settings: { approvals_channel: C0APPROVALS }', 'tiers: { low: { max_duration: 1h, auto_approve: always } }', 'resources:', `  hook: { tier: low, roles: [x], provider: ${provider} }`].join('\n');

    it('refuses an http:// URL off this machine when the policy loads, with a sentence', () => {
      const result = parsePolicy(policyWith('{ type: webhook, url: "http://hooks.example.com/x", secret_env: S }'), 'p.yaml');
      expect((result.error ?? []).map(formatProblem)).toEqual([
        "p.yaml:5:66 resources.hook.provider.url: uses http://, so grants, revokes and the webhook's answers (which may carry credentials) would cross the network unencrypted; use https://, or set insecure_http: true if this network is trusted",
      ]);
    });

    it.each([
      '{ type: webhook, url: "http://hooks.example.com/x", secret_env: S, insecure_http: true }',
      '{ type: webhook, url: "https://hooks.example.com/x", secret_env: S }',
      '{ type: webhook, url: "http://127.0.0.1:8080/x", secret_env: S }',
      '{ type: webhook, url: "http://localhost:8080/x", secret_env: S }',
      '{ type: webhook, url: "http://[::1]:8080/x", secret_env: S }',
    ])('accepts %s', (block) => {
      expect(parsePolicy(policyWith(block), 'p.yaml').ok).toBe(true);
    });
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
