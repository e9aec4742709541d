// Locks across Sesame replicas: SET NX PX with a token, renewed while held, freed by a Lua compare-and-delete.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { KeyedQueue } from '../core/keyed-queue.ts';
import type { KeyedSerializer, Logger } from '../core/ports.ts';
import { errorMessage } from '../core/retry.ts';
import { atMostEvery } from '../at-most-every.ts';

/** Deletes the key only while it still holds our token: a lock that expired and was taken by another stays theirs. */
export const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Extends the key only while it still holds our token. */
export const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** How long a lock outlives a holder that died without releasing it; the holder renews it every third of this. */
export const LOCK_TTL_MS = 10_000;
/** How long Redis may take to answer before a lock falls back to this process alone (break-glass must not wait on Redis). */
export const REDIS_REACH_MS = 1_000;

export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

/** The lock stayed with another replica until the deadline. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
}

/** The holder ran past its deadline, or Redis stopped confirming the lock; its signal was aborted. */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
}

/**
 * When each connection was last found down, until it is ready again: the next callers then fall back at once instead
 * of waiting. A frozen Redis keeps its socket "ready", so that one is tried again only after REDIS_RETRY_AFTER_MS.
 */
const knownDown = new WeakMap<Redis, number>();
const REDIS_RETRY_AFTER_MS = 5_000;

function markDown(redis: Redis): void {
  if (!knownDown.has(redis)) redis.once('ready', () => knownDown.delete(redis));
  knownDown.set(redis, Date.now());
}

