// Whether the PostgreSQL store can serve: its migrations applied, and a short committed write taken now.
import { errorMessage } from '../../core/retry.ts';
import type { PgDb } from './db.ts';

/** How long the write probe may wait for a lock or run; /readyz must answer quickly whatever holds the database. */
const PROBE_TIMEOUT_MS = 1_000;

export { shippedPgMigrationCount } from './db.ts';

/**
 * Null when the database takes a write now, else why not (a read-only standby, default_transaction_read_only, a
 * full disk, a server that stopped answering). A transaction that is given a transaction id (so COMMIT writes and
 * flushes its WAL record) and runs an UPDATE (refused at once when read-only; it matches no row, so changes nothing).
 * It does not take Sesame's write lock: a probe must not queue behind a burst of grants.
 */
export async function pgWriteProblem(db: PgDb): Promise<string | null> {
  let client;
  try {
    client = await db.$client.connect();
  } catch (error) {
    return errorMessage(error);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = ${PROBE_TIMEOUT_MS}`);
    await client.query(`SET LOCAL lock_timeout = ${PROBE_TIMEOUT_MS}`);
    await client.query('SELECT txid_current()');
    await client.query('UPDATE audit_stream_cursor SET updated_at = updated_at WHERE false');
    await client.query('COMMIT');
    return null;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))));
    return errorMessage(error);
  } finally {
    // A connection whose ROLLBACK failed is dropped rather than handed out again mid-transaction.
    client.release(broken);
  }
}
