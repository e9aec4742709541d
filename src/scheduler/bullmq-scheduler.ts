// The Scheduler port on BullMQ: one delayed job per grant (revoke-G17), per request timeout and reminder.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { AccessService } from '../core/access-service.ts';
import { grantRef, requestRef } from '../core/ids.ts';
import type { Logger, Scheduler } from '../core/ports.ts';
import { redisOptions } from './redis-options.ts';

export const QUEUES = { revoke: 'revoke', warn: 'warn', timeout: 'timeout', remind: 'remind' } as const;
type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const grantJob = z.object({ grantId: z.number().int().positive() });
const requestJob = z.object({ requestId: z.number().int().positive() });

export interface BullSchedulerOptions {
  redisUrl: string;
  /** Namespaces every key, so tests and several deployments can share one Redis. @defaultValue sesame */
  prefix?: string;
  log: Logger;
}

export interface BullScheduler extends Scheduler {
  /** Starts the workers that call the core when jobs fall due. */
  startWorkers(access: AccessService): void;
  close(): Promise<void>;
}

// BullMQ refuses ":" in custom ids, and re-adding an existing id silently does nothing.
const jobIdOf = (kind: QueueName, ref: string) => `${kind}-${ref}`;

export function createBullScheduler(options: BullSchedulerOptions): BullScheduler {
  const connection = redisOptions(options.redisUrl);
  const prefix = options.prefix ?? 'sesame';
  const queues = Object.fromEntries(Object.values(QUEUES).map((name) => [name, new Queue(name, { connection, prefix })])) as Record<QueueName, Queue>;
  for (const queue of Object.values(queues)) queue.on('error', (error) => options.log.warn({ queue: queue.name, problem: error.message }, 'queue connection problem'));
  // A separate connection that fails fast, to tell "Redis is down" without waiting on BullMQ's retries.
  const probe = new Redis({ ...connection, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, lazyConnect: false });
  probe.on('error', () => undefined);
  const workers: Worker[] = [];

  /** Puts (or moves) the one job of this id; an existing delayed job is removed first, since re-adding would be ignored. */
  async function put(kind: QueueName, ref: string, data: Record<string, number>, at: Date): Promise<void> {
    const queue = queues[kind];
    const jobId = jobIdOf(kind, ref);
    await queue.remove(jobId).catch(() => 0);
    await queue.add(kind, data, { jobId, delay: Math.max(0, at.getTime() - Date.now()), removeOnComplete: true, removeOnFail: 1_000, attempts: 10, backoff: { type: 'exponential', delay: 1_000 } });
  }

  function work(kind: QueueName, handle: (job: Job) => Promise<void>): Worker {
    const worker = new Worker(kind, handle, { connection, prefix, concurrency: 50, lockDuration: 10_000, stalledInterval: 5_000 });
    worker.on('error', (error) => options.log.warn({ queue: kind, problem: error.message }, 'worker connection problem'));
    worker.on('failed', (job, error) => options.log.warn({ queue: kind, jobId: job?.id, problem: error.message }, 'job failed; BullMQ will retry it'));
    return worker;
  }

  return {
    available: async () => probe.status === 'ready',
    scheduleRevoke: async (grantId, at, warnAt) => {
      await put(QUEUES.revoke, grantRef(grantId), { grantId }, at);
      if (warnAt) await put(QUEUES.warn, grantRef(grantId), { grantId }, warnAt);
      else await queues.warn.remove(jobIdOf(QUEUES.warn, grantRef(grantId))).catch(() => 0);
    },
    cancelRevoke: async (grantId) => {
      await Promise.all([QUEUES.revoke, QUEUES.warn].map((kind) => queues[kind].remove(jobIdOf(kind, grantRef(grantId))).catch(() => 0)));
    },
    scheduleRequestTimeout: async (requestId, timeoutAt, remindAt) => {
      await put(QUEUES.timeout, requestRef(requestId), { requestId }, timeoutAt);
      if (remindAt) await put(QUEUES.remind, requestRef(requestId), { requestId }, remindAt);
    },
    cancelRequestJobs: async (requestId) => {
      await Promise.all([QUEUES.timeout, QUEUES.remind].map((kind) => queues[kind].remove(jobIdOf(kind, requestRef(requestId))).catch(() => 0)));
    },
    startWorkers(access) {
      const payload = <T>(schema: z.ZodType<T>, job: Job): T | null => {
        const parsed = schema.safeParse(job.data);
        if (!parsed.success) options.log.error({ queue: job.queueName, jobId: job.id }, 'dropping a job with a malformed payload');
        return parsed.success ? parsed.data : null;
      };
      workers.push(
        work(QUEUES.revoke, async (job) => {
          const data = payload(grantJob, job);
          if (!data) return;
          const out = await access.expire(data.grantId);
          if (out.kind === 'revoke_failed') throw new Error(out.problem);
        }),
        work(QUEUES.warn, async (job) => {
          const data = payload(grantJob, job);
          if (data) await access.grants.warnExpiring(data.grantId);
        }),
        work(QUEUES.timeout, async (job) => {
          const data = payload(requestJob, job);
          if (data) await access.timeOut(data.requestId);
        }),
        work(QUEUES.remind, async (job) => {
          const data = payload(requestJob, job);
          if (data) await access.remind(data.requestId);
        }),
      );
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(Object.values(queues).map((q) => q.close()));
      probe.disconnect();
    },
  };
}
