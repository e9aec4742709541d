// A frozen Redis (SIGSTOP, a hung host) keeps the socket open and answers nothing: only a PING with a deadline tells.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/ports.ts';

export interface RedisHeartbeat {
  /** False once a PING went unanswered for `timeoutMs`; true again when one is answered (or `markAnswering`). */
  answering(): boolean;
  /** The connection came back: whatever was outstanding belongs to the old one. */
  markAnswering(): void;
  stop(): void;
}

/** PINGs Redis every `intervalMs` on a connection of its own, so the PING never queues behind a large pipeline of ours. */
export function startRedisHeartbeat(connection: RedisOptions, log: Logger, timeoutMs: number, intervalMs: number): RedisHeartbeat {
  const pinger = new Redis({ ...connection, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
  pinger.on('error', () => undefined);
  let answering = true;
  let pingSentAt: number | null = null;
  const setAnswering = (answered: boolean) => {
    if (answered !== answering) log.warn({ answering: answered }, answered ? 'Redis answers again' : `Redis accepted the connection but did not answer a PING within ${timeoutMs} ms; treating it as down`);
    answering = answered;
  };
  const timer = setInterval(() => {
    // One PING at a time: a frozen Redis answers the outstanding one when it thaws, and that marks it up again.
    if (pingSentAt !== null) {
      if (Date.now() - pingSentAt >= timeoutMs) setAnswering(false);
      return;
    }
    if (pinger.status !== 'ready') return;
    pingSentAt = Date.now();
    pinger
      .ping()
      .then(
        () => setAnswering(true),
        () => setAnswering(false),
      )
      .finally(() => {
        pingSentAt = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    answering: () => answering,
    markAnswering: () => {
      answering = true;
    },
    stop: () => {
      clearInterval(timer);
      pinger.disconnect();
    },
  };
}
