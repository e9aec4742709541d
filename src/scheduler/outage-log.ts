// While Redis is down, each of BullMQ's connections reports every reconnect attempt; this turns that flood into one line
// when the outage starts and one, with the count, when Redis is back.
import type { Logger } from '../core/ports.ts';

/** After Redis is back, the other connections take a moment to reconnect; their last errors belong to the outage that ended. */
const RECONNECT_GRACE_MS = 10_000;
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export interface OutageLog {
  /** A connection's error: the first of an outage is logged, later ones only counted; other errors are logged as before. */
  error(source: string, error: Error): void;
  /** Redis answers again: logs how long it was away and how many errors that cost, once per outage. */
  recovered(): void;
}

export function createOutageLog(log: Logger, redisUrl: string, isDown: () => boolean, now: () => number = Date.now): OutageLog {
  const redis = new URL(redisUrl).host;
  let outage: { since: number; errors: number } | null = null;
  let recoveredAt = -Infinity;
  return {
    error(source, error) {
      const code = (error as { code?: unknown }).code;
      const connectionLost = outage !== null || isDown() || (typeof code === 'string' && CONNECTION_CODES.has(code)) || /connection is closed/i.test(error.message);
      if (!connectionLost) {
        log.warn({ source, problem: error.message }, 'Redis connection problem');
        return;
      }
      if (outage) {
        outage.errors++;
        return;
      }
      if (!isDown() && now() - recoveredAt < RECONNECT_GRACE_MS) return;
      outage = { since: now(), errors: 1 };
      log.error({ redis, source, problem: error.message }, `Redis at ${redis} is unreachable; retrying (revocations fall back to in-process timers and the reconciler until it is back)`);
    },
    recovered() {
      if (!outage) return;
      const { since, errors } = outage;
      outage = null;
      recoveredAt = now();
      const seconds = Math.round((now() - since) / 1000);
      log.info({ redis, errors, downSeconds: seconds }, `Redis at ${redis} is back after ${seconds} s (${errors} connection error${errors === 1 ? '' : 's'} while it was away)`);
    },
  };
}
