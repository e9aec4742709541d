// A real `sesame start` process: SIGKILLed with live grants, restarted after they expired, revokes them at once;
// SIGTERM stops it cleanly with exit status 0.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRANDED_PROBLEM } from '../../src/core/stranded-requests.ts';
import { STRANDED_REQUEST_AGE_MS } from '../../src/scheduler/reconciler.ts';
import { NOOP_PROVIDERS, PEOPLE, SIGNING_SECRET } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { processDatabase, type ProcessDatabase } from '../support/process-database.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';
import { SlackSigner } from '../support/signed-client.ts';

const REDIS_DB = 8;
const PORT = await freePort();

describe('crash and restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-crash-'));
  const slack = new FakeSlack();
  const redis = new Redis({ host: '127.0.0.1', port: 6379, db: REDIS_DB });
  let env: NodeJS.ProcessEnv;
  let db: ProcessDatabase;
  const spawned: SesameProcess[] = [];

  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer]);
    await redis.flushdb();
    db = await processDatabase(dir);
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(NOOP_PROVIDERS)));
    env = {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-crash-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(PORT),
      ...db.env,
      POLICY_PATH: join(dir, 'policy.yaml'),
      REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}`,
      RECONCILE_INTERVAL: '1s',
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => {
    // A test that failed half-way leaves its process running: its workers would take this Redis database's jobs next time.
    for (const sesame of spawned) sesame.child.kill('SIGKILL');
    await db?.close();
    await redis.flushdb();
    redis.disconnect();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<SesameProcess & { readyAt: number }> => {
    const sesame = spawnSesame(['start'], env);
    spawned.push(sesame);
    await untilReady(sesame, PORT); // says what the process printed when it exits before it is ready
    return { ...sesame, readyAt: Date.now() };
  };
  // Aliases quoted: PostgreSQL folds unquoted ones to lower case.
  const states = () => db.sql.all<{ id: number; state: string; expiresAt: number; endedAt: number | null }>('SELECT id, state, expires_at AS "expiresAt", ended_at AS "endedAt" FROM grants ORDER BY id');

  it('revokes, right after restart, grants that expired while it was killed', async () => {
    const first = await start();
    const signer = new SlackSigner(`http://127.0.0.1:${PORT}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
    for (let i = 0; i < 3; i++) {
      const sent = await signer.command(`request sandbox 2s crash test ${i}`, { user: PEOPLE.engineer });
      expect(String((await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the grant')).text)).toMatch(/^✅ Granted/);
    }
    first.child.kill('SIGKILL');
    await first.exited();
    expect((await states()).map((g) => g.state)).toEqual(['active', 'active', 'active']);

    await new Promise((r) => setTimeout(r, 2_500)); // past every expiry, with nobody running
    const second = await start();
    const until = second.readyAt + 10_000;
    while ((await states()).some((g) => g.state !== 'expired') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const ended = await states();
    expect(ended.map((g) => g.state)).toEqual(['expired', 'expired', 'expired']);
    // Late only by the downtime: each revoke came within one reconcile interval (1 s, plus a generous margin) of readiness.
    for (const g of ended) expect((g.endedAt ?? 0) - second.readyAt).toBeLessThan(1_000 + 3_000);

    second.child.kill('SIGTERM');
    const started = Date.now();
    expect(await second.exited(), second.output()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
  it('fails, right after restart, a request approved just before the kill that no grant came of, and tells the requester', async () => {
    const first = await start();
    const signer = new SlackSigner(`http://127.0.0.1:${PORT}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
    const sent = await signer.command('request prod-db write 1h approved then killed', { user: PEOPLE.engineer });
    expect(String((await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the pending answer')).text)).toMatch(/^⏳ Request/);
    first.child.kill('SIGKILL');
    await first.exited();
    // The approval committed and the process died before the grant's first write. SQLite's single process takes one
    // approved over a minute before it started for stopped at once; replicas sharing PostgreSQL wait
    // STRANDED_REQUEST_AGE_MS, so there it is older.
    const [request] = await db.sql.all<{ id: number }>("SELECT id FROM requests WHERE reason = 'approved then killed'");
    const approvedAt = Date.now() - (db.kind === 'sqlite' ? 90_000 : STRANDED_REQUEST_AGE_MS + 60_000);
    await db.sql.run("UPDATE requests SET state = 'approved', decided_at = ?, approved_at = ?, decided_by = ? WHERE id = ?", approvedAt, approvedAt, PEOPLE.lead1, request?.id);

    const second = await start();
    const stateOf = async () => (await db.sql.all<{ state: string }>('SELECT state FROM requests WHERE id = ?', request?.id))[0]?.state;
    const until = second.readyAt + 10_000;
    while ((await stateOf()) !== 'failed' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await stateOf()).toBe('failed');
    expect((await db.sql.all<{ n: number | string }>('SELECT count(*) AS n FROM grants WHERE request_id = ?', request?.id)).map((r) => Number(r.n))).toEqual([0]);
    const told = await slack.waitFor(() => slack.callsTo('chat.postMessage').find((m) => String(m.text).includes(`R${request?.id}`) && String(m.text).includes('approved, but granting it failed')), 'the DM to the requester');
    expect(JSON.stringify(told)).toContain(STRANDED_PROBLEM);
    // No provider was asked: the message must not put Sesame's own stop in a provider's mouth.
    expect(String(told.text)).toContain(`What went wrong: ${STRANDED_PROBLEM}`);
    expect(JSON.stringify(told)).not.toMatch(/provider said/i);
    second.child.kill('SIGTERM');
    expect(await second.exited(), second.output()).toBe(0);
  });
});
