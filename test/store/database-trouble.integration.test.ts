// SQLite trouble: /readyz tells a database that refuses writes (another program holds a lock) from a healthy one, and a
// reconcile sweep that cannot read the database is logged, not fatal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/scheduler/reconciler.ts';
import { sqliteAccessHarness } from '../support/access-harness.ts';
import { onPostgres } from '../support/store-factories.ts';
import { onSqlite, startE2E, type E2E } from '../support/e2e.ts';
import { silentLogger } from '../support/fakes.ts';
import { lockInAnotherProcess } from '../support/sqlite-locker.ts';

// SQLite only: a lock held by another program and SQLite's readiness check (PostgreSQL's is in test/process/postgres-replicas).
describe.skipIf(onPostgres)('database trouble', () => {
  let e: E2E;
  let base: string;
  beforeAll(async () => {
    e = await startE2E();
    base = `http://127.0.0.1:${e.sesame.port}`;
  });
  afterAll(() => e.stop());

  const readiness = async () => {
    const res = await fetch(`${base}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };

  it('reports the database as not writable while another connection holds an exclusive lock, and ok after', async () => {
    const path = onSqlite(e.sesame).store.db.$client.name;
    expect((await readiness()).body.checks.sqlite).toBe('ok');
    // A batch still open when the other program asks for the lock (the flake this once was) commits before it is held.
    const openBatch = onSqlite(e.sesame).store.transaction(new Date(), () => Promise.resolve('committed'));
    const lock = await lockInAnotherProcess(path);
    try {
      expect(await openBatch).toBe('committed');
      // The probe runs at most once a second, so the lock shows within about a second.
      let locked = await readiness();
      for (const until = Date.now() + 10_000; locked.status === 200 && Date.now() < until; locked = await readiness()) await new Promise((r) => setTimeout(r, 100));
      expect(locked.status).toBe(503);
      expect(locked.body.checks.sqlite).toBe(`the database at ${path} is not writable (database is locked); check the free disk space and that no other program holds a lock on it`);
    } finally {
      await lock.release();
    }
    let after = await readiness();
    for (const until = Date.now() + 10_000; after.status !== 200 && Date.now() < until; after = await readiness()) await new Promise((r) => setTimeout(r, 100));
    expect(after).toMatchObject({ status: 200, body: { checks: { sqlite: 'ok' } } });
  });
});

// SQLite only: closes the SQLite handle under the store (the PostgreSQL pool's errors are store-contract tests).
describe.skipIf(onPostgres)('a reconcile sweep on a broken database', () => {
  it('logs the failure and keeps the process alive (no unhandled rejection from the timer)', async () => {
    const h = await sqliteAccessHarness();
    const errors: string[] = [];
    const reconciler = createReconciler({ store: h.store, access: h.service, scheduler: h.scheduler, clock: h.clock, log: { ...silentLogger, error: (_f, message) => void errors.push(message) }, intervalMs: 60_000 });
    h.temp.db.$client.close();
    reconciler.start();
    const until = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await reconciler.stop();
    expect(errors).toEqual(['reconcile sweep failed; the next one retries']);
    await h.cleanup();
  });
});
