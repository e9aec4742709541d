// Leader election across Sesame replicas: one holds an expiring Redis lease and renews it; when it dies another takes over.
import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/ports.ts';
import { answered, RELEASE_SCRIPT, RENEW_SCRIPT, REDIS_REACH_MS } from './redis-lock.ts';

/** How long a lease outlives a holder that stopped renewing it (SIGKILL, a frozen host); renewed every third of it. */
export const LEASE_TTL_MS = 15_000;

/**
 * Where a pid means this process's neighbours: the host name and the pid namespace (Linux). Two containers may share a
 * host name (host networking, a fixed `hostname:`) while each has its own pid 1; only the namespace tells them apart.
 * Null where it cannot be read: then no holder is ever judged gone early, and a lease simply runs out.
 */
const PID_SPACE: string | null = (() => {
  try {
    return `${hostname()}~${/\d+/.exec(readlinkSync('/proc/self/ns/pid'))?.[0] ?? ''}`;
  } catch {
    return null;
  }
})();

/** Tokens of the leases alive in this process: one of ours that is not here belongs to an earlier process with our pid. */
const liveTokens = new Set<string>();

/** Whether a holder's token (`host/pid/uuid`) names a process on this host that is gone, so the lease need not run out. */
function holderIsGone(token: string | null): boolean {
  const [host, pidText] = (token ?? '').split('/');
  const pid = Number(pidText);
  if (PID_SPACE === null || host !== PID_SPACE || !Number.isInteger(pid) || pid <= 0) return false;
  // Our own pid in our own namespace: an earlier lease of this very process, no longer alive here.
  if (pid === process.pid) return token !== null && !liveTokens.has(token);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface RedisLeaseOptions {
  redis: Redis;
  /** The Redis key, e.g. `sesame:lease:sweeper`. */
  key: string;
  log: Logger;
  /** @defaultValue LEASE_TTL_MS */
  ttlMs?: number;
  /** @defaultValue REDIS_REACH_MS */
  reachMs?: number;
}

/**
 * One lease, tried for and renewed every third of its TTL once `start`ed. While Redis cannot be reached it counts as
 * held by every replica: what the lease guards must then be safe to run twice, because never running it is worse.
 */
export class RedisLease {
  /** Host (with its pid namespace) and pid first, so an operator, and a neighbour on the same host, can tell who holds it. */
  readonly token = `${PID_SPACE ?? hostname()}/${process.pid}/${randomUUID()}`;
  private readonly ttlMs: number;
  private readonly reachMs: number;
  private confirmedUntil = 0;
  private redisDown = false;
  private holder = false;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners: ((holder: boolean) => void)[] = [];

  constructor(private readonly options: RedisLeaseOptions) {
    this.ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    this.reachMs = options.reachMs ?? REDIS_REACH_MS;
  }

  /** Whether this replica may act as the one holder now: its last renewal has not run out, or Redis is unreachable. */
  isHolder(): boolean {
    return this.redisDown || Date.now() < this.confirmedUntil;
  }

  /** Tells `listener` when this replica starts or stops holding the lease (Redis going away counts as starting). */
  onChange(listener: (holder: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Takes the lease if it is free (or its holder on this host is gone), renews it if ours; returns `isHolder()`. */
  acquire(): Promise<boolean> {
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Same as `acquire`: renewing is taking it again while it is ours. */
  renew(): Promise<boolean> {
    return this.acquire();
  }

  /** Tries now and then every third of the TTL, until `release`. */
  start(): void {
    if (this.timer) return;
    void this.acquire();
    this.timer = setInterval(() => void this.acquire(), Math.max(10, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing and frees the lease at once, so another replica need not wait for it to run out. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.refreshing;
    liveTokens.delete(this.token);
    const held = this.confirmedUntil > Date.now();
    this.confirmedUntil = 0;
    this.redisDown = false;
    this.changed();
    if (held) await answered(this.options.redis, this.reachMs, () => this.options.redis.eval(RELEASE_SCRIPT, 1, this.options.key, this.token)).catch(() => undefined);
  }

  private async refresh(): Promise<boolean> {
    const { redis, key } = this.options;
    const startedAt = Date.now();
    const call = <T>(work: () => Promise<T>) => answered(redis, this.reachMs, work);
    const take = async () => (await call(() => redis.set(key, this.token, 'PX', this.ttlMs, 'NX'))) === 'OK';
    liveTokens.add(this.token);
    try {
      let ours = (await call(() => redis.eval(RENEW_SCRIPT, 1, key, this.token, String(this.ttlMs)))) === 1 || (await take());
      if (!ours) {
        const current = await call(() => redis.get(key));
        if (current !== null && holderIsGone(current)) {
          await call(() => redis.eval(RELEASE_SCRIPT, 1, key, current));
          ours = await take();
        }
      }
      if (this.redisDown) this.options.log.warn({ lease: key }, 'Redis answers again: the lease decides again which replica does the once-only work');
      this.redisDown = false;
      this.confirmedUntil = ours ? startedAt + this.ttlMs : 0;
    } catch (error) {
      if (!this.redisDown) this.options.log.warn({ lease: key, problem: error instanceof Error ? error.message : String(error) }, 'Redis is unreachable: this replica acts as the lease holder until it returns (other replicas may too)');
      this.redisDown = true;
    }
    this.changed();
    return this.isHolder();
  }

  private changed(): void {
    const holder = this.isHolder();
    if (holder === this.holder) return;
    this.holder = holder;
    for (const listener of this.listeners) listener(holder);
  }
}

/**
 * True for the first replica to ask in this slot of `slotMs` (a `SET NX` once-key, e.g. `anchor:<slot>`), false for
 * the others; true when Redis cannot be reached, since doing it twice beats not doing it.
 */
export async function firstInSlot(redis: Redis, key: string, slotMs: number, now: number = Date.now(), reachMs: number = REDIS_REACH_MS): Promise<boolean> {
  const slot = Math.floor(now / slotMs);
  try {
    return (await answered(redis, reachMs, () => redis.set(`${key}:${slot}`, `${hostname()}/${process.pid}`, 'PX', 2 * slotMs, 'NX'))) === 'OK';
  } catch {
    return true;
  }
}
