// Two real `sesame start` replicas on one PostgreSQL database and one Redis: a request made on one and approved on the
// other is granted, expires and is revoked once; the audit chain verifies; only the sweeper-lease holder streams it.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { NOOP_PROVIDERS, PEOPLE, SIGNING_SECRET } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { OwnRedis } from '../support/own-redis.ts';
import { tempPgDatabase, type TempPgDatabase } from '../support/pg-temp-db.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';
import { SiemReceiver } from '../support/siem-receiver.ts';
import { SlackSigner } from '../support/signed-client.ts';
import { expectChainVerifies, firstCopies } from '../support/stream-checks.ts';

const STREAM_KEY = 'postgres-replicas-stream-key';
const STREAMS_NOW = 'this replica streams the audit log now';
/** Trust authentication ignores it; it is there to be absent from every line Sesame prints. */
const PASSWORD = 'hunter2-pg-secret';

interface Replica {
  process: SesameProcess;
  port: number;
  signer: SlackSigner;
}

describe('Sesame replicas on PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-pg-replicas-'));
  const slack = new FakeSlack();
  const ownRedis = new OwnRedis();
  const receiver = new SiemReceiver(STREAM_KEY);
  const replicas: Replica[] = [];
  let database: TempPgDatabase;
  let db: PgDb;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [database] = await Promise.all([tempPgDatabase('replicas'), ownRedis.start(), slack.start(), receiver.start()]);
    slack.usergroups.set('S0ENG', [PEOPLE.engineer]);
    const policy = {
      ...NOOP_PROVIDERS,
      settings: { audit_stream: { url: receiver.url, secret_env: 'AUDIT_STREAM_KEY', batch: 5, timeout: '5s' } },
      tiers: { gated: { approvals: [{ from: 'sre-leads', count: 1 }], max_duration: '1h' } },
      resources: { ...NOOP_PROVIDERS?.resources, lab: { tier: 'gated', roles: ['admin'], provider: { type: 'noop' } } },
    } as Parameters<typeof aPolicyInput>[0];
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(policy)));
    env = {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-pg-replicas-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      POLICY_PATH: join(dir, 'policy.yaml'),
      REDIS_URL: ownRedis.url,
      DATABASE_URL: database.url.replace('postgres@', `postgres:${PASSWORD}@`),
      // Never opened: with DATABASE_URL set, SQLite is not used.
      DATABASE_PATH: join(dir, 'never', 'sesame.db'),
      AUDIT_STREAM_KEY: STREAM_KEY,
      RECONCILE_INTERVAL: '2s',
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    for (const r of replicas) if (r.process.child.exitCode === null) r.process.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.process.exited()));
    if (db !== undefined) await closePgDatabase(db);
    await Promise.all([ownRedis.stop(), slack.stop(), receiver.stop()]);
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const everyOutput = () => replicas.map((r, i) => `--- replica ${i}\n${r.process.output()}`).join('\n');
  async function until<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${everyOutput()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const startReplica = async (): Promise<Replica> => {
    const port = await freePort();
    const replica = { process: spawnSesame(['start'], { ...env, PORT: String(port) }), port, signer: new SlackSigner(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id)) };
    replicas.push(replica);
    return replica;
  };
  const readiness = async (r: Replica) => {
    const res = await fetch(`http://127.0.0.1:${r.port}/readyz`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; checks: Record<string, string> } };
  };
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await db.$client.query(sql, params)).rows as T[];
  const grantState = async (requestId: number) => (await rows<{ state: string }>('SELECT state FROM grants WHERE request_id = $1', [requestId]))[0]?.state;
  const auditCount = async () => Number((await rows<{ n: string }>('SELECT count(*) AS n FROM audit_log'))[0]?.n);
  const streamers = () => replicas.filter((r) => r.process.output().includes(STREAMS_NOW));
  /** Every entry of the database at the receiver, each exactly once (one streamer, a receiver that never failed). */
  const allStreamedOnce = async () => {
    await until('every audit entry at the receiver', async () => firstCopies(receiver.stored).length === (await auditCount()));
    expect(receiver.stored.map((e) => e.id)).toEqual(firstCopies(receiver.stored).map((e) => e.id));
    expectChainVerifies(receiver.stored);
  };

  it('runs a request made on one replica and approved on the other through grant, expiry and revoke, once', async () => {
    // Both at once: the migrations are applied once, under the advisory lock, while the other waits.
    const [a, b] = [await startReplica(), await startReplica()];
    await Promise.all([untilReady(a.process, a.port), untilReady(b.process, b.port)]);
    db = await openPgDatabase(database.url, { migrate: false, maxConnections: 2 });
    for (const r of [a, b]) expect(await readiness(r)).toEqual({ status: 200, body: { ready: true, checks: { postgres: 'ok', redis: 'ok', policy: 'ok' } } });

    const sent = await a.signer.command('request lab admin 3s checking the PostgreSQL store', { user: PEOPLE.engineer });
    const reply = await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the reply to the request');
    const id = /`R(\d+)`/.exec(String(reply.text))?.[1];
    expect(id, String(reply.text)).toBeDefined();
    await slack.waitFor(() => slack.callsTo('chat.postMessage').find((c) => JSON.stringify(c.blocks ?? '').includes('approve_request')), 'the approval card');
    // The click reaches the other replica: everything it needs is in the shared database.
    expect((await b.signer.click(PEOPLE.lead1, 'approve_request', `R${id}`)).status).toBe(200);
    await until('the grant', async () => (await grantState(Number(id))) === 'active');
    await until('the expiry', async () => (await grantState(Number(id))) === 'expired');

    const actions = (await rows<{ action: string }>('SELECT action FROM audit_log WHERE request_id = $1 ORDER BY id', [`R${id}`])).map((r) => r.action);
    expect(actions.filter((x) => x === 'grant.activated')).toHaveLength(1);
    expect(actions.filter((x) => x === 'grant.expired')).toHaveLength(1);
    expect(actions).toContain('request.approved');
    expect(await verifyPgAuditChain(db)).toMatchObject({ ok: true, entries: await auditCount() });
    expect(existsSync(join(dir, 'never'))).toBe(false);

    await allStreamedOnce();
    expect(streamers()).toHaveLength(1);
  }, 90_000);

  it('answers /readyz 503 while PostgreSQL refuses connections and 200 again once it accepts them', async () => {
    const [a] = replicas;
    if (a === undefined) throw new Error('the first test starts the replicas');
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]);
      const down = await until('/readyz to fail', async () => {
        const answer = await readiness(a);
        return answer.status === 503 ? answer : null;
      });
      expect(down.body.checks.postgres).toBe(`PostgreSQL at postgres://127.0.0.1:5432/${database.name} does not answer; check that the server is running and that DATABASE_URL's host and port reach it`);
      expect(down.body.checks.redis).toBe('ok');
    } finally {
      await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await until('/readyz to pass again', async () => (await readiness(a)).status === 200);
    db = await openPgDatabase(database.url, { migrate: false, maxConnections: 2 });
  }, 60_000);

  it('hands the stream over when its replica stops, continuing from the shared cursor without resending', async () => {
    const holder = streamers()[0];
    const other = replicas.find((r) => r !== holder);
    if (holder === undefined || other === undefined) throw new Error('the first test starts the replicas');
    holder.process.child.kill('SIGTERM');
    expect(await holder.process.exited(), holder.process.output().slice(-6_000)).toBe(0);
    await until('the other replica to stream', () => other.process.output().includes(STREAMS_NOW));

    const sent = await other.signer.command('request lab admin 3s after the hand-over', { user: PEOPLE.engineer });
    await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], 'the reply to the second request');
    await allStreamedOnce();

    other.process.child.kill('SIGTERM');
    expect(await other.process.exited(), other.process.output().slice(-6_000)).toBe(0);
    expect(everyOutput()).not.toContain(PASSWORD);
  }, 60_000);
});

