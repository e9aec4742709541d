// A signed Slack request acts once: a replay inside the signature window, or Slack's retry of a handled event, is acked and dropped.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, type BufferedIncomingMessage } from '@slack/bolt';
import { Redis } from 'ioredis';
import type { Logger } from '../core/ports.ts';
import { redisOptions } from '../scheduler/redis-options.ts';
import { atMostEvery } from '../at-most-every.ts';
import { settlesWithin } from '../settles-within.ts';

/** How old (or, see the HTTP server, how far in the future) a signed request may be: Slack's 5 minutes. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;
/** A Redis that has not answered by then counts as down for this request; Slack wants its ack within 3 s. */
const REDIS_DEADLINE_MS = 500;
/** How long the first connection may take (ioredis's connect timeout): the first requests wait that long at most, within Slack's 3 s. */
const FIRST_CONNECT_MS = 2_000;
/** Bounds the in-process memory kept while Redis is away; a flood beyond it forgets the oldest first. */
const MAX_REMEMBERED = 100_000;

/** `work`'s answer, or a rejection once REDIS_DEADLINE_MS has passed (the work goes on; its late outcome is dropped). */
async function withinDeadline<T>(work: Promise<T>): Promise<T> {
  if (!(await settlesWithin(work, REDIS_DEADLINE_MS))) throw new Error(`Redis did not answer within ${REDIS_DEADLINE_MS} ms`);
  return work;
}

