// Racing transitions: a conditional update lets exactly one of several concurrent writers win.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOST_RACE, type StorePort } from '../../src/core/store-port.ts';
import type { RequestRecord } from '../../src/core/records.ts';
import { testStoreFactory, type OpenedStore } from '../support/store-factories.ts';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('../support/race-worker.ts', import.meta.url));
const now = new Date('2026-11-23T09:00:00Z');

async function insertPending(store: StorePort): Promise<RequestRecord> {
  const row = await store.transaction(now, async (tx) =>
    await tx.insertRequest({ requester: 'U1', resource: 'sandbox', role: 'admin', tier: 'high', durationMs: 3_600_000, reason: 'r', tickets: [], state: 'pending', steps: [{ from: 'security', count: 1 }], rule: 'test', createdAt: now.getTime() }),
  );
  if (row === LOST_RACE) throw new Error('insert lost');
  return row;
}

describe('racing transitions', () => {
  let opened: OpenedStore;
  let store: StorePort;
  beforeEach(async () => {
    opened = await testStoreFactory.open();
    store = opened.store;
  });
  afterEach(() => opened.close());

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
    expect(await opened.sql.get("SELECT count(*) AS n FROM audit_log WHERE action = 'request.timed_out'")).toEqual({ n: 0 });
  });

  it('lets exactly one of six processes move one request out of pending, and keeps the chain intact', async () => {
    const request = await insertPending(store);
    const targets = ['approved', 'denied', 'cancelled', 'timed_out', 'approved', 'denied'];
    const startAt = Date.now() + 2_500;
    const results = await Promise.all(
      targets.map((target) => run(process.execPath, ['--import', 'tsx', WORKER, opened.location, String(request.id), target, String(startAt), '50'], { cwd: fileURLToPath(new URL('../..', import.meta.url)) })),
    );
    const outcomes = results.map((r) => r.stdout.trim());
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'lost')).toHaveLength(5);
    const winner = targets[outcomes.indexOf('won')];
    expect((await store.getRequest(request.id))?.state).toBe(winner);
    expect(await opened.sql.get("SELECT count(*) AS n FROM audit_log WHERE action = 'request.denied'")).toEqual({ n: 1 });
    // 6 processes × 50 concurrent appends, plus the one winning transition: every link intact.
    expect(await opened.verifyChain()).toMatchObject({ ok: true, entries: 301 });
  });
});

describe('state machine guard', () => {
  it('refuses, as a bug, a transition the state machine does not allow', async () => {
    const opened = await testStoreFactory.open();
    try {
      const { store } = opened;
      const request = await insertPending(store);
      await expect(store.transaction(now, async (tx) => await tx.updateRequest(request.id, 'denied', { state: 'approved' }))).rejects.toThrow('bug: a request cannot go from denied to approved');
      expect((await store.getRequest(request.id))?.state).toBe('pending');
    } finally {
      await opened.close();
    }
  });
});
