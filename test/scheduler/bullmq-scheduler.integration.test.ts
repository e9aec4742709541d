// The BullMQ scheduler on real Redis: one job per grant, moved not duplicated, cancelled, fired into the core.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBullScheduler, type BullScheduler } from '../../src/scheduler/bullmq-scheduler.ts';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { deleteKeys } from '../support/e2e.ts';
import { silentLogger } from '../support/fakes.ts';
import { OwnRedis } from '../support/own-redis.ts';

const REDIS = 'redis://127.0.0.1:6379/0';

describe('BullMQ scheduler', () => {
  const prefix = `sesame-sched-${randomUUID()}`;
  let scheduler: BullScheduler;
  let h: Harness;
  let revokeQueue: Queue;

  beforeAll(async () => {
    h = await accessHarness();
    scheduler = createBullScheduler({ redisUrl: REDIS, prefix, log: silentLogger });
    scheduler.startWorkers(h.service);
    revokeQueue = new Queue('revoke', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
  });
  afterAll(async () => {
    await revokeQueue.close();
    await scheduler.close();
    await h.cleanup();
    await deleteKeys(`${prefix}:*`);
  });

  it('reports Redis as available once its probe connection is up', async () => {
    const until = Date.now() + 5_000;
    while (!(await scheduler.available()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await scheduler.available()).toBe(true);
  });

  it('re-creates lost revokes at once, and lost warnings once they are within the horizon', async () => {
    const warnQueue = new Queue('warn', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
    try {
      const now = Date.now();
      const near = { grantId: 9_001, at: new Date(now + 40 * 60_000), warnAt: new Date(now + 30 * 60_000) };
      const far = { grantId: 9_002, at: new Date(now + 3 * 3_600_000), warnAt: new Date(now + 3 * 3_600_000 - 600_000) };
      expect(await scheduler.ensureRevokes([near, far])).toBe(2);
      expect(await revokeQueue.getJob('revoke-G9001')).toBeDefined();
      expect(await revokeQueue.getJob('revoke-G9002')).toBeDefined();
      expect(await warnQueue.getJob('warn-G9001')).toBeDefined();
      expect(await warnQueue.getJob('warn-G9002')).toBeUndefined(); // a later sweep adds it
      // A lost warning alone comes back too, without touching the revoke.
      await (await warnQueue.getJob('warn-G9001'))?.remove();
      expect(await scheduler.ensureRevokes([near, far])).toBe(0);
      expect(await warnQueue.getJob('warn-G9001')).toBeDefined();
      await scheduler.cancelRevoke(9_001);
      await scheduler.cancelRevoke(9_002);
    } finally {
      await warnQueue.close();
    }
  });

  it('keeps one job per grant: a reschedule moves it instead of adding a second or being ignored', async () => {
    const soon = new Date(Date.now() + 60_000);
    const later = new Date(Date.now() + 120_000);
    await scheduler.scheduleRevoke(9001, soon, null);
    await scheduler.scheduleRevoke(9001, later, null);
    const jobs = (await revokeQueue.getDelayed()).filter((j) => j.id === 'revoke-G9001');
    expect(jobs).toHaveLength(1);
    expect((jobs[0]?.timestamp ?? 0) + (jobs[0]?.opts.delay ?? 0)).toBeGreaterThanOrEqual(later.getTime() - 1_000);
    await scheduler.cancelRevoke(9001);
    expect(await revokeQueue.getJob('revoke-G9001')).toBeUndefined();
  });

  it("schedules a new grant's revoke and warning as it goes live, and a later reschedule still moves both", async () => {
    const warnQueue = new Queue('warn', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
    const dueAt = (job: { timestamp: number; opts: { delay?: number } } | undefined) => (job?.timestamp ?? 0) + (job?.opts.delay ?? 0);
    try {
      const now = Date.now();
      await scheduler.scheduleRevoke(9_003, new Date(now + 3_600_000), new Date(now + 3_000_000), true);
      expect(dueAt(await revokeQueue.getJob('revoke-G9003'))).toBeGreaterThanOrEqual(now + 3_600_000 - 1_000);
      expect(dueAt(await warnQueue.getJob('warn-G9003'))).toBeGreaterThanOrEqual(now + 3_000_000 - 1_000);
      await scheduler.scheduleRevoke(9_003, new Date(now + 7_200_000), new Date(now + 6_600_000));
      expect((await revokeQueue.getDelayed()).filter((j) => j.id === 'revoke-G9003')).toHaveLength(1);
      expect(dueAt(await revokeQueue.getJob('revoke-G9003'))).toBeGreaterThanOrEqual(now + 7_200_000 - 1_000);
      expect(dueAt(await warnQueue.getJob('warn-G9003'))).toBeGreaterThanOrEqual(now + 6_600_000 - 1_000);
      await scheduler.cancelRevoke(9_003);
      expect(await revokeQueue.getJob('revoke-G9003')).toBeUndefined();
      expect(await warnQueue.getJob('warn-G9003')).toBeUndefined();
    } finally {
      await warnQueue.close();
    }
  });

  it('fires a due revocation into the core, which expires the grant', async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 60_000, reason: 'scheduler test' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    const grant = out.value.grant;
    h.clock.advance(61_000);
    await scheduler.scheduleRevoke(grant.id, new Date(Date.now() + 100), null);
    const until = Date.now() + 10_000;
    while ((await h.store.getGrant(grant.id))?.state === 'active' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect((await h.store.getGrant(grant.id))?.state).toBe('expired');
  });

  it('drops a job with a malformed payload and carries on', async () => {
    await revokeQueue.add('revoke', { grantId: 'not-a-number' }, { jobId: 'revoke-Gbroken', removeOnComplete: true });
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 60_000, reason: 'after a bad job' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    h.clock.advance(61_000);
    await scheduler.scheduleRevoke(out.value.grant.id, new Date(), null);
    const until = Date.now() + 10_000;
    while ((await h.store.getGrant(out.value.grant.id))?.state === 'active' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect((await h.store.getGrant(out.value.grant.id))?.state).toBe('expired');
    expect(await revokeQueue.getJob('revoke-Gbroken')).toBeUndefined();
  });

  it('drops a revoke job for a grant that does not exist instead of retrying it', async () => {
    await scheduler.scheduleRevoke(424242, new Date(), null);
    const until = Date.now() + 10_000;
    while ((await revokeQueue.getJob('revoke-G424242')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await revokeQueue.getJob('revoke-G424242')).toBeUndefined(); // completed and removed, not failed and kept
    expect(await revokeQueue.getFailedCount()).toBe(0);
  });

  it('warns when Redis may evict jobs (maxmemory-policy is not noeviction)', async () => {
    const lru = await new OwnRedis('allkeys-lru').start();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (_f: object, message: string) => void warnings.push(message) };
    const risky = createBullScheduler({ redisUrl: lru.url, prefix, log });
    try {
      const until = Date.now() + 10_000;
      while (!warnings.some((w) => w.includes('maxmemory-policy')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(warnings.find((w) => w.includes('maxmemory-policy'))).toContain('Redis maxmemory-policy is "allkeys-lru", not "noeviction"');
    } finally {
      await risky.close();
      await lru.stop();
    }
  });

  it('reports Redis as unavailable when it cannot connect', async () => {
    const down = createBullScheduler({ redisUrl: 'redis://127.0.0.1:1/0', prefix, log: silentLogger });
    try {
      expect(await down.available()).toBe(false);
    } finally {
      await down.close();
    }
  });
});
