// Opens the store the configuration names: SQLite at DATABASE_PATH (one process) or PostgreSQL at DATABASE_URL (replicas).
import type { ChainHeadSource } from '../audit-anchor.ts';
import type { AuditStreamSource } from '../audit-stream.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import { redactUrl } from '../core/redact.ts';
import { errorMessage } from '../core/retry.ts';
import { LOST_RACE, type TransactionPort } from '../core/store-port.ts';
import { AuditStreamCursor } from './audit-stream-cursor.ts';
import { checkpointInBackground } from './checkpointer.ts';
import { lockInstance, openDatabase } from './db.ts';
import { pgChainHead } from './pg/audit.ts';
import { PgAuditStreamCursor } from './pg/audit-stream-cursor.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from './pg/db.ts';
import { pgWriteProblem } from './pg/health.ts';
import { PgStore } from './pg/store.ts';
import { SqliteStore } from './repositories.ts';

/**
 * Connections the PostgreSQL pool keeps at most. A transaction waiting for the write lock (pg_advisory_xact_lock)
 * holds its connection while it waits, so a burst of writers could take them all; 20 leaves reads room beside
 * the usual few writers, and two or three replicas stay far below PostgreSQL's default max_connections (100).
 */
export const PG_POOL_SIZE = 20;

/** How often the readiness write probe may really run (a commit), however often /readyz is asked: it is unauthenticated. */
const PROBE_EVERY_MS = 1_000;
/** How long the readiness check waits for the database before it counts as not answering. */
const READINESS_TIMEOUT_MS = 2_000;

export interface OpenedStore {
  kind: 'sqlite' | 'postgres';
  store: SqliteStore | PgStore;
  /** The database in words for sentences: the SQLite path, or the URL without its password. */
  where: string;
  /** Several replicas may share it (PostgreSQL); SQLite is held by one process (its instance lock). */
  shared: boolean;
  chainHead: ChainHeadSource;
  streamCursor: AuditStreamSource;
  /** Calls `listener` when audit entries may have been written by this process (SQLite: inside the transaction). */
  onAppend(listener: () => void): () => void;
  /** 'ok', or the sentence /readyz shows: the database does not answer, or does not take a write. */
  readiness(): Promise<string>;
  close(): Promise<void>;
}

/**
 * SQLite: the instance lock first (throws InstanceLockError with a sentence), the file and its migrations, the
 * background checkpointer. PostgreSQL: a pool, the migrations (once across replicas starting together), no
 * instance lock (several replicas is the point); throws PgDatabaseError with a sentence without the password.
 */
export async function openStore(config: Config, policySha256: () => string, log: Logger): Promise<OpenedStore> {
  return config.databaseUrl === undefined ? openSqliteStore(config.databasePath, policySha256, log) : openPostgresStore(config.databaseUrl, policySha256, log);
}

function openSqliteStore(path: string, policySha256: () => string, log: Logger): OpenedStore {
  const instance = lockInstance(path);
  let db;
  try {
    db = openDatabase(path);
  } catch (error) {
    instance.release();
    throw error;
  }
  const checkpoints = checkpointInBackground(db.$client, { onProblem: (problem) => log.warn({ problem }, 'background SQLite checkpoint failed') });
  const store = new SqliteStore(db, policySha256);
  const probe = throttled(() => store.writeProblem());
  return {
    kind: 'sqlite',
    store,
    where: path,
    shared: false,
    chainHead: store.auditLog,
    streamCursor: new AuditStreamCursor(db.$client),
    onAppend: (listener) => store.auditLog.onAppend(listener),
    async readiness() {
      if (!(await store.ping())) return `the database at ${path} does not answer`;
      const problem = await probe();
      return problem === null ? 'ok' : `the database at ${path} is not writable (${problem}); check the free disk space and that no other program holds a lock on it`;
    },
    async close() {
      await checkpoints.stop();
      db.$client.close();
      instance.release();
    },
  };
}

/** PgStore that tells this process's audit stream after every commit, as SQLite's AuditLog does after every append. */
class NotifyingPgStore extends PgStore {
  readonly committed = new Set<() => void>();

  override async transaction<T>(now: Date, body: (tx: TransactionPort) => Promise<T>): Promise<T | typeof LOST_RACE> {
    const result = await super.transaction(now, body);
    if (result !== LOST_RACE) for (const listener of this.committed) listener();
    return result;
  }
}

async function openPostgresStore(url: string, policySha256: () => string, log: Logger): Promise<OpenedStore> {
  const where = `PostgreSQL at ${redactUrl(url)}`;
  const db: PgDb = await openPgDatabase(url, {
    maxConnections: PG_POOL_SIZE,
    onIdleError: (error) => log.warn({ problem: errorMessage(error) }, 'an idle PostgreSQL connection failed (the server restarted?); the pool opens a new one'),
  });
  const store = new NotifyingPgStore(db, policySha256);
  const probe = throttled(() => pgWriteProblem(db));
  return {
    kind: 'postgres',
    store,
    where,
    shared: true,
    chainHead: { chainHead: () => pgChainHead(db) },
    streamCursor: new PgAuditStreamCursor(db),
    onAppend(listener) {
      store.committed.add(listener);
      return () => void store.committed.delete(listener);
    },
    async readiness() {
      const answered = await withinMs(store.ping(), READINESS_TIMEOUT_MS);
      if (answered !== true) return `${where} does not answer; check that the server is running and that DATABASE_URL's host and port reach it`;
      const problem = await withinMs(probe(), READINESS_TIMEOUT_MS);
      if (problem === undefined) return `${where} did not take a write within ${READINESS_TIMEOUT_MS / 1000} s; check the server's load and its locks`;
      return problem === null ? 'ok' : `${where} does not take writes (${problem}); check that DATABASE_URL names the primary (not a read-only standby) and the server's free disk space`;
    },
    close: () => closePgDatabase(db),
  };
}

/** Runs `probe` at most once per PROBE_EVERY_MS; between runs, the last answer. */
function throttled(probe: () => Promise<string | null>): () => Promise<string | null> {
  let last = { at: 0, problem: null as string | null };
  return async () => {
    if (Date.now() - last.at >= PROBE_EVERY_MS) last = { at: Date.now(), problem: await probe() };
    return last.problem;
  };
}

/** The promise's value, or undefined when it takes longer than `ms` (or fails). */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
