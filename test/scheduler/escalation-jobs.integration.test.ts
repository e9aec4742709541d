// Escalation jobs on real Redis and SQLite: the job escalates once, outlives a restart, and a lost one is caught by the sweep.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBullScheduler, type BullScheduler } from '../../src/scheduler/bullmq-scheduler.ts';
import { createReconciler } from '../../src/scheduler/reconciler.ts';
import { deleteKeys } from '../support/e2e.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { silentLogger } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const realClock = { now: () => new Date() };
const MANAGER = 'U0MGR1';

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const policy = (escalateAfter: string) =>
  aLoadedPolicy({
    groups: { managers: { users: [MANAGER] } },
    tiers: { high: { approvals: [{ from: 'security', count: 1, escalate_after: escalateAfter, escalate_to: 'managers' }] as never } },
  });

describe('escalation jobs', () => {
  const prefix = `esc-${randomUUID()}`;
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const schedulers: BullScheduler[] = [];
  let h: Harness;

  const startScheduler = async () => {
    const scheduler = createBullScheduler({ redisUrl: 'redis://127.0.0.1:6379/0', prefix, log: silentLogger });
    schedulers.push(scheduler);
    expect(await scheduler.connected(5_000)).toBe(true);
    return scheduler;
  };
  const escalations = async () => (await h.sql.get("SELECT count(*) AS n FROM audit_log WHERE action = 'request.escalated'") as { n: number }).n;
  const requestProdWrite = async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: 3_600_000, reason: 'INC-9' });
    if (out.value?.kind !== 'pending') throw new Error('expected a pending request');
    return out.value.request.id;
  };

  beforeEach(async () => {
    const scheduler = await startScheduler();
    h = await accessHarness(policy('1s'), { scheduler, clock: realClock });
    scheduler.startWorkers(h.service);
  });
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.close();
    expect((await h.opened.verifyChain()).ok).toBe(true);
    // SQLite only: the tables-against-log replay has no PostgreSQL version yet.
    if (h.opened.verifyTables) expect(await h.opened.verifyTables()).toEqual([]);
    await h.cleanup();
  });
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    redis.disconnect();
  });

  it('escalates when its job falls due, once, and the sweep after it finds nothing to do', async () => {
    const id = await requestProdWrite();
    expect((await h.store.getRequest(id))?.escalatedStep).toBeNull();
    await until(async () => (await h.store.getRequest(id))?.escalatedStep === 0, 'the escalation job');
    const reconciler = createReconciler({ store: h.store, access: h.service, scheduler: schedulers[0] as BullScheduler, clock: realClock, log: silentLogger, intervalMs: 60_000 });
    expect((await reconciler.runOnce()).escalated).toBe(0);
    expect((await escalations())).toBe(1);
    expect(h.notifier.types()).toEqual(['request_pending', 'request_escalated']);
  });

  it('keeps the job across a restart: a new process escalates what the old one scheduled', async () => {
    h.setPolicy(policy('2s'));
    const id = await requestProdWrite();
    await (schedulers.shift() as BullScheduler).close(); // the process stops before the escalation is due
    const restarted = await startScheduler();
    restarted.startWorkers(h.service);
    await until(async () => (await h.store.getRequest(id))?.escalatedStep === 0, 'the escalation after the restart');
    expect((await escalations())).toBe(1);
  });

  it('escalates in the sweep when the job was lost, once', async () => {
    h.setPolicy(policy('1s'));
    const id = await requestProdWrite();
    await h.service.escalations.schedule({ ...(await h.store.getRequest(id) as NonNullable<Awaited<ReturnType<typeof h.store.getRequest>>>), escalateAt: Date.now() + 3_600_000 }); // the job moved far away, as good as lost
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await h.store.getRequest(id))?.escalatedStep).toBeNull();
    const reconciler = createReconciler({ store: h.store, access: h.service, scheduler: schedulers[0] as BullScheduler, clock: realClock, log: silentLogger, intervalMs: 60_000 });
    expect((await reconciler.runOnce()).escalated).toBe(1);
    expect((await reconciler.runOnce()).escalated).toBe(0);
    expect((await h.store.getRequest(id))?.escalatedStep).toBe(0);
    expect((await escalations())).toBe(1);
  });

  it('cancels the job with the request, and a decided request never escalates', async () => {
    const id = await requestProdWrite();
    expect((await h.service.cancel(id, PEOPLE.engineer)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1_500));
    const reconciler = createReconciler({ store: h.store, access: h.service, scheduler: schedulers[0] as BullScheduler, clock: realClock, log: silentLogger, intervalMs: 60_000 });
    expect((await reconciler.runOnce()).escalated).toBe(0);
    expect((await escalations())).toBe(0);
  });
});
