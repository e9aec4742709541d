// Opens the PostgreSQL store for `sesame start`: the pool, its migrations, readiness and the audit stream's hooks.
import type { Logger } from '../../core/ports.ts';
import { redactUrl } from '../../core/redact.ts';
import { errorMessage } from '../../core/retry.ts';
import { LOST_RACE, type TransactionPort } from '../../core/store-port.ts';
import { PG_POOL_SIZE, type OpenedStore } from '../open-store.ts';
import { READINESS_TIMEOUT_MS, throttled, withinMs } from '../readiness-probe.ts';
import { pgChainHead } from './audit.ts';
import { PgAuditStreamCursor } from './audit-stream-cursor.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from './db.ts';
import { pgWriteProblem } from './health.ts';
import { PgStore } from './store.ts';

/** PgStore that tells this process's audit stream after every commit, as SQLite's AuditLog does after every append. */
class NotifyingPgStore extends PgStore {
  readonly committed = new Set<() => void>();

  override async transaction<T>(now: Date, body: (tx: TransactionPort) => Promise<T>): Promise<T | typeof LOST_RACE> {
    const result = await super.transaction(now, body);
    if (result !== LOST_RACE) for (const listener of this.committed) listener();
    return result;
  }
}

export async function openPostgresStore(url: string, policySha256: () => string, log: Logger): Promise<OpenedStore> {
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

