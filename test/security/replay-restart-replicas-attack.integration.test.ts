// Replays from outside, against the real bundled process and a Redis of the test's own: a signed command captured
// while Sesame runs is delivered again (1) at the very first moment the restarted process accepts connections, many
// copies at once, and (2) to a second process sharing the same Redis and key prefix (another replica's view of the
// replay keys; each process on its own SQLite file). Each copy must be acked without acting: no second request row.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.ts';
import { PEOPLE } from '../support/access-harness.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { NOOP_PROVIDERS } from '../support/e2e.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';
import { SlackSigner, type SentRequest } from '../support/signed-client.ts';
import { OwnRedis } from '../support/own-redis.ts';
import Database from 'better-sqlite3';

const SIGNING = 'replay-restart-attack-signing-secret-01';

describe('replays across a restart and across processes, against the real bundled process', () => {
  const slack = new FakeSlack();
  const redis = new OwnRedis();
  let dir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let sesame: SesameProcess;
  let other: SesameProcess | null = null;
  let signer: SlackSigner;

  beforeAll(async () => {
    await redis.start();
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
    slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    slack.usergroups.set('S0DEPLOY', []);
    slack.channels.set('C0GENERAL', { name: 'general' });
    dir = mkdtempSync(join(tmpdir(), 'sesame-adv-replay-'));
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput({ ...NOOP_PROVIDERS } as Parameters<typeof aPolicyInput>[0])));
    port = await freePort();
    env = { ...process.env, SLACK_BOT_TOKEN: 'xoxb-adv-replay-bot', SLACK_SIGNING_SECRET: SIGNING, SLACK_API_URL: slack.apiUrl, PORT: String(port), DATABASE_PATH: join(dir, 'a.db'), POLICY_PATH: join(dir, 'policy.yaml'), REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    sesame = spawnSesame(['start'], env);
    await untilReady(sesame, port);
    signer = new SlackSigner(`http://127.0.0.1:${port}/slack/events`, SIGNING, (id) => slack.responseUrl(id));
  }, 60_000);

  afterAll(async () => {
    for (const p of [sesame, other]) {
      if (p && p.child.exitCode === null) {
        p.child.kill('SIGTERM');
        await p.exited();
      }
    }
    await slack.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const requestsIn = (file: string) => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const deliverTo = async (url: string, sent: SentRequest) => {
    const res = await fetch(url, { method: 'POST', headers: sent.headers, body: sent.body });
    return res.status;
  };

  let captured: SentRequest;
  it('a request acts once while running', async () => {
    const sent = await signer.command('request sandbox 1h CHG-81 replay target', { user: PEOPLE.engineer });
    expect(sent.status).toBe(200);
    await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the reply');
    captured = signer.lastSent!;
    expect(requestsIn(join(dir, 'a.db'))).toBe(1);
    expect(await deliverTo(`http://127.0.0.1:${port}/slack/events`, captured)).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(requestsIn(join(dir, 'a.db'))).toBe(1);
  }, 30_000);

  it('a burst of replays at the first moment the restarted process accepts connections acts not once', async () => {
    sesame.child.kill('SIGTERM');
    expect(await sesame.exited()).toBe(0);
    sesame = spawnSesame(['start'], env);
    const url = `http://127.0.0.1:${port}/slack/events`;
    const statuses: number[] = [];
    const until = Date.now() + 30_000;
    for (;;) {
      const burst = await Promise.all(Array.from({ length: 8 }, () => deliverTo(url, captured).catch(() => 0)));
      if (burst.some((s) => s !== 0)) {
        statuses.push(...burst);
        break;
      }
      if (Date.now() > until || sesame.child.exitCode !== null) throw new Error(`no start:\n${sesame.output()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await untilReady(sesame, port);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(statuses).toContain(200); // reached the guard, not refused at the door
    expect({ requests: requestsIn(join(dir, "a.db")), statuses }).toMatchObject({ requests: 1 });
  }, 60_000);

  it('the same capture delivered to another process on the same Redis and prefix is acked without acting', async () => {
    const otherPort = await freePort();
    other = spawnSesame(['start'], { ...env, PORT: String(otherPort), DATABASE_PATH: join(dir, 'b.db') });
    await untilReady(other, otherPort);
    expect(await deliverTo(`http://127.0.0.1:${otherPort}/slack/events`, captured)).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(requestsIn(join(dir, 'b.db'))).toBe(0);
    // Control: a fresh request to that process does act, so the 0 above is the guard's doing.
    const fresh = new SlackSigner(`http://127.0.0.1:${otherPort}/slack/events`, SIGNING, (id) => slack.responseUrl(id));
    const sent = await fresh.command('request sandbox 1h CHG-83 control', { user: PEOPLE.engineer2 });
    await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the control reply');
    expect(requestsIn(join(dir, 'b.db'))).toBe(1);
  }, 60_000);
});
