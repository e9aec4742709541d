// The Scheduler port on BullMQ: one delayed job per grant (revoke-G17), per request timeout, reminder, escalation and window start.
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { AccessService } from '../core/access-service.ts';
import { grantRef, requestRef } from '../core/ids.ts';
import type { Logger, RevokeSchedule, Scheduler } from '../core/ports.ts';
import { createOutageLog } from './outage-log.ts';
import { startRedisHeartbeat } from './redis-heartbeat.ts';
import { redisOptions } from './redis-options.ts';
import { settlesWithin } from '../settles-within.ts';

export const QUEUES = { revoke: 'revoke', warn: 'warn', timeout: 'timeout', remind: 'remind', escalate: 'escalate', activate: 'activate' } as const;
type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const grantJob = z.object({ grantId: z.number().int().positive() });
const requestJob = z.object({ requestId: z.number().int().positive() });

/** Redis commands that take longer than this count as "Redis is down" instead of waiting in BullMQ's offline queue. */
const COMMAND_TIMEOUT_MS = 2_000;
/** How often Redis is asked for a PING; one unanswered for COMMAND_TIMEOUT_MS makes Redis count as down. */
const HEARTBEAT_MS = 1_000;
/** How long shutdown waits for running jobs (and then for the queues) before leaving them; SIGTERM allows 10 s in all. */
const CLOSE_DEADLINE_MS = 2_000;
/** setTimeout's ceiling (about 24.8 days); a fallback timer for a longer grant re-arms itself. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BullSchedulerOptions {
  redisUrl: string;
  /** Namespaces every key, so tests and several deployments can share one Redis. @defaultValue sesame */
  prefix?: string;
  log: Logger;
  /**
   * How far ahead a reconcile sweep re-creates lost "expiring soon" warnings; later ones are re-created by later
   * sweeps, so this must exceed the reconcile interval. @defaultValue 1 h
   */
  warnHorizonMs?: number;
}

export interface BullScheduler extends Scheduler {
  /** Starts the workers that call the core when jobs fall due. */
  startWorkers(access: AccessService): void;
  /** Grants currently guarded by an in-process timer because Redis was down when they were scheduled. */
  fallbackGrants(): number[];
  /** Resolves once Redis answers, or after `timeoutMs` (false) — so the start-up sweep does not find it merely still connecting. */
  connected(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export class SchedulerUnavailableError extends Error {
  override readonly name = 'SchedulerUnavailableError';
}

/**
 * BullMQ needs `noeviction`: under memory pressure any other policy may silently drop revocation jobs. False when
 * the connection dropped before Redis answered (the outage log says so): the check is then due on the next connect.
 */
async function warnUnlessNoEviction(redis: Redis, log: Logger, closing: () => boolean): Promise<boolean> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy !== 'noeviction') {
      log.warn({ maxmemoryPolicy: policy }, `Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis may drop revocation jobs. Set maxmemory-policy noeviction; until then only the reconciler guarantees revocations.`);
    }
  } catch {
    if (closing()) return true;
    if (redis.status !== 'ready') return false;
    log.warn({}, 'could not read Redis maxmemory-policy (CONFIG may be disabled); make sure it is "noeviction"');
  }
  return true;
}

// BullMQ refuses ":" in custom ids, and re-adding an existing id silently does nothing.
const jobIdOf = (kind: QueueName, ref: string) => `${kind}-${ref}`;
const JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: 1_000, attempts: 10, backoff: { type: 'exponential', delay: 1_000 } };

