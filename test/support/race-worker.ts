// A separate process that races others on one SQLite file: moves a request out of `pending`, and appends audit entries.
import { openDatabase } from '../../src/store/db.ts';
import { LOST_RACE, SqliteStore } from '../../src/store/repositories.ts';

const [dbPath, requestId, target, startAt, appends] = process.argv.slice(2);
const store = new SqliteStore(openDatabase(dbPath as string, { migrate: false }), () => 'b'.repeat(64));
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
