// `sesame start` and `sesame doctor` as real processes, with passwords in REDIS_URL and a postgres:// URL that point at
// a closed port: neither password appears in /readyz, anything the processes print (debug log, errors) or Slack.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, SIGNING_SECRET } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { freePort, spawnSesame } from '../support/sesame-process.ts';
import { SlackSigner } from '../support/signed-client.ts';

const REDIS_PASSWORD = 'proc-redis-pw-3e9d1b';
const PG_PASSWORD = 'proc-pg-pw-a07c44';
const PORT = await freePort();
const CLOSED = await freePort();

describe('secrets in URLs, in real processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-secrets-'));
  const slack = new FakeSlack();
  let env: NodeJS.ProcessEnv;
  let readyz = { status: 0, text: '' };
  let startOutput = '';
  let doctorOutput = '';

  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer]);
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput()));
    env = {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-secrets-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(PORT),
      DATABASE_PATH: join(dir, 'sesame.db'),
      POLICY_PATH: join(dir, 'policy.yaml'),
      REDIS_URL: `redis://sesame:${REDIS_PASSWORD}@127.0.0.1:${CLOSED}/0`,
      STAGING_PG_URL: `postgres://sesame:${PG_PASSWORD}@127.0.0.1:${CLOSED}/app`,
      PROD_DB_HOOK_SECRET: 'hook-secret',
      LOG_LEVEL: 'debug',
    };

    const sesame = spawnSesame(['start'], env);
    try {
      for (const until = Date.now() + 30_000; readyz.status === 0 && Date.now() < until && sesame.child.exitCode === null; ) {
        readyz = await fetch(`http://127.0.0.1:${PORT}/readyz`).then(
          async (r) => ({ status: r.status, text: await r.text() }),
          () => readyz,
        );
        if (readyz.status === 0) await new Promise((r) => setTimeout(r, 100));
      }
      // A refused request: Sesame logs and answers in Slack while Redis is unreachable.
      const signer = new SlackSigner(`http://127.0.0.1:${PORT}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
      const sent = await signer.command('request sandbox 1h secrets check', { user: PEOPLE.engineer });
      await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the refusal');
      // The start-up checks (as doctor's) try PostgreSQL and Redis in the background; give them their say.
      await slack.waitFor(() => /postgres|PostgreSQL/.test(sesame.output()) || null, 'the start-up checks to name PostgreSQL', 20_000);
      sesame.child.kill('SIGTERM');
      await sesame.exited();
    } finally {
      if (sesame.child.exitCode === null) sesame.child.kill('SIGKILL');
      startOutput = sesame.output();
    }
    const doctor = spawnSesame(['doctor'], env);
    await doctor.exited();
    doctorOutput = doctor.output();
  }, 90_000);
  afterAll(async () => {
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/readyz names Redis by host, port and database only', () => {
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.text)).toMatchObject({ checks: { redis: `Redis at redis://127.0.0.1:${CLOSED}/0 is unreachable` } });
    expect(readyz.text).not.toContain(REDIS_PASSWORD);
  });

  it("nothing `sesame start` printed, at debug level, carries either password", () => {
    expect(startOutput).toContain(`redis://127.0.0.1:${CLOSED}/0`);
    expect(startOutput).not.toContain(REDIS_PASSWORD);
    expect(startOutput).not.toContain(PG_PASSWORD);
  });

  it('nothing `sesame doctor` printed carries either password', () => {
    expect(doctorOutput).toMatch(/✗ .*Redis/);
    expect(doctorOutput).not.toContain(REDIS_PASSWORD);
    expect(doctorOutput).not.toContain(PG_PASSWORD);
  });

  it('nothing sent to Slack carries either password', () => {
    const sent = JSON.stringify([slack.calls, slack.responses]);
    expect(sent).toContain('Sesame cannot schedule revocations right now');
    expect(sent).not.toContain(REDIS_PASSWORD);
    expect(sent).not.toContain(PG_PASSWORD);
  });
});
