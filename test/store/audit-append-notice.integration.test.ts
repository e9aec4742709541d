// SQLite's audit log tells its listeners (the audit stream) of new entries only once their transaction commits.
import { afterEach, describe, expect, it } from 'vitest';
import { LOST_RACE } from '../../src/core/store-port.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';

let temp: TempDb | null = null;
afterEach(() => {
  temp?.cleanup();
  temp = null;
});

describe('append notices', () => {
  it('come after the commit, and never for entries rolled back', async () => {
    temp = tempDb();
    const store = new SqliteStore(temp.db, () => 'a'.repeat(64));
    const seen: number[] = [];
    // What the audit stream does when woken: read what is in the log now.
    store.auditLog.onAppend(() => seen.push((temp?.db.$client.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n));
    const aborted = await store.transaction(new Date(), async (tx) => {
      await tx.audit({ actor: 'U1', action: 'request.created' });
      await Promise.resolve(); // a chance for anything woken by the append to read before the rollback
      tx.abort();
    });
    expect(aborted).toBe(LOST_RACE);
    expect(seen).toEqual([]);
    await store.transaction(new Date(), async (tx) => {
      await tx.audit({ actor: 'U1', action: 'request.created' });
      await tx.audit({ actor: 'U1', action: 'request.cancelled' });
    });
    expect(seen).toEqual([2]); // once per transaction, after both entries are committed
  });
});
