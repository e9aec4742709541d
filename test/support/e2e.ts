// Runs the whole of Sesame (real Bolt over HTTP, real Redis, SQLite or PostgreSQL as SESAME_TEST_STORE says) against the fake Slack, for end-to-end tests.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { startSesame, type RunningSesame, type StartOptions } from '../../src/main.ts';
import type { PolicyInput } from '../../src/policy/schema.ts';
import { exportedEntry, type ExportedEntry, type VerifyResult } from '../../src/store/audit.ts';
import { verifyChainOf, verifyTablesOf } from '../../src/store/audit-checks.ts';
import { allRows, type HistoryReader } from '../../src/store/history-reader.ts';
import { PgHistory } from '../../src/store/pg/history.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { SqliteHistory } from '../../src/store/sqlite-history.ts';
import { FakeSlack } from './fake-slack.ts';
import { PEOPLE } from './access-harness.ts';
import { aPolicyInput } from './policy-fixtures.ts';
import { lendPgDatabase, type LentPgDatabase } from './pg-reused-db.ts';
import { SlackSigner } from './signed-client.ts';
import { onPostgres, pgSql, sqliteSql, type TestSql } from './store-factories.ts';

export const SIGNING_SECRET = 'e2e-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-e2e-bot-token';
export { PEOPLE };

/** Sesame on SQLite (no DATABASE_URL), whose tables the tests read directly. */
export type SqliteSesame = RunningSesame & { store: SqliteStore };

/** `running`, known to be on SQLite; throws otherwise (a test that reads SQLite tables needs SQLite). */
export function onSqlite(running: RunningSesame): SqliteSesame {
  if (!(running.store instanceof SqliteStore)) throw new Error('this test needs Sesame on SQLite; unset DATABASE_URL');
  return running as SqliteSesame;
}

export interface E2E {
  slack: FakeSlack;
  sesame: RunningSesame;
  signer: SlackSigner;
  /** Raw SQL on Sesame's database, for looking at (or tampering with) its tables; write it so both stores accept it. */
  sql: TestSql;
  /** The database as the read-only tools (audit verify, export, report) read it. */
  history: HistoryReader;
  /** Every audit action so far, in order. */
  auditActions(): Promise<string[]>;
  /** Recomputes the audit chain as `sesame audit verify` does. */
  verifyChain(): Promise<VerifyResult>;
  /** Every audit entry as `sesame audit export` writes it. */
  auditExport(): Promise<ExportedEntry[]>;
  stop(): Promise<void>;
}

type PolicyChanges = Parameters<typeof aPolicyInput>[0];

/** The example policy's resources with `noop` providers, so end-to-end tests exercise Sesame rather than a provider. */
export const NOOP_PROVIDERS = {
  resources: {
    'staging-db': { provider: { type: 'noop', connection_env: undefined, roles: undefined } },
    'prod-db': { provider: { type: 'noop', url: undefined, secret_env: undefined } },
    deployers: { provider: { type: 'noop', usergroup: undefined } },
  },
} as PolicyChanges;

export interface E2EOptions {
  redisUrl?: string;
  reconcileIntervalMs?: number;
  /** More environment, e.g. the secrets provider blocks name. */
  env?: Record<string, string>;
  /** Where Sesame logs; silent unless given. */
  log?: Logger;
  anchorIntervalMs?: number;
  /** Slack look-up cache; 0 (the default here) so tests see membership changes at once. */
  directoryTtlMs?: number;
  /** Redis key prefix; give the same one to a second start to play a restart. @defaultValue a fresh one */
  redisPrefix?: string;
  /** Where the database and policy live; give the same one to a second start to play a restart (the test removes it). @defaultValue a fresh one, removed at stop */
  dir?: string;
  /** More start options, e.g. a shorter audit stream backoff. */
  start?: Pick<StartOptions, 'auditStreamBackoff'>;
}

/** A given `dir`'s PostgreSQL database, kept for the file's later starts in that dir (a restart), as its SQLite file would be. */
const kept = new Map<string, LentPgDatabase>();

/** In the PostgreSQL pass each start gets an emptied database of this file's, as the SQLite pass gets a new file; a restart gets its dir's again. */
async function pgDatabaseFor(dir: string | undefined): Promise<{ url: string; release(): Promise<void> }> {
  if (dir === undefined) return lendPgDatabase();
  const database = kept.get(dir) ?? (await lendPgDatabase());
  kept.set(dir, database);
  // Not emptied at stop: the file's teardown drops it.
  return { url: database.url, release: async () => {} };
}

export async function startE2E(policyChanges: PolicyChanges = NOOP_PROVIDERS, options: E2EOptions = {}): Promise<E2E> {
  const slack = await new FakeSlack().start();
  slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
  slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
  slack.usergroups.set('S0DEPLOY', []);
  slack.channels.set('C0INC42', { name: 'inc-42-db-down' });
  slack.channels.set('C0GENERAL', { name: 'general' });

  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sesame-e2e-'));
  const database = onPostgres ? await pgDatabaseFor(options.dir) : undefined;
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, stringify(aPolicyInput(policyChanges) satisfies PolicyInput));
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    DATABASE_PATH: join(dir, 'sesame.db'),
    POLICY_PATH: policyPath,
    REDIS_URL: options.redisUrl ?? 'redis://127.0.0.1:6379/0',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  if (!config.ok) throw new Error(config.error.join('\n'));
  const prefix = options.redisPrefix ?? `sesame-e2e-${randomUUID()}`;
  const sesame = await startSesame({ ...config.value, port: 0, reconcileIntervalMs: options.reconcileIntervalMs ?? config.value.reconcileIntervalMs }, { log: options.log ?? pino({ level: 'silent' }), redisPrefix: prefix, retry: { attempts: 3, baseDelayMs: 5 }, watchPolicyFile: false, startupChecks: false, directoryTtlMs: options.directoryTtlMs ?? 0, ...options.start, ...(options.anchorIntervalMs ? { anchorIntervalMs: options.anchorIntervalMs } : {}) });
  const signer = new SlackSigner(`http://127.0.0.1:${sesame.port}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));

  const { store } = sesame;
  const sql = store instanceof SqliteStore ? sqliteSql(store.db.$client) : pgSql(store.db.$client);
  const history = store instanceof SqliteStore ? new SqliteHistory(store.db) : new PgHistory(store.db);

  return {
    slack,
    sesame,
    signer,
    sql,
    history,
    auditActions: async () => (await sql.all<{ action: string }>('SELECT action FROM audit_log ORDER BY id')).map((r) => r.action),
    verifyChain: () => verifyChainOf(history),
    async auditExport() {
      const entries: ExportedEntry[] = [];
      for await (const row of allRows((after, limit) => history.auditPage(after, limit))) entries.push(exportedEntry(row));
      return entries;
    },
    async stop() {
      // Read before stopping closes the database: whatever the test did through Slack, the tables are what the log says.
      const { mismatches } = await verifyTablesOf(history);
      await sesame.stop();
      await slack.stop();
      await database?.release();
      if (!options.redisUrl) await deleteKeys(`${prefix}:*`);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      if (mismatches.length > 0) throw new Error(`the tables differ from the audit log:\n${mismatches.map((m) => `${m.row}: ${m.problem}`).join('\n')}`);
    },
  };
}

/** Removes every Redis key matching `pattern` (database 0 unless `redisUrl` names another); tests use it to clean up their BullMQ prefix. */
export async function deleteKeys(pattern: string, redisUrl = 'redis://127.0.0.1:6379/0'): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}
