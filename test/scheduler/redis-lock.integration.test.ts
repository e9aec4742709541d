// Redis locks between replicas, against the real Redis: no overlap, deadlines, a dead holder's lock, and Redis down.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/ports.ts';
import { createRedisLocks, localSerializer, LockLostError, redisSerializer, type RedisLocks } from '../../src/scheduler/redis-lock.ts';
import { freePort } from '../support/sesame-process.ts';
import { silentLogger } from '../support/fakes.ts';

const PREFIX = `sesame-lock-test-${randomUUID()}`;
const connections: Redis[] = [];

/** A connection as main.ts makes one for the locks: failing at once while Redis is away. */
function connect(port = 6379): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, db: 0, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 500 });
  redis.on('error', () => undefined);
  connections.push(redis);
  return redis;
}

/** A plain connection for the test itself, that waits for Redis to connect. */
function admin(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, db: 0 });
  connections.push(redis);
  return redis;
}

/** One replica's locks, on a connection of its own. */
const replica = (options: { ttlMs?: number; log?: Logger; port?: number } = {}): RedisLocks =>
  createRedisLocks({ redis: connect(options.port), prefix: PREFIX, log: options.log ?? silentLogger, ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts how many pieces of work are inside at once. */
function overlapMeter() {
  let inside = 0;
  let most = 0;
  let done = 0;
  return {
    async work(ms: number): Promise<void> {
      inside++;
      most = Math.max(most, inside);
      await sleep(ms);
      inside--;
      done++;
    },
    get most() {
      return most;
    },
    get done() {
      return done;
    },
  };
}

afterAll(async () => {
  const redis = admin();
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  for (const c of connections) c.disconnect();
});

describe('Redis locks across replicas', () => {
  it('never lets two replicas run work under one key at once, over several rounds', async () => {
    const [a, b] = [replica(), replica()];
    const meter = overlapMeter();
    const rounds = (locks: RedisLocks) =>
      Promise.all(Array.from({ length: 8 }, () => locks.withLock('shared', 10_000, () => meter.work(5 + Math.random() * 10))));
    await Promise.all([rounds(a), rounds(b), rounds(a)]);
    expect(meter.done).toBe(24);
    expect(meter.most).toBe(1);
  });

  it('lets different keys run side by side', async () => {
    const [a, b] = [replica(), replica()];
    const meter = overlapMeter();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = a.withLock('key-one', 10_000, async () => {
      await meter.work(0);
      await gate;
    });
    // Would wait for `first` forever (until its deadline) if the keys were one lock.
    await b.withLock('key-two', 10_000, () => meter.work(0));
    release();
    await first;
    expect(meter.done).toBe(2);
  });

  it('aborts a holder that runs past the deadline, rejects, and frees the lock for the next', async () => {
    const [a, b] = [replica(), replica()];
    let seen: AbortSignal | null = null;
    let wroteLate = false;
    const overrun = a.withLock('slow', 300, async (signal) => {
      seen = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      if (!signal.aborted) wroteLate = true;
    });
    await expect(overrun).rejects.toThrow(LockLostError);
    await expect(overrun).rejects.toThrow('ran past its deadline');
    expect((seen as AbortSignal | null)?.aborted).toBe(true);
    expect(wroteLate).toBe(false);
    // Freed at once (compare-and-delete), not after the lock's TTL: the next holder gets it well within its own deadline.
    expect(await b.withLock('slow', 2_000, async () => 'next')).toBe('next');
  });

  it('keeps a lock held past its TTL while the holder works (it is renewed)', async () => {
    const [a, b] = [replica({ ttlMs: 150 }), replica({ ttlMs: 150 })];
    const meter = overlapMeter();
    const long = a.withLock('renewed', 10_000, () => meter.work(600));
    await sleep(50);
    const second = b.withLock('renewed', 10_000, () => meter.work(0));
    await Promise.all([long, second]);
    expect(meter.most).toBe(1);
  });

  it('takes a lock whose holder died without releasing it once its PX has run out', async () => {
    const key = `${PREFIX}:lock:orphaned`;
    await admin().set(key, 'a-replica-that-was-killed', 'PX', 400);
    const setAt = Date.now();
    let ranAt = 0;
    await replica().withLock('orphaned', 5_000, async () => {
      ranAt = Date.now();
    });
    // Not before the dead holder's lock expired: running earlier would overlap whatever it was doing.
    expect(ranAt - setAt).toBeGreaterThanOrEqual(350);
  });

  it('gives up with a sentence when another replica holds the lock past the deadline', async () => {
    await admin().set(`${PREFIX}:lock:busy`, 'another-replica', 'PX', 5_000);
    let ran = false;
    await expect(
      replica().withLock('busy', 200, async () => {
        ran = true;
      }),
    ).rejects.toThrow(/^another Sesame replica held the lock busy for longer than 0.2 s; try again/);
    expect(ran).toBe(false);
  });

  it('falls back to serialising in this process when Redis cannot be reached, and says so', async () => {
    const warnings: string[] = [];
    const log: Logger = { ...silentLogger, warn: (_fields, message) => void warnings.push(message) };
    const nobody = await freePort(); // nothing listens there
    const locks = replica({ log, port: nobody });
    const meter = overlapMeter();
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => locks.withLock('offline', 10_000, async () => (await meter.work(5), i))));
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(meter.most).toBe(1);
    expect(warnings).toContain('Redis is unreachable for locks: work is serialised in this process only until it returns, so other replicas may overlap it');
  });

  it('serves the KeyedSerializer port: a null key is not queued, a key is locked', async () => {
    const serializer = redisSerializer(replica(), 10_000);
    const meter = overlapMeter();
    await Promise.all([serializer.run(null, () => meter.work(30)), serializer.run(null, () => meter.work(30))]);
    expect(meter.most).toBe(2);
    const locked = overlapMeter();
    await Promise.all([serializer.run('k', () => locked.work(10)), redisSerializer(replica(), 10_000).run('k', () => locked.work(10))]);
    expect(locked.most).toBe(1);
  });
});

describe('keyed work in the one process on a SQLite database', () => {
  it('takes turns per key, runs other keys beside it, and stops work past its deadline, freeing the key', async () => {
    const serializer = localSerializer(300);
    const meter = overlapMeter();
    await Promise.all([serializer.run('k', () => meter.work(50)), serializer.run('k', () => meter.work(50)), serializer.run('other', () => meter.work(50))]);
    expect(meter.most).toBe(2); // 'k' twice in turn, 'other' beside them
    let seen: AbortSignal | null = null;
    const overrun = serializer.run('k', async (signal) => {
      seen = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    });
    await expect(overrun).rejects.toThrow('work under the lock k ran past its deadline and was stopped; it will be tried again');
    expect((seen as AbortSignal | null)?.aborted).toBe(true);
    expect(await serializer.run('k', async () => 'next')).toBe('next');
  });
});
