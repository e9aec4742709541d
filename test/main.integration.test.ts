// Starting Sesame: Slack refusing or unreachable stops start-up with one sentence; the HTTP front routes and refuses.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startSesame, StartupError } from '../src/main.ts';
import { deleteKeys, startE2E, type E2E } from './support/e2e.ts';
import { FakeSlack } from './support/fake-slack.ts';
import { EXAMPLE_POLICY_PATH } from './support/policy-fixtures.ts';
import { onPostgres } from './support/store-factories.ts';

describe('startSesame', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-main-'));
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await deleteKeys('sesame-main-test:*'); // the queues a refused start opened before giving up
  });
  const providerSecrets = { STAGING_PG_URL: 'postgres://postgres@127.0.0.1:5432/test', PROD_DB_HOOK_SECRET: 'hook-secret' };
  const configFor = (apiUrl: string, secrets: Record<string, string> = providerSecrets) => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-bad', SLACK_SIGNING_SECRET: 'secret-123456', SLACK_API_URL: apiUrl, DATABASE_PATH: join(dir, 's.db'), POLICY_PATH: EXAMPLE_POLICY_PATH, ...secrets });
    if (!config.ok) throw new Error(config.error.join());
    return { ...config.value, port: 0 };
  };
  const startWith = (apiUrl: string, secrets?: Record<string, string>) =>
    startSesame(configFor(apiUrl, secrets), { log: pino({ level: 'silent' }), redisPrefix: 'sesame-main-test', watchPolicyFile: false });

  it('refuses to start while a secret the policy names is unset, naming the variable and where the policy asks for it', async () => {
    const failure = await startWith('http://127.0.0.1:9/api/', { PROD_DB_HOOK_SECRET: 'hook-secret' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as StartupError).problems).toEqual([
      expect.stringMatching(/policy\.yaml:68:\d+ resources\.staging-db\.provider\.connection_env: environment variable STAGING_PG_URL is not set/),
    ]);
  });

  it('refuses to start when Slack rejects the bot token, saying what to do', async () => {
    const slack = await new FakeSlack().start();
    slack.failNext('auth.test', { error: 'invalid_auth' });
    try {
      await expect(startWith(slack.apiUrl)).rejects.toThrow(StartupError);
      slack.failNext('auth.test', { error: 'invalid_auth' });
      await expect(startWith(slack.apiUrl)).rejects.toThrow('Slack refused SLACK_BOT_TOKEN (invalid_auth); copy the Bot User OAuth Token again from your Slack app → OAuth & Permissions.');
    } finally {
      await slack.stop();
    }
  });

  it('refuses to start when Slack cannot be reached', async () => {
    await expect(startWith('http://127.0.0.1:9/api/')).rejects.toThrow(/^Could not reach Slack at http:\/\/127\.0\.0\.1:9\/api\/ to verify the bot token/);
  });
});

describe('HTTP front', () => {
  let e: E2E;
  let base: string;
  beforeAll(async () => {
    e = await startE2E();
    base = `http://127.0.0.1:${e.sesame.port}`;
  });
  afterAll(() => e.stop());

  it('answers /healthz, /readyz naming each check, and /metrics in Prometheus format', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { [onPostgres ? 'postgres' : 'sqlite']: 'ok', redis: 'ok', policy: 'ok' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['sesame_requests_total', 'sesame_time_to_grant_seconds', 'sesame_revocation_lateness_seconds', 'sesame_active_grants', 'sesame_revoke_failures_total', 'sesame_slack_api_errors_total']) {
      expect(metrics).toContain(`# TYPE ${name}`);
    }
  });

  it('counts requests by tier and outcome, time to grant, and active grants from the database', async () => {
    const sent = await e.signer.command('request sandbox 1h metrics check', { user: 'U0ENG1' });
    await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'the reply');
    const refused = await e.signer.command('request sandbox 9h too long', { user: 'U0ENG1' });
    await e.slack.waitFor(() => e.slack.responsesTo(refused.responseId)[0], 'the refusal');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('sesame_requests_total{tier="low",outcome="auto_approved"} 1');
    expect(metrics).toContain('sesame_requests_total{tier="low",outcome="refused"} 1');
    expect(metrics).toContain('sesame_time_to_grant_seconds_count 1');
    expect(metrics).toMatch(/^sesame_active_grants 1$/m);
  });

  it('answers unknown paths with 404 and refuses a 10 MB body with 413', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    // Declare 10 MB but send none of it: the answer must come from the headers alone, without buffering the body.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(10 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });
});
