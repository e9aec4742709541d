// A separate process that races others on one database (SQLite file or PostgreSQL URL): moves a request out of `pending`, and appends audit entries.
import { openDatabase } from '../../src/store/db.ts';
import { closePgDatabase, isPostgresUrl, openPgDatabase } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { LOST_RACE, SqliteStore } from '../../src/store/repositories.ts';

const [dbPath, requestId, target, startAt, appends] = process.argv.slice(2);
const where = dbPath as string;
const pgDb = isPostgresUrl(where) ? await openPgDatabase(where, { migrate: false, maxConnections: 2 }) : undefined;
const store = pgDb ? new PgStore(pgDb, () => 'b'.repeat(64)) : new SqliteStore(openDatabase(where, { migrate: false }), () => 'b'.repeat(64));
const state = target as 'approved' | 'denied' | 'cancelled' | 'timed_out';

// Start together, so the transactions really overlap.
while (Date.now() < Number(startAt)) {
  /* spin */
}
const outcome = await store.transaction(new Date(), async (tx) => {
  if (!await tx.updateRequest(Number(requestId), 'pending', { state, decidedBy: `worker-${process.pid}` })) tx.abort();
  await tx.audit({ actor: `worker-${process.pid}`, action: 'request.denied', requestId: `R${requestId}`, details: { state } });
});
for (let i = 0; i < Number(appends); i++) await store.audit(new Date(), { actor: `worker-${process.pid}`, action: 'policy.loaded', details: { i } });
process.stdout.write(outcome === LOST_RACE ? 'lost' : 'won');
if (pgDb) await closePgDatabase(pgDb);