/** `work`, or RedisUnreachableError when Redis is not connected now or does not answer within `ms`. */
export async function answered<T>(redis: Redis, ms: number, work: () => Promise<T>): Promise<T> {
  const downAt = knownDown.get(redis);
  if (downAt !== undefined && redis.status === 'ready' && Date.now() - downAt < REDIS_RETRY_AFTER_MS) throw new RedisUnreachableError('Redis did not answer a moment ago');
  if (redis.status !== 'ready') {
    // Just connecting (start-up): worth a short wait. Known to be down: not again for every call.
    const ready =
      !knownDown.has(redis) &&
      (await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), ms);
        const onReady = () => done(true);
        const done = (value: boolean) => {
          clearTimeout(timer);
          redis.off('ready', onReady);
          resolve(value);
        };
        redis.once('ready', onReady);
      }));
    if (!ready) {
      markDown(redis);
      throw new RedisUnreachableError(`Redis is not connected (${redis.status})`);
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnreachableError(`Redis did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), late]);
  } catch (error) {
    markDown(redis);
    throw error instanceof RedisUnreachableError ? error : new RedisUnreachableError(errorMessage(error));
  } finally {
    clearTimeout(timer);
  }
}

export interface RedisLocksOptions {
  /** A connection of the locks' own, with `enableOfflineQueue: false` so a Redis that is down fails at once. */
  redis: Redis;
  /** Namespaces the keys: `<prefix>:lock:<key>`. */
  prefix: string;
  log: Logger;
  /** @defaultValue LOCK_TTL_MS */
  ttlMs?: number;
  /** @defaultValue REDIS_REACH_MS */
  reachMs?: number;
}

export interface RedisLocks {
  /**
   * Runs `fn` while holding `key` in this process and in Redis, so no other replica runs work under the same key.
   * Waits (polling with backoff) at most `deadlineMs` for the lock, counted from this process's turn; `fn` must end
   * within the same deadline. When the deadline passes or Redis stops confirming the lock, `fn`'s signal is aborted,
   * the promise rejects (LockLostError) and the lock is freed: `fn` may go on, so it checks the signal before writing.
   * When Redis cannot be reached the work runs serialised in this process only, and a warning is logged.
   */
  withLock<T>(key: string, deadlineMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a lock in Redis adds to bounded work: its renewal, which may find the lock lost, and its release. */
interface HeldLock {
  renewEvery(lose: (why: string) => void): NodeJS.Timeout;
  release(): void;
}

/** Runs `fn` until it settles or `until`, when its signal is aborted and the promise rejects; with `held`, keeps that lock meanwhile. */
function bounded<T>(key: string, until: number, held: HeldLock | null, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController();
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(renewal);
      held?.release();
      settle();
    };
    const lose = (why: string) => {
      controller.abort(new LockLostError(why));
      finish(() => reject(new LockLostError(why)));
    };
    const deadline = setTimeout(() => lose(`work under the lock ${key} ran past its deadline and was stopped; it will be tried again`), Math.max(0, until - Date.now()));
    const renewal = held?.renewEvery(lose);
    fn(controller.signal).then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

export function createRedisLocks(options: RedisLocksOptions): RedisLocks {
  const { redis, log } = options;
  const ttlMs = options.ttlMs ?? LOCK_TTL_MS;
  const reachMs = options.reachMs ?? REDIS_REACH_MS;
  const local = new KeyedQueue();
  const warnNow = atMostEvery(60_000);

  const call = <T>(work: () => Promise<T>) => answered(redis, reachMs, work);

  /** True once `token` holds the key; false when `until` passed first. Throws RedisUnreachableError. */
  async function acquire(redisKey: string, token: string, until: number): Promise<boolean> {
    for (let backoff = 20; ; backoff = Math.min(backoff * 2, 250)) {
      if ((await call(() => redis.set(redisKey, token, 'PX', ttlMs, 'NX'))) === 'OK') return true;
      const left = until - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(left, backoff * (0.5 + Math.random())));
    }
  }

  /** The Redis lock `token` holds on `redisKey`: renewed while the work runs (or lost), freed when it ends. */
  const holding = (key: string, redisKey: string, token: string): HeldLock => {
    let confirmedAt = Date.now();
    return {
      renewEvery: (lose) =>
        setInterval(() => {
          call(() => redis.eval(RENEW_SCRIPT, 1, redisKey, token, String(ttlMs))).then(
            (renewed) => (renewed === 1 ? (confirmedAt = Date.now()) : lose(`the lock ${key} was taken over by another replica (this one was too slow to renew it); the work was stopped and will be tried again`)),
            () => Date.now() - confirmedAt >= ttlMs && lose(`Redis did not confirm the lock ${key} for ${ttlMs / 1000} s; the work was stopped so another replica cannot overlap it, and will be tried again`),
          );
        }, Math.max(10, Math.floor(ttlMs / 3))),
      release: () => void call(() => redis.eval(RELEASE_SCRIPT, 1, redisKey, token)).catch(() => undefined), // else it expires after ttlMs
    };
  };

  async function inRedis<T>(key: string, deadlineMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const until = Date.now() + deadlineMs;
    const redisKey = `${options.prefix}:lock:${key}`;
    const token = randomUUID();
    let acquired: boolean;
    try {
      acquired = await acquire(redisKey, token, until);
    } catch (error) {
      if (warnNow()) log.warn({ key, problem: errorMessage(error) }, 'Redis is unreachable for locks: work is serialised in this process only until it returns, so other replicas may overlap it');
      return bounded(key, until, null, fn);
    }
    if (!acquired) throw new LockTimeoutError(`another Sesame replica held the lock ${key} for longer than ${deadlineMs / 1000} s; try again, and if it keeps happening look at the other replicas' logs`);
    return bounded(key, until, holding(key, redisKey, token), fn);
  }

  return {
    // In this process first: its own callers queue here instead of polling Redis against each other.
    withLock: (key, deadlineMs, fn) => local.run(key, () => inRedis(key, deadlineMs, fn)),
  };
}

/**
 * Keyed work when this process is the only one on its database (SQLite, held by the instance lock): the turns are
 * taken in this process, with no Redis round trips, and each piece of work is still stopped at `deadlineMs`.
 */
export function localSerializer(deadlineMs: number): KeyedSerializer {
  const local = new KeyedQueue();
  const always = new AbortController().signal;
  return { run: (key, work) => (key === null ? work(always) : local.run(key, () => bounded(key, Date.now() + deadlineMs, null, work))) };
}

/** The KeyedSerializer port over Redis locks; `deadlineMs` bounds each piece of work (see RedisLocks.withLock). */
export function redisSerializer(locks: RedisLocks, deadlineMs: number): KeyedSerializer {
  const always = new AbortController().signal;
  return { run: (key, work) => (key === null ? work(always) : locks.withLock(key, deadlineMs, work)) };
}
