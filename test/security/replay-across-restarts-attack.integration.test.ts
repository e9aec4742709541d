// Replays from outside, against the real bundled process and a Redis of the test's own: a signed command captured
// while Sesame runs is delivered again (1) at the very first moment the restarted process accepts connections, many
// copies at once, and (2) to a second process sharing the same Redis and key prefix (another replica's view of the
// replay keys; each process on its own SQLite file). Each copy must be acked without acting: no second request row.
// And a boundary of the guard (low severity, a known failure): the replay keys live only in Redis (and the memory of
// the process that saw the request), so after Redis restarts without persistence (which `sesame doctor` warns about)
// a capture replayed within its 5-minute window to another replica acts again; the process that saw it still catches it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.ts';
import { PEOPLE } from '../support/access-harness.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { NOOP_PROVIDERS } from '../support/e2e.ts';
import { freePort, spawnSesame, stopSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';
import { SlackSigner, type SentRequest } from '../support/signed-client.ts';
import { OwnRedis } from '../support/own-redis.ts';

const SIGNING = 'replay-restart-attack-signing-secret-01';

/** Request rows in a SQLite file a `sesame` process writes. */
function requestsIn(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Posts a captured signed request again, as an attacker would. */
async function deliverTo(url: string, sent: SentRequest): Promise<number> {
  return (await fetch(url, { method: 'POST', headers: sent.headers, body: sent.body })).status;
}

/**
 * One `sesame start` on `a.db` with a Redis of its own, and a request it handled (`captured`); `startOther` starts a
 * second process on the same Redis and prefix, on `b.db`. Registers the describe's hooks.
 */
function replayTarget(ticket: string) {
  const slack = new FakeSlack();
  const redis = new OwnRedis();
  const state = { dir: '', port: 0, env: {} as NodeJS.ProcessEnv, sesame: null as SesameProcess | null, other: null as SesameProcess | null, captured: null as SentRequest | null, responseId: '' };
  const url = (port: number) => `http://127.0.0.1:${port}/slack/events`;

  beforeAll(async () => {
    await redis.start();
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
    slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    slack.usergroups.set('S0DEPLOY', []);
    slack.channels.set('C0GENERAL', { name: 'general' });
    state.dir = mkdtempSync(join(tmpdir(), 'sesame-adv-replay-'));
    writeFileSync(join(state.dir, 'policy.yaml'), stringify(aPolicyInput({ ...NOOP_PROVIDERS } as Parameters<typeof aPolicyInput>[0])));
    state.port = await freePort();
    state.env = { ...process.env, SLACK_BOT_TOKEN: 'xoxb-adv-replay-bot', SLACK_SIGNING_SECRET: SIGNING, SLACK_API_URL: slack.apiUrl, PORT: String(state.port), DATABASE_PATH: join(state.dir, 'a.db'), POLICY_PATH: join(state.dir, 'policy.yaml'), REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
    delete state.env.DATABASE_URL;
    state.sesame = spawnSesame(['start'], state.env);
    await untilReady(state.sesame, state.port);

    const signer = new SlackSigner(url(state.port), SIGNING, (id) => slack.responseUrl(id));
    const sent = await signer.command(`request sandbox 1h ${ticket} replay target`, { user: PEOPLE.engineer });
    expect(sent.status).toBe(200);
    await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the reply');
    state.captured = signer.lastSent ?? null;
    state.responseId = sent.responseId;
    expect(requestsIn(join(state.dir, 'a.db'))).toBe(1);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([state.sesame, state.other].map((p) => (p ? stopSesame(p) : undefined)));
    await slack.stop();
    await redis.stop();
    rmSync(state.dir, { recursive: true, force: true });
  }, 30_000);

  const captured = (): SentRequest => {
    if (!state.captured) throw new Error('nothing was captured');
    return state.captured;
  };
  return {
    slack,
    redis,
    state,
    url,
    captured,
    /**
     * Delivers the capture to the first process, waits, and says how many requests its database holds and how many
     * replies this delivery drew on the capture's response_url: a replay that acts answers there even where it adds no row.
     */
    async replayToFirst(): Promise<{ status: number; requests: number; replies: number }> {
      const before = slack.responsesTo(state.responseId).length;
      const status = await deliverTo(url(state.port), captured());
      await new Promise((r) => setTimeout(r, 1_500));
      return { status, requests: requestsIn(join(state.dir, 'a.db')), replies: slack.responsesTo(state.responseId).length - before };
    },
    /** Starts a second process on the same Redis and prefix, delivers the capture there, and counts its requests. */
    async replayToOther(): Promise<{ port: number; status: number; requests: number; replies: number }> {
      // A retry (CI retries, and vitest reruns an it.fails test) would otherwise start a second one and lose the first.
      if (state.other) await stopSesame(state.other);
      const port = await freePort();
      state.other = spawnSesame(['start'], { ...state.env, PORT: String(port), DATABASE_PATH: join(state.dir, 'b.db') });
      await untilReady(state.other, port);
      const before = slack.responsesTo(state.responseId).length;
      const status = await deliverTo(url(port), captured());
      await new Promise((r) => setTimeout(r, 1_500));
      return { port, status, requests: requestsIn(join(state.dir, 'b.db')), replies: slack.responsesTo(state.responseId).length - before };
    },
  };
}

describe('replays across a restart and across processes, against the real bundled process', () => {
  const target = replayTarget('CHG-81');
  const { state } = target;

  it('a request acts once while running, and its replay to the same process acts not', async () => {
    expect(await target.replayToFirst()).toEqual({ status: 200, requests: 1, replies: 0 });
  }, 30_000);

  it('a burst of replays at the first moment the restarted process accepts connections acts not once', async () => {
    const first = state.sesame as SesameProcess;
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    const restarted = spawnSesame(['start'], state.env);
    state.sesame = restarted;
    const statuses: number[] = [];
    const until = Date.now() + 30_000;
    for (;;) {
      const burst = await Promise.all(Array.from({ length: 8 }, () => deliverTo(target.url(state.port), target.captured()).catch(() => 0)));
      if (burst.some((s) => s !== 0)) {
        statuses.push(...burst);
        break;
      }
      if (Date.now() > until || restarted.child.exitCode !== null) throw new Error(`no start:\n${restarted.output()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await untilReady(restarted, state.port);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(statuses).toContain(200); // reached the guard, not refused at the door
    expect({ requests: requestsIn(join(state.dir, 'a.db')), replies: target.slack.responsesTo(state.responseId).length, statuses }).toMatchObject({ requests: 1, replies: 1 });
  }, 60_000);

  it('the same capture delivered to another process on the same Redis and prefix is acked without acting', async () => {
    const other = await target.replayToOther();
    expect({ status: other.status, requests: other.requests, replies: other.replies }).toEqual({ status: 200, requests: 0, replies: 0 });
    // Control: a fresh request to that process does act, so the 0 above is the guard's doing.
    const fresh = new SlackSigner(target.url(other.port), SIGNING, (id) => target.slack.responseUrl(id));
    const sent = await fresh.command('request sandbox 1h CHG-83 control', { user: PEOPLE.engineer2 });
    await target.slack.waitFor(() => target.slack.responsesTo(sent.responseId)[0], 'the control reply');
    expect(requestsIn(join(state.dir, 'b.db'))).toBe(1);
  }, 60_000);
});

describe('replays after a Redis restart, against the real bundled process', () => {
  const target = replayTarget('CHG-82');

  it('sets up: Redis restarts empty', async () => {
    await target.redis.stop();
    await target.redis.start();
    await untilReady(target.state.sesame as SesameProcess, target.state.port);
  }, 60_000);

  // KNOWN GAP (docs/security-model.md): the replay memory is Redis; one that restarts empty forgets the last five
  // minutes' signatures (`sesame doctor` warns about Redis without persistence). Flip to `it` once that is closed.
  it.fails('HOLE: another replica on the same Redis acts on the replay (delivered there first)', async () => {
    const other = await target.replayToOther();
    expect({ status: other.status, requests: other.requests, replies: other.replies }).toEqual({ status: 200, requests: 0, replies: 0 });
  }, 60_000);

  it('held: the process that saw it catches the replay from its memory (and sets the key in Redis again)', async () => {
    expect(await target.replayToFirst()).toEqual({ status: 200, requests: 1, replies: 0 });
  }, 30_000);
});