export function createBullScheduler(options: BullSchedulerOptions): BullScheduler {
  const { log } = options;
  const connection = redisOptions(options.redisUrl);
  const prefix = options.prefix ?? 'sesame';
  const warnHorizonMs = options.warnHorizonMs ?? 3_600_000;
  const queues = Object.fromEntries(Object.values(QUEUES).map((name) => [name, new Queue(name, { connection, prefix })])) as Record<QueueName, Queue>;
  // A separate connection that fails fast, to tell "Redis is down" without waiting on BullMQ's retries.
  const probe = new Redis({ ...connection, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
  const outage = createOutageLog(log, options.redisUrl, () => probe.status !== 'ready');
  // Connections cut by our own shutdown (one still mid-handshake rejects its database choice or ready check) are no outage.
  let closing = false;
  const connectionError = (source: string) => (error: Error) => {
    if (!closing) outage.error(source, error);
  };
  for (const queue of Object.values(queues)) queue.on('error', connectionError(`queue ${queue.name}`));
  probe.on('error', connectionError('probe'));
  probe.on('ready', () => outage.recovered());
  const checkEviction = () => void warnUnlessNoEviction(probe, log, () => closing).then((checked) => checked || probe.once('ready', checkEviction));
  probe.once('ready', checkEviction);
  const heartbeat = startRedisHeartbeat(connection, log, COMMAND_TIMEOUT_MS, HEARTBEAT_MS);
  probe.on('ready', () => heartbeat.markAnswering());
  const up = () => probe.status === 'ready' && heartbeat.answering();
  const workers: Worker[] = [];
  const fallbacks = new Map<number, NodeJS.Timeout>();
  let access: AccessService | null = null;

  /** Runs a Redis command, failing fast (instead of queueing forever) while Redis is away. */
  async function redis<T>(command: () => Promise<T>): Promise<T> {
    if (!up()) throw new SchedulerUnavailableError('Redis is unreachable');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SchedulerUnavailableError(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
    });
    try {
      return await Promise.race([command(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Puts (or moves) the one job of this id; an existing job is removed first, since re-adding would be ignored.
   * `first`: none can exist yet (a sweep that raced to re-create it used the same time), so no removal round trip.
   */
  async function put(kind: QueueName, ref: string, data: Record<string, number>, at: Date, first = false): Promise<void> {
    const queue = queues[kind];
    const jobId = jobIdOf(kind, ref);
    if (!first) {
      await redis(() => queue.remove(jobId)).catch((error: unknown) => {
        if (error instanceof SchedulerUnavailableError) throw error;
        return 0; // an active (locked) job cannot be removed; it re-reads the grant and does nothing if moved
      });
    }
    await redis(() => queue.add(kind, data, { ...JOB_OPTIONS, jobId, delay: Math.max(0, at.getTime() - Date.now()) }));
  }

  const remove = (kind: QueueName, ref: string) => redis(() => queues[kind].remove(jobIdOf(kind, ref))).catch(() => 0);

  /** Fail open with oversight: only break-glass reaches here with Redis down (routine requests are refused first). */
  function armFallback(grantId: number, at: Date): void {
    clearTimeout(fallbacks.get(grantId));
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - Date.now()));
    const timer = setTimeout(() => {
      fallbacks.delete(grantId);
      if (at.getTime() > Date.now()) return armFallback(grantId, at);
      void access?.expire(grantId).catch((error: unknown) => log.error({ grantId: grantRef(grantId), problem: String(error) }, 'fallback revoke failed; the reconciler will retry'));
    }, delay);
    timer.unref();
    fallbacks.set(grantId, timer);
    log.error({ grantId: grantRef(grantId), expiresAt: at.toISOString() }, 'REDIS IS DOWN: this grant is guarded by an in-process timer only; a restart before Redis returns delays its revoke until the reconciler runs');
  }

  function work(kind: QueueName, handle: (job: Job) => Promise<void>): Worker {
    const worker = new Worker(kind, handle, { connection, prefix, concurrency: 50, lockDuration: 10_000, stalledInterval: 5_000 });
    worker.on('error', (error) => outage.error(`worker ${kind}`, error));
    worker.on('failed', (job, error) => log.warn({ queue: kind, jobId: job?.id, problem: error.message }, 'job failed; BullMQ will retry it'));
    return worker;
  }

  const payload = <T>(schema: z.ZodType<T>, job: Job): T | null => {
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) log.error({ queue: job.queueName, jobId: job.id }, 'dropping a job with a malformed payload');
    return parsed.success ? parsed.data : null;
  };

  return {
    available: async () => up(),
    connected: (timeoutMs) =>
      probe.status === 'ready'
        ? Promise.resolve(true)
        : new Promise((resolve) => {
            const timer = setTimeout(() => resolve(probe.status === 'ready'), timeoutMs);
            probe.once('ready', () => {
              clearTimeout(timer);
              resolve(true);
            });
          }),

    async scheduleRevoke(grantId, at, warnAt, first = false) {
      try {
        await put(QUEUES.revoke, grantRef(grantId), { grantId }, at, first);
        clearTimeout(fallbacks.get(grantId));
        fallbacks.delete(grantId);
      } catch (error) {
        if (!(error instanceof SchedulerUnavailableError)) throw error;
        armFallback(grantId, at);
        return;
      }
      if (warnAt) await put(QUEUES.warn, grantRef(grantId), { grantId }, warnAt, first);
      else if (!first) await remove(QUEUES.warn, grantRef(grantId));
    },

    async ensureRevokes(schedules: RevokeSchedule[]) {
      if (schedules.length === 0) return 0;
      const now = Date.now();
      const keyOf = (kind: QueueName, grantId: number) => `${prefix}:${QUEUES[kind]}:${jobIdOf(kind, grantRef(grantId))}`;
      const pipeline = probe.pipeline();
      for (const s of schedules) pipeline.exists(keyOf('revoke', s.grantId)).exists(keyOf('warn', s.grantId));
      const exists = await redis(() => pipeline.exec());
      const present = (i: number) => exists?.[i]?.[1] === 1;
      const missing = schedules.filter((s, i) => !present(2 * i) || fallbacks.has(s.grantId));
      // A warning far off is left to a later sweep: after a flush that halves the jobs to re-add, and it still comes on time.
      const warnings = schedules.filter((s, i) => s.warnAt !== null && s.warnAt.getTime() > now && s.warnAt.getTime() <= now + warnHorizonMs && !present(2 * i + 1));
      const job = (kind: QueueName, grantId: number, at: Date) => ({ name: kind, data: { grantId }, opts: { ...JOB_OPTIONS, jobId: jobIdOf(kind, grantRef(grantId)), delay: Math.max(0, at.getTime() - Date.now()) } });
      if (missing.length > 0) await redis(() => queues.revoke.addBulk(missing.map((s) => job(QUEUES.revoke, s.grantId, s.at))));
      if (warnings.length > 0) await redis(() => queues.warn.addBulk(warnings.map((s) => job(QUEUES.warn, s.grantId, s.warnAt as Date))));
      for (const s of missing) {
        clearTimeout(fallbacks.get(s.grantId));
        fallbacks.delete(s.grantId);
      }
      return missing.length;
    },

    cancelRevoke: async (grantId) => {
      clearTimeout(fallbacks.get(grantId));
      fallbacks.delete(grantId);
      await Promise.all([remove(QUEUES.revoke, grantRef(grantId)), remove(QUEUES.warn, grantRef(grantId))]);
    },
    scheduleRequestTimeout: async (requestId, timeoutAt, remindAt) => {
      await put(QUEUES.timeout, requestRef(requestId), { requestId }, timeoutAt);
      if (remindAt) await put(QUEUES.remind, requestRef(requestId), { requestId }, remindAt);
    },
    scheduleEscalation: (requestId, at) => put(QUEUES.escalate, requestRef(requestId), { requestId }, at),
    cancelRequestJobs: async (requestId) => {
      await Promise.all([QUEUES.timeout, QUEUES.remind, QUEUES.escalate, QUEUES.activate].map((kind) => remove(kind, requestRef(requestId))));
    },
    scheduleActivation: (requestId, at) => put(QUEUES.activate, requestRef(requestId), { requestId }, at),
    fallbackGrants: () => [...fallbacks.keys()],

    startWorkers(service) {
      access = service;
      workers.push(
        work(QUEUES.revoke, async (job) => {
          const data = payload(grantJob, job);
          if (!data) return;
          const out = await service.expire(data.grantId);
          if (out.kind === 'unknown') log.error({ jobId: job.id }, 'dropping a revoke job for a grant that does not exist');
          if (out.kind === 'revoke_failed') throw new Error(out.problem);
        }),
        work(QUEUES.warn, async (job) => {
          const data = payload(grantJob, job);
          if (data) await service.grants.warnExpiring(data.grantId);
        }),
        work(QUEUES.timeout, async (job) => {
          const data = payload(requestJob, job);
          if (data) await service.timeOut(data.requestId);
        }),
        work(QUEUES.remind, async (job) => {
          const data = payload(requestJob, job);
          if (data) await service.remind(data.requestId);
        }),
        work(QUEUES.escalate, async (job) => {
          const data = payload(requestJob, job);
          if (data) await service.escalations.escalate(data.requestId);
        }),
        work(QUEUES.activate, async (job) => {
          const data = payload(requestJob, job);
          // Fired before the start by the clocks' difference: BullMQ retries it shortly rather than leaving it to the sweep.
          if (data && (await service.windows.activate(data.requestId)) === 'not_due') throw new Error('the window has not started yet');
        }),
      );
    },

    async close() {
      closing = true;
      for (const timer of fallbacks.values()) clearTimeout(timer);
      // A graceful worker close waits for Redis; with Redis away it would wait forever, and there is no job to finish.
      heartbeat.stop();
      const down = !up();
      const closed = await settlesWithin(Promise.all(workers.map((w) => w.close(down))), CLOSE_DEADLINE_MS);
      if (!closed) log.warn({ afterMs: CLOSE_DEADLINE_MS }, 'revocation jobs still running at shutdown were left to BullMQ, which retries them after the restart');
      await settlesWithin(Promise.all(Object.values(queues).map((q) => q.close())), CLOSE_DEADLINE_MS);
      probe.disconnect();
    },
  };
}