describe('sesame start with a DATABASE_URL it cannot use', () => {
  const base = { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'xoxb-pg-config-test', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: 'http://127.0.0.1:9/api/', LOG_LEVEL: 'info' };
  const fatal = async (url: string) => {
    const p = spawnSesame(['start'], { ...base, PORT: String(await freePort()), DATABASE_URL: url });
    expect(await p.exited()).toBe(1);
    expect(p.output()).not.toContain(PASSWORD);
    return p.output().trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
  };

  it('refuses another scheme, and a server that does not answer, in one sentence each without the password', async () => {
    expect(await fatal(`mysql://root:${PASSWORD}@127.0.0.1/sesame`)).toEqual([
      'DATABASE_URL must be a postgres:// or postgresql:// URL, like postgres://db.example:5432/sesame (leave it empty to use SQLite at DATABASE_PATH).',
    ]);
    const port = await freePort();
    const [unreachable, ...rest] = await fatal(`postgres://sesame:${PASSWORD}@127.0.0.1:${port}/sesame`);
    expect(unreachable).toMatch(new RegExp(`^Cannot reach PostgreSQL at postgres://127\\.0\\.0\\.1:${port}/sesame \\(.*\\); check DATABASE_URL's host and port, and that the server is running and accepts connections\\.$`));
    expect(rest).toEqual([]);
  }, 60_000);
});
