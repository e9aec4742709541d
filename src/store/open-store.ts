// Opens the store the configuration names: SQLite at DATABASE_PATH (one process) or PostgreSQL at DATABASE_URL (replicas).
import type { ChainHeadSource } from '../audit-anchor.ts';
import type { AuditStreamSource } from '../audit-stream.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import { settlesWithin } from '../settles-within.ts';
import { AuditStreamCursor } from './audit-stream-cursor.ts';
import { checkpointInBackground } from './checkpointer.ts';
import { lockInstance, openDatabase } from './db.ts';
import type { PgStore } from './pg/store.ts';
import { throttled } from './readiness-probe.ts';
import { SqliteStore } from './repositories.ts';

/**
 * Connections the PostgreSQL pool keeps at most. A transaction waiting for the write lock (pg_advisory_xact_lock)
 * holds its connection while it waits, so a burst of writers could take them all; 20 leaves reads room beside
 * the usual few writers, and two or three replicas stay far below PostgreSQL's default max_connections (100).
 */
export const PG_POOL_SIZE = 20;

/** How long closing waits for the open batch of SQLite transactions to commit. */
const CLOSE_FLUSH_MS = 2_000;


export interface OpenedStore {
  kind: 'sqlite' | 'postgres';
  store: SqliteStore | PgStore;
  /** The database in words for sentences: the SQLite path, or the URL without its password. */
  where: string;
  /** Several replicas may share it (PostgreSQL); SQLite is held by one process (its instance lock). */
  shared: boolean;
  chainHead: ChainHeadSource;
  streamCursor: AuditStreamSource;
  /** Calls `listener` when audit entries may have been written by this process (SQLite: once their batch has committed). */
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
  // PostgreSQL's driver is loaded only when it is used: a SQLite deployment never loads it.
  if (config.databaseUrl === undefined) return openSqliteStore(config.databasePath, policySha256, log);
  return (await import('./pg/open-pg-store.ts')).openPostgresStore(config.databaseUrl, policySha256, log);
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
      // What the last transactions wrote is committed first; a body stuck on something else does not hold up shutdown.
      if (!(await settlesWithin(store.flush(), CLOSE_FLUSH_MS))) {
        log.warn({ waitedMs: CLOSE_FLUSH_MS }, 'a database transaction was still running at shutdown; the transactions not yet committed with it are not recorded (their requests fail and can be made again)');
        store.abandonOpenBatch();
      }
      await checkpoints.stop();
      db.$client.close();
      instance.release();
    },
  };
}