export interface ReplayGuard {
  /** True the first time any of `keys` is seen within `ttlSeconds`; false for a repeat. Never throws. */
  firstTime(keys: string[], ttlSeconds: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Remembers keys in Redis (SET NX EX, so it holds across restarts and replicas) and in this process. When Redis is
 * down or slow it fails open to the process memory alone: break-glass must work without Redis (SPEC §6), and a
 * replay then still acts once per process; only a replay delivered after a restart during the outage gets through.
 */
export function createReplayGuard(options: { redisUrl: string; prefix: string; log: Logger; now?: () => number }): ReplayGuard {
  const now = options.now ?? Date.now;
  // No client-wide command timeout: ioredis would apply it to its own ready check too, so a first connection that
  // answers later than that fails and the first requests fall back to the empty memory. Each SET has its deadline below.
  // Until the first connection is made (or given up on) it is tried every 50 ms, so a Redis back just before the first
  // request's wait ends is found within it (ioredis's default backs off to 2 s, an attack found 0.5 s too coarse);
  // later reconnects back off to 0.5 s apart.
  const redis = new Redis({ ...redisOptions(options.redisUrl), maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: FIRST_CONNECT_MS, retryStrategy: (times: number) => (firstSettled ? Math.min(times * 50, 500) : 50) });
  redis.on('error', () => undefined);
  const memory = new Map<string, number>();
  const warnNow = atMostEvery(60_000, now);

  // Without an offline queue a command fails at once while the first connection is still being made, and the
  // process memory of one just restarted is empty: a replay sent right after a restart would act. So requests wait for
  // the first connection, however it goes (refused and retried, slow to open, slow to answer), until it is ready or
  // FIRST_CONNECT_MS after the first request came (start-up itself may spend that long waiting for Redis, so counting
  // from start would leave the first requests no wait at all); then never again: later outages fall back at once.
  let firstSettled = false;
  let settleFirst: () => void = () => {};
  let firstDeadline: NodeJS.Timeout | undefined;
  const firstAttempt = new Promise<void>((resolve) => (settleFirst = resolve)).then(() => {
    firstSettled = true;
    clearTimeout(firstDeadline);
  });
  redis.once('ready', settleFirst).once('end', settleFirst);
  const firstConnection = (): Promise<void> | undefined => {
    if (firstSettled) return undefined;
    firstDeadline ??= setTimeout(settleFirst, FIRST_CONNECT_MS).unref();
    return firstAttempt;
  };
  // A connection that opened but never answers ioredis's ready check would hold the client in `connect` for good (it
  // has no command timeout, see above): after FIRST_CONNECT_MS it is dropped and made again.
  let readyWatch: NodeJS.Timeout | undefined;
  redis.on('connect', () => {
    clearTimeout(readyWatch);
    readyWatch = setTimeout(() => redis.status === 'connect' && redis.disconnect(true), FIRST_CONNECT_MS).unref();
  });
  redis.on('ready', () => clearTimeout(readyWatch)).on('close', () => clearTimeout(readyWatch));

  const rememberLocally = (key: string, ttlSeconds: number): boolean => {
    const until = memory.get(key);
    if (until !== undefined && until > now()) return false;
    memory.delete(key); // re-inserted below, so insertion order stays oldest-first
    memory.set(key, now() + ttlSeconds * 1000);
    for (const [old, expires] of memory) {
      if (memory.size <= MAX_REMEMBERED && expires > now()) break;
      memory.delete(old);
    }
    return true;
  };

  return {
    async firstTime(keys, ttlSeconds) {
      await firstConnection();
      const remembered = await Promise.all(
        keys.map(async (key) => {
          const local = rememberLocally(key, ttlSeconds);
          try {
            return (await withinDeadline(redis.set(`${options.prefix}:replay:${key}`, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'))) === 'OK' && local;
          } catch (error) {
            if (warnNow()) options.log.warn({ problem: error instanceof Error ? error.message : String(error) }, 'Redis is unavailable for replay protection; repeats are caught in this process only until it returns');
            return local;
          }
        }),
      );
      return remembered.every(Boolean);
    },
    async close() {
      clearTimeout(firstDeadline);
      clearTimeout(readyWatch);
      redis.disconnect();
    },
  };
}

/**
 * What makes a signed request the same one again: its signature, and for Events API callbacks the event id Slack
 * retries with. Both header values are reduced to what the check actually reads, since it accepts spellings that
 * differ as strings: "1700000000.0" for the timestamp (it reads a Number), "v0=<hex>=x" for the signature.
 */
export function replayKeys(signature: string, timestamp: string, rawBody: string, contentType: string | undefined): string[] {
  const mac = signature.split('=')[1] ?? '';
  const keys = [`sig:${createHash('sha256').update(`${Number(timestamp)}:${mac}`).digest('hex')}`];
  if (contentType?.includes('application/json')) {
    try {
      const body = JSON.parse(rawBody) as { type?: unknown; event_id?: unknown };
      if (body.type === 'event_callback' && typeof body.event_id === 'string') keys.push(`event:${body.event_id}`);
    } catch {
      // Bolt answers malformed bodies itself.
    }
  }
  return keys;
}

/**
 * Slack's request signing (v0): an HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret, and a timestamp
 * no older than the signature window (the HTTP server refuses one from the future). Compared in constant time.
 */
export function signedBySlack(options: { signingSecret: string; signature: string; timestamp: string; rawBody: Buffer | string; nowMs: number }): boolean {
  const seconds = Number(options.timestamp);
  if (!options.signingSecret || !Number.isFinite(seconds) || seconds < Math.floor(options.nowMs / 1000) - SIGNATURE_WINDOW_SECONDS) return false;
  const [version, mac] = options.signature.split('=');
  // Lower-case hex only, as Slack sends it: another spelling of the same MAC would get past the replay key.
  if (version !== 'v0' || mac === undefined || !/^[0-9a-f]{64}$/.test(mac)) return false;
  // Over the bytes received: two bodies that decode to the same text (invalid UTF-8) are not the same request.
  const expected = createHmac('sha256', options.signingSecret).update(`v0:${seconds}:`).update(options.rawBody).digest();
  return timingSafeEqual(Buffer.from(mac, 'hex'), expected);
}

/** Slack's unsigned probe of a slash command's TLS set-up; it needs a 200 and nothing else. */
const isSslCheck = (rawBody: string, contentType: string | undefined): boolean => contentType === 'application/x-www-form-urlencoded' && new URLSearchParams(rawBody).get('ssl_check') === '1';

/**
 * Wraps Bolt's listener, which then does not check signatures again (it costs two HMACs and a random key per
 * request): a request not validly signed is refused here with 401, a validly signed one seen before is acked (200,
 * empty) without reaching Bolt. Only signed requests are remembered, so nobody can fill Redis with made-up signatures.
 */
export function guardReplays(listener: RequestListener, options: { signingSecret: string; guard: ReplayGuard; log: Logger; bodyLimit: number; now?: () => number; refusing?: () => boolean }): RequestListener {
  const now = options.now ?? Date.now;
  // Bolt logged every request it refused; a wrong SLACK_SIGNING_SECRET must still show, without a forger flooding the log.
  const warnNow = atMostEvery(60_000, now);
  let refusedSinceWarning = 0;
  return (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      let buffered: BufferedIncomingMessage;
      try {
        // Bolt reuses the buffered body (req.rawBody) instead of reading the stream again.
        buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, options.bodyLimit);
      } catch {
        res.writeHead(413).end();
        return;
      }
      // Shutting down and no longer waiting for Slack work: nothing is recorded, so Slack's retry of it still acts.
      if (options.refusing?.()) {
        res.writeHead(503, { connection: 'close' }).end();
        return;
      }
      const signature = req.headers['x-slack-signature'];
      const timestamp = req.headers['x-slack-request-timestamp'];
      const rawBody = buffered.rawBody.toString();
      const signed = typeof signature === 'string' && typeof timestamp === 'string' && signedBySlack({ signingSecret: options.signingSecret, signature, timestamp, rawBody: buffered.rawBody, nowMs: now() });
      if (!signed) {
        if (isSslCheck(rawBody, req.headers['content-type'])) return void res.writeHead(200).end();
        res.writeHead(401).end();
        refusedSinceWarning++;
        if (warnNow()) {
          options.log.warn({ refused: refusedSinceWarning }, 'refused Slack requests that were not validly signed (401); if Slack\'s own requests fail too, SLACK_SIGNING_SECRET does not match the app\'s Signing Secret (Slack app → Basic Information)');
          refusedSinceWarning = 0;
        }
        return;
      }
      // Remembered until the timestamp leaves the window either way, after which the signature check refuses it anyway.
      const ttl = Number(timestamp) + SIGNATURE_WINDOW_SECONDS - Math.floor(now() / 1000) + 1;
      if (await options.guard.firstTime(replayKeys(signature, timestamp, rawBody, req.headers['content-type']), ttl)) return listener(buffered, res);
      options.log.warn({ retryNum: req.headers['x-slack-retry-num'] ?? null }, 'a Slack request that was already handled came again; acked without acting');
      res.writeHead(200).end();
    })();
  };
}
