// Racing transitions: a conditional update lets exactly one of several concurrent writers win.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/store/audit.ts';
import { LOST_RACE, SqliteStore } from '../../src/store/repositories.ts';
import type { RequestRow } from '../../src/store/schema.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('../support/race-worker.ts', import.meta.url));
const now = new Date('2026-11-23T09:00:00Z');

async function insertPending(store: SqliteStore): Promise<RequestRow> {
  const row = await store.transaction(now, async (tx) =>
    await tx.insertRequest({ requester: 'U1', resource: 'sandbox', role: 'admin', tier: 'high', durationMs: 3_600_000, reason: 'r', tickets: [], state: 'pending', steps: [{ from: 'security', count: 1 }], rule: 'test', createdAt: now.getTime() }),
  );
  if (row === LOST_RACE) throw new Error('insert lost');
  return row;
}

describe('racing transitions', () => {
  let temp: TempDb;
  let store: SqliteStore;
  beforeEach(() => {
    temp = tempDb();
    store = new SqliteStore(temp.db, () => 'a'.repeat(64));
  });
  afterEach(() => temp.cleanup());

  it('lets a transition based on a stale read lose, and rolls back its audit entry', async () => {
    const request = await insertPending(store);
    const first = await store.transaction(now, async (tx) => {
      if (!await tx.updateRequest(request.id, 'pending', { state: 'cancelled' })) tx.abort();
      await tx.audit({ actor: 'U1', action: 'request.cancelled', requestId: `R${request.id}` });
      return 'cancelled';
    });
    const second = await store.transaction(now, async (tx) => {
      await tx.audit({ actor: 'sesame', action: 'request.timed_out', requestId: `R${request.id}` });
      if (!await tx.updateRequest(request.id, 'pending', { state: 'timed_out' })) tx.abort();
      return 'timed out';
    });
    expect(first).toBe('cancelled');
    expect(second).toBe(LOST_RACE);
    expect((await store.getRequest(request.id))?.state).toBe('cancelled');
    expect(temp.db.$client.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'request.timed_out'").get()).toEqual({ n: 0 });
  });

  it('lets exactly one of six processes move one request out of pending, and keeps the chain intact', async () => {
    const request = await insertPending(store);
    const targets = ['approved', 'denied', 'cancelled', 'timed_out', 'approved', 'denied'];
    const startAt = Date.now() + 2_500;
    const results = await Promise.all(
      targets.map((target) => run(process.execPath, ['--import', 'tsx', WORKER, temp.path, String(request.id), target, String(startAt), '50'], { cwd: fileURLToPath(new URL('../..', import.meta.url)) })),
    );
    const outcomes = results.map((r) => r.stdout.trim());
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'lost')).toHaveLength(5);
    const winner = targets[outcomes.indexOf('won')];
    expect((await store.getRequest(request.id))?.state).toBe(winner);
    expect(temp.db.$client.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'request.denied'").get()).toEqual({ n: 1 });
    // 6 processes × 50 concurrent appends, plus the one winning transition: every link intact.
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 301 });
  });
});

describe('state machine guard', () => {
  it('refuses, as a bug, a transition the state machine does not allow', async () => {
    const temp = tempDb();
    try {
      const store = new SqliteStore(temp.db, () => 'a'.repeat(64));
      const request = await insertPending(store);
      await expect(store.transaction(now, async (tx) => await tx.updateRequest(request.id, 'denied', { state: 'approved' }))).rejects.toThrow('bug: a request cannot go from denied to approved');
      expect((await store.getRequest(request.id))?.state).toBe('pending');
    } finally {
      temp.cleanup();
    }
  });
});
