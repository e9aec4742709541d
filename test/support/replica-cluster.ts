// Three real `sesame start` replicas on one temp PostgreSQL database and one private Redis, with a webhook sink, for fault tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { expect } from 'vitest';
import { openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { NOOP_PROVIDERS, PEOPLE, SIGNING_SECRET } from './e2e.ts';
import { FakeSlack } from './fake-slack.ts';
import { OwnRedis } from './own-redis.ts';
import { tempPgDatabase, type TempPgDatabase } from './pg-temp-db.ts';
import { aPolicyInput } from './policy-fixtures.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from './sesame-process.ts';
import { SlackSigner } from './signed-client.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

const HOOK_SECRET = 'three-replicas-hook-secret';

/** `hook-auto` is granted at once (tier low); `hook-approve` needs one approval from sre-leads (tier medium, off hours or not). */
export const AUTO = 'hook-auto';
export const APPROVE = 'hook-approve';
/** `hook-high` needs security, then two sre-leads (tier high). */
export const HIGH = 'hook-high';
/** An incident channel break-glass may be invoked from; `PEOPLE.oncall` is the one in `oncall` (break-glass's group). */
export const INCIDENT_CHANNEL = 'C0INC42';

export interface Replica {
  name: string;
  port: number;
  process: SesameProcess;
  signer: SlackSigner;
}

export class ReplicaCluster {
  readonly slack = new FakeSlack();
  readonly sink = new WebhookReceiver(HOOK_SECRET);
  readonly replicas: Replica[] = [];
  private readonly redis = new OwnRedis();
  private readonly dir = mkdtempSync(join(tmpdir(), 'sesame-three-'));
  private readonly everyProcess: SesameProcess[] = [];
  private database: TempPgDatabase | null = null;
  private pg: PgDb | null = null;

  async start(label: string, count = 3): Promise<this> {
    await this.redis.start();
    await this.slack.start();
    this.slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2]);
    this.slack.usergroups.set('S0ONCALL', []);
    this.slack.channels.set(INCIDENT_CHANNEL, { name: 'inc-42-db-down' });
    await this.sink.start();
    this.sink.message = undefined;
    this.database = await tempPgDatabase(label);
    const hook = { type: 'webhook', url: this.sink.url, secret_env: 'HOOK_SECRET' };
    const changes = { resources: { ...NOOP_PROVIDERS?.resources, [AUTO]: { tier: 'low', roles: ['use'], provider: hook }, [APPROVE]: { tier: 'medium', roles: ['use'], provider: hook }, [HIGH]: { tier: 'high', roles: ['use'], provider: hook } } } as Parameters<typeof aPolicyInput>[0];
    writeFileSync(join(this.dir, 'policy.yaml'), stringify(aPolicyInput(changes)));
    // One after the other: the first applies the migrations, under its advisory lock either way.
    for (let i = 0; i < count; i++) this.replicas.push(await this.launch(`r${i}`));
    this.pg = await openPgDatabase(this.database.url, { migrate: false, maxConnections: 2 });
    return this;
  }

  private async launch(name: string, port?: number): Promise<Replica> {
    const chosen = port ?? (await freePort());
    const process = spawnSesame(['start'], {
      PATH: globalThis.process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-three-replicas',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: this.slack.apiUrl,
      POLICY_PATH: join(this.dir, 'policy.yaml'),
      DATABASE_URL: this.database?.url,
      REDIS_URL: this.redis.url,
      RECONCILE_INTERVAL: '1s',
      HOOK_SECRET,
      PORT: String(chosen),
      LOG_LEVEL: 'info',
    });
    this.everyProcess.push(process);
    await untilReady(process, chosen);
    const signer = new SlackSigner(`http://127.0.0.1:${chosen}/slack/events`, SIGNING_SECRET, (id) => this.slack.responseUrl(id));
    return { name, port: chosen, process, signer };
  }

  /** Stops replica `i` (SIGTERM: graceful, exit 0 expected; SIGKILL: at once) and returns its exit code. */
  async stop(i: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null> {
    const replica = this.replicas[i] as Replica;
    replica.process.child.kill(signal);
    return replica.process.exited();
  }

  /** Starts replica `i` again on its port, as an orchestrator restarting a pod behind the same service. */
  async restart(i: number): Promise<void> {
    const old = this.replicas[i] as Replica;
    this.replicas[i] = await this.launch(old.name, old.port);
  }

  /** SIGSTOP (`freeze`) or SIGCONT (`thaw`) replica `i`: it keeps its connections open and does nothing, like a hung host. */
  signal(i: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    (this.replicas[i] as Replica).process.child.kill(signal);
  }

  /** The replica holding the sweeper lease now (its token is `host/pid/uuid`), or -1 when none does. */
  async sweeperHolder(): Promise<number> {
    const client = new Redis(this.redis.url, { maxRetriesPerRequest: 1 });
    const token = await client.get('sesame:lease:sweeper').finally(() => client.disconnect());
    const pid = Number(String(token ?? '').split('/')[1]);
    return this.replicas.findIndex((r) => r.process.child.pid === pid);
  }

  /** The private Redis, for tests that stop it, restart it or flush it under the replicas. */
  get ownRedis(): OwnRedis {
    return this.redis;
  }

  /** The replica whose process owns the local TCP port `callerPort` (the client side of a call it is making). */
  replicaCalling(callerPort: number): number {
    const listing = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${callerPort} )`], { encoding: 'utf8' });
    const pid = Number(/pid=(\d+)/.exec(listing)?.[1]);
    const i = this.replicas.findIndex((r) => r.process.child.pid === pid);
    if (i < 0) throw new Error(`no replica owns port ${callerPort}:\n${listing}`);
    return i;
  }

  async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await (this.pg as PgDb).$client.query(sql, params)).rows as T[];
  }

  /** Sink calls of `event` for grant `G<id>`. */
  callsFor(event: 'grant' | 'revoke', grantId: number): number {
    return this.sink.received.filter((r) => r.event === event && r.payload?.grant_id === `G${grantId}`).length;
  }

  /** Scenario 4, after every scenario: the chain verifies and no grant is left pending. */
  async expectSettled(): Promise<void> {
    const chain = await verifyPgAuditChain(this.pg as PgDb);
    expect(chain, JSON.stringify(chain)).toMatchObject({ ok: true });
    expect(await this.rows('SELECT id, state FROM grants WHERE state = $1', ['pending'])).toEqual([]);
  }

  /** What replica `i` (its current process) has printed. */
  replicaOutput(i: number): string {
    return (this.replicas[i] as Replica).process.output();
  }

  output(): string {
    return this.everyProcess.map((p, i) => `--- process ${i} ---\n${p.output()}`).join('\n');
  }

  async until<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms: number): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}:\n${this.output().slice(-20_000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stopAll(): Promise<void> {
    for (const p of this.everyProcess) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(this.everyProcess.map((p) => p.exited()));
    await this.pg?.$client.end();
    await this.database?.drop();
    await this.redis.stop();
    await this.sink.stop();
    await this.slack.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
