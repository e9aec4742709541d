// The reference for revocation lateness: plain BullMQ delayed jobs with Sesame's worker settings, in the same run.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { sleep } from './stats.ts';

/** Lateness (processing start minus due time, ms) of plain BullMQ delayed jobs due at `dueTimes`, with Sesame's worker settings. */
export async function rawBullLateness(redisUrl: string, prefix: string, dueTimes: readonly number[]): Promise<number[]> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('raw', { connection, prefix });
  const lateness: number[] = [];
  const workerConnection = connection.duplicate();
  const worker = new Worker(
    'raw',
    async (job) => {
      lateness.push(Date.now() - (job.data as { due: number }).due);
    },
    { connection: workerConnection, prefix, concurrency: 50, lockDuration: 10_000, stalledInterval: 5_000 },
  );
  await worker.waitUntilReady();
  const now = Date.now();
  await queue.addBulk(dueTimes.map((due, i) => ({ name: 'raw', data: { due }, opts: { jobId: `raw-${i}`, delay: Math.max(0, due - now), removeOnComplete: true } })));
  const until = Math.max(...dueTimes) + 30_000;
  while (lateness.length < dueTimes.length && Date.now() < until) await sleep(20);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return lateness;
}
