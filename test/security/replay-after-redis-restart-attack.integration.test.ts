// Low severity, a boundary of the replay guard: the replay keys live only in Redis (and the memory of the process that
// saw the request). When Redis restarts without persistence (which `sesame doctor` warns about) or loses its last
// second of writes, a capture replayed within its 5-minute window to another replica, or to a Sesame restarted after
// Redis came back, acts again. The process that saw it still catches it from its memory (held).
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

describe('replays after a Redis restart, against the real bundled process', () => {
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
    dir = mkdtempSync(join(tmpdir(), 'sesame-adv-replay-flush-'));
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
  it('sets up: a request acts once, then Redis restarts empty', async () => {
    const sent = await signer.command('request sandbox 1h CHG-82 replay target', { user: PEOPLE.engineer });
    expect(sent.status).toBe(200);
    await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the reply');
    captured = signer.lastSent!;
    expect(requestsIn(join(dir, 'a.db'))).toBe(1);
    await redis.stop();
    await redis.start();
    await untilReady(sesame, port);
  }, 60_000);

  // KNOWN GAP (docs/security-model.md): the replay memory is Redis; one that restarts empty forgets the last five
  // minutes' signatures (`sesame doctor` warns about Redis without persistence). Flip to `it` once that is closed.
  it.fails('HOLE: another replica on the same Redis acts on the replay (delivered there first)', async () => {
    const otherPort = await freePort();
    other = spawnSesame(['start'], { ...env, PORT: String(otherPort), DATABASE_PATH: join(dir, 'b.db') });
    await untilReady(other, otherPort);
    expect(await deliverTo(`http://127.0.0.1:${otherPort}/slack/events`, captured)).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(requestsIn(join(dir, 'b.db'))).toBe(0);
  }, 60_000);

  it('held: the process that saw it catches the replay from its memory (and sets the key in Redis again)', async () => {
    expect(await deliverTo(`http://127.0.0.1:${port}/slack/events`, captured)).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(requestsIn(join(dir, 'a.db'))).toBe(1);
  }, 30_000);
});
