// What several `sesame start` replicas coordinate through Redis: per-key locks, the sweeper lease, once-per-slot keys.
import { Redis } from 'ioredis';
import type { KeyedSerializer, Logger } from '../core/ports.ts';
import { errorMessage } from '../core/retry.ts';
import { createRedisLocks, redisSerializer } from './redis-lock.ts';
import { firstInSlot, RedisLease } from './redis-lease.ts';
import { redisOptions } from './redis-options.ts';

/**
 * How long one piece of keyed work (a grant or end sharing an access key, a user-group change) may hold its lock.
 * A backstop far above the provider deadline and its retries: a holder that dies frees the lock after LOCK_TTL_MS.
 */
export const KEYED_WORK_DEADLINE_MS = 5 * 60_000;

export interface ReplicaCoordination {
  /** Grants and ends sharing an access key, and changes to one Slack user group, one at a time across replicas. */
  serializer: KeyedSerializer;
  /** Held by the one replica that sweeps (reconciler) and sends the sweep's reminders. */
  sweeperLease: RedisLease;
  /** True for the first replica to ask in this slot; see firstInSlot. */
  firstInSlot(name: string, slotMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ReplicaCoordinationOptions {
  redisUrl: string;
  /** Namespaces the keys: `<prefix>:lock:…`, `<prefix>:lease:sweeper`, `<prefix>:once:…`. */
  prefix: string;
  log: Logger;
  /** @defaultValue LEASE_TTL_MS */
  leaseTtlMs?: number;
}

export function createReplicaCoordination(options: ReplicaCoordinationOptions): ReplicaCoordination {
  // Its own connection, failing at once while Redis is away: a lock must fall back within a second, not queue.
  const redis = new Redis({ ...redisOptions(options.redisUrl), maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
  redis.on('error', () => undefined);
  const locks = createRedisLocks({ redis, prefix: options.prefix, log: options.log });
  const sweeperLease = new RedisLease({
    redis,
    key: `${options.prefix}:lease:sweeper`,
    log: options.log,
    ...(options.leaseTtlMs === undefined ? {} : { ttlMs: options.leaseTtlMs }),
  });
  return {
    serializer: redisSerializer(locks, KEYED_WORK_DEADLINE_MS),
    sweeperLease,
    firstInSlot: (name, slotMs) => firstInSlot(redis, `${options.prefix}:once:${name}`, slotMs),
    async close() {
      await sweeperLease.release();
      redis.disconnect();
    },
  };
}

export interface ElectedSweeper {
  /** Takes part in the election; sweeps at once on becoming the holder, then every interval while it holds the lease. */
  start(): void;
  /** Stops sweeping and waits for the sweep in progress; the lease is freed by `ReplicaCoordination.close`. */
  stop(): Promise<void>;
}

/** Runs `sweep` on the lease holder only, so N replicas sweep as one (and one that dies is replaced within a lease). */
export function sweepWhileHolder(options: { lease: RedisLease; sweep: () => Promise<unknown>; intervalMs: number; log: Logger }): ElectedSweeper {
  const { lease, log } = options;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  const tick = () => {
    if (timer === null || !lease.isHolder() || running) return;
    running = options
      .sweep()
      .catch((error: unknown) => log.error({ problem: errorMessage(error) }, 'reconcile sweep failed; the next one retries'))
      .finally(() => {
        running = null;
      });
  };
  // A new holder sweeps at once (the first sweep after start, or a take-over) instead of waiting an interval.
  lease.onChange((holder) => {
    log.info({ holder }, holder ? 'this replica sweeps now (it holds the sweeper lease, or Redis is unreachable)' : 'another replica sweeps now (this one no longer holds the sweeper lease)');
    if (holder) tick();
  });
  return {
    start() {
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
      lease.start();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}

/** Runs the audit stream on the lease holder only, so N replicas on one database send each entry once (not N times). */
export function streamWhileHolder(options: { lease: RedisLease; streamer: { start(): void; stop(): Promise<void> }; log: Logger }): { start(): void; stop(): Promise<void> } {
  const { lease, streamer, log } = options;
  // Starts and stops one after another: a start while the last stop still waits on a POST would run two loops.
  let turn: Promise<void> = Promise.resolve();
  let active = false;
  const follow = (holder: boolean) => {
    turn = turn.then(async () => {
      if (!active) return;
      if (holder && lease.isHolder()) {
        log.info({}, 'this replica streams the audit log now (it holds the sweeper lease, or Redis is unreachable)');
        streamer.start();
      } else if (!holder) {
        await streamer.stop();
      }
    });
  };
  lease.onChange(follow);
  return {
    // The lease itself is started by the sweeper; a replica that already holds it streams at once.
    start() {
      active = true;
      if (lease.isHolder()) follow(true);
    },
    async stop() {
      active = false;
      await turn;
      await streamer.stop();
    },
  };
}
