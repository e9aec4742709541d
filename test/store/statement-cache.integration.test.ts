// Statements are compiled once per SQL text, and reusing one never leaks a mode or breaks a running iteration.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { grants, requests } from '../../src/store/schema.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';
import { onPostgres } from '../support/store-factories.ts';

// SQLite only: better-sqlite3's prepared-statement cache.
describe.skipIf(onPostgres)('statement cache', () => {
  let temp: TempDb;
  beforeEach(() => {
    temp = tempDb();
  });
  afterEach(() => temp.cleanup());

  it('returns the same compiled statement for the same SQL', () => {
    const client = temp.db.$client;
    expect(client.prepare('SELECT 1 AS one')).toBe(client.prepare('SELECT 1 AS one'));
    expect(client.prepare('SELECT 2 AS two')).not.toBe(client.prepare('SELECT 1 AS one'));
  });

  it('hands a reused statement back in the default mode, whatever its last caller set', () => {
    const client = temp.db.$client;
    expect(client.prepare('SELECT 1 AS one').raw().get()).toEqual([1]);
    expect(client.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 });
    expect(client.prepare('SELECT 1 AS one').pluck().get()).toBe(1);
    expect(client.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 });
  });

  it('gives a fresh statement while the cached one is still being iterated', () => {
    const client = temp.db.$client;
    client.exec('CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);');
    const seen: number[][] = [];
    for (const row of client.prepare('SELECT n FROM t ORDER BY n').iterate() as IterableIterator<{ n: number }>) {
      seen.push((client.prepare('SELECT n FROM t ORDER BY n').all() as { n: number }[]).map((r) => r.n).concat(row.n));
    }
    expect(seen).toEqual([[1, 2, 3, 1], [1, 2, 3, 2], [1, 2, 3, 3]]);
  });

  it('keeps drizzle queries right when the same statement runs again with other values', async () => {
    const store = new SqliteStore(temp.db, () => 'a'.repeat(64));
    const now = Date.now();
    const ids = await Promise.all([1, 2, 3].map((i) =>
      store.transaction(new Date(now), async (tx) => {
        const request = await tx.insertRequest({ requester: `U${i}`, resource: 'sandbox', role: 'admin', tier: 'low', durationMs: i * 1_000, reason: `r${i}`, tickets: [`T-${i}`], state: 'approved', steps: [], rule: 'r', createdAt: now });
        return (await tx.insertGrant({ requestId: request.id, user: `U${i}`, resource: 'sandbox', role: 'admin', provider: { type: 'noop' }, reason: `r${i}`, state: 'active', createdAt: now, startsAt: now, expiresAt: now + i })).id;
      }),
    ));
    expect(ids).toEqual([1, 2, 3]);
    expect(await store.getGrant(2)).toMatchObject({ user: 'U2', expiresAt: now + 2, provider: { type: 'noop' } });
    expect(await store.getRequest(3)).toMatchObject({ requester: 'U3', tickets: ['T-3'] });
    expect(temp.db.select().from(requests).all().map((r) => r.reason)).toEqual(['r1', 'r2', 'r3']);
    expect(temp.db.select({ id: grants.id }).from(grants).all()).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });
});
