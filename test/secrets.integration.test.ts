// Credentials inside REDIS_URL and postgres:// URLs never reach /readyz, the log (at debug level) or Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/provider-error.ts';
import { createLogger } from '../src/logger.ts';
import { accessHarness } from './support/access-harness.ts';
import { PEOPLE, startE2E, type E2E } from './support/e2e.ts';
import { freePort as closedPort } from './support/sesame-process.ts';

const REDIS_PASSWORD = 'redis-pw-7c1f9a';
const PG_PASSWORD = 'pg-pw-52be07';

describe('secrets in URLs', () => {
  const lines: string[] = [];
  let e: E2E;
  let port: number;
  let readyz: { status: number; text: string };

  beforeAll(async () => {
    port = await closedPort();
    const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
    e = await startE2E(undefined, {
      redisUrl: `redis://sesame:${REDIS_PASSWORD}@127.0.0.1:${port}/0`,
      env: { STAGING_PG_URL: `postgres://sesame:${PG_PASSWORD}@127.0.0.1:${port}/app` },
      log,
    });
    const res = await fetch(`http://127.0.0.1:${e.sesame.port}/readyz`);
    readyz = { status: res.status, text: await res.text() };
    // A refused request makes Sesame log and answer in Slack while Redis is unreachable.
    const sent = await e.signer.command('request sandbox 1h secrets check', { user: PEOPLE.engineer });
    await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'the refusal');
    log.error({ problem: new Error(`could not connect to postgres://sesame:${PG_PASSWORD}@db/app`) }, `pool failed for postgres://sesame:${PG_PASSWORD}@db/app`);
  });
  let stopped = false;
  afterAll(async () => {
    if (!stopped) await e.stop();
  });

  it('/readyz names Redis by host, port and database only', () => {
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.text)).toMatchObject({ checks: { redis: `Redis at redis://127.0.0.1:${port}/0 is unreachable` } });
    expect(readyz.text).not.toContain(REDIS_PASSWORD);
    expect(readyz.text).not.toContain('sesame:');
  });

  it('the whole debug log names Redis but never carries either password', () => {
    const log = lines.join('');
    expect(log).toContain(`redis://127.0.0.1:${port}/0`);
    expect(log).toContain('postgres://db/app');
    expect(log).not.toContain(REDIS_PASSWORD);
    expect(log).not.toContain(PG_PASSWORD);
  });

  it('stops although Redis never answered (workers are not waited for forever)', async () => {
    await e.stop();
    stopped = true;
  }, 15_000);

  it('nothing sent to Slack carries either password', () => {
    const sent = JSON.stringify([e.slack.calls, e.slack.responses]);
    expect(sent).toContain('Sesame cannot schedule revocations right now');
    expect(sent).not.toContain(REDIS_PASSWORD);
    expect(sent).not.toContain(PG_PASSWORD);
  });
});

describe('a provider error that quotes a connection string', () => {
  it('reaches the audit log and the admins\' alert without the password', async () => {
    const h = await accessHarness(undefined, {
      providers: (fake) => ({
        for: (config) => ({
          ...fake.for(config),
          grant: (subject) => fake.for(config).grant(subject),
          revoke: async () => {
            throw new ProviderError(`could not connect to postgres://sesame:${PG_PASSWORD}@db.internal:5432/app?sslmode=require`, true);
          },
        }),
      }),
    });
    try {
      const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 3_600_000, reason: 'secret in error' });
      if (out.value?.kind !== 'granted') throw new Error('expected a grant');
      await h.service.revoke(out.value.grant.id, PEOPLE.engineer);
      const alert = h.notifier.events.find((e) => e.type === 'grant_revoke_failed');
      expect(alert).toMatchObject({ problem: 'could not connect to postgres://db.internal:5432/app?sslmode=require' });
      const audit = JSON.stringify(await h.sql.all('SELECT * FROM audit_log'));
      expect(audit).toContain('grant.revoke_failed');
      expect(audit).not.toContain(PG_PASSWORD);
    } finally {
      await h.cleanup();
    }
  });
});
