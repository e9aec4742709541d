// Credentials inside REDIS_URL and postgres:// URLs never reach /readyz, the log (at debug level) or Slack.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { PEOPLE, startE2E, type E2E } from './support/e2e.ts';

const REDIS_PASSWORD = 'redis-pw-7c1f9a';
const PG_PASSWORD = 'pg-pw-52be07';

/** A loopback port nobody listens on: bound, noted, released. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

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
