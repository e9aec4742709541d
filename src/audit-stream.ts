// Pushes every audit entry, in chain order, signed, to settings.audit_stream.url, at least once: a background loop
// woken by new entries and a timer, that moves the cursor only after a 2xx (for _bulk, only past the items Elasticsearch
// stored) and backs off (with jitter) on failure.
import { createHash } from 'node:crypto';
import type { Logger } from './core/ports.ts';
import { errorMessage } from './core/retry.ts';
import { bulkAcknowledgement, type BulkAcknowledgement } from './audit-stream-elastic.ts';
import { streamBody } from './audit-stream-format.ts';
import type { AuditStreamFormat } from './policy/audit-stream-settings.ts';
import type { Settings } from './policy/schema.ts';
import { settlesWithin } from './settles-within.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signing.ts';
import type { StreamPosition } from './store/audit-stream-cursor.ts';
import type { ExportedEntry } from './store/audit.ts';

/**
 * Where the stream reads entries and keeps its cursor: SQLite's AuditStreamCursor (committed entries only) or PostgreSQL's
 * (shared by the replicas, so the one that takes over the stream continues where the last one stopped).
 */
export interface AuditStreamSource {
  position(destination: string): StreamPosition | null | Promise<StreamPosition | null>;
  entriesAfter(afterId: number, limit: number): ExportedEntry[] | Promise<ExportedEntry[]>;
  headId(): number | Promise<number>;
  advance(destination: string, position: StreamPosition, now: number): void | Promise<void>;
}

/** Where entries go and how; null while the policy names no audit_stream. */
export interface AuditStreamTarget {
  url: string;
  secret: string;
  authorization: string | undefined;
  format: AuditStreamFormat;
  /** The Elasticsearch index of elastic_bulk's action lines; undefined for the other formats. */
  index: string | undefined;
  batch: number;
  timeoutMs: number;
  warnLag: number;
}

/** The policy's audit_stream with its secrets looked up; null when there is none (or, impossibly after start-up checks, no key). */
export function auditStreamTarget(settings: Settings, secrets: Readonly<Record<string, string | undefined>>): AuditStreamTarget | null {
  const stream = settings.audit_stream;
  const secret = stream === undefined ? undefined : secrets[stream.secret_env];
  if (stream === undefined || !secret) return null;
  const authorization = stream.authorization_env === undefined ? undefined : secrets[stream.authorization_env];
  return { url: stream.url, secret, authorization, format: stream.format, index: stream.index, batch: stream.batch, timeoutMs: stream.timeout, warnLag: stream.warn_lag };
}

/** The cursor's key for a destination: a digest, so a token in the URL's query is not kept in the database. */
export const destinationKey = (url: string): string => createHash('sha256').update(url).digest('hex');

/** Why a POST got no answer, in words ("fetch failed" alone says nothing). */
function unreachable(host: string, timeoutMs: number, error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `${host} did not answer within ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : errorMessage(error);
  return `could not reach ${host} (${detail})`;
}

export interface RetryBackoff {
  /** The first wait after a failure; doubled at each failure in a row. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_STREAM_BACKOFF: RetryBackoff = { baseMs: 1_000, maxMs: 60_000 };
/** How often the loop looks for entries even when nothing woke it (an entry written by another process, a missed wake). */
const DEFAULT_POLL_MS = 5_000;
/** How long shutdown lets a POST in flight finish (and its batch be acknowledged) before abandoning it. */
const STOP_GRACE_MS = 1_000;

export interface AuditStreamerOptions {
  cursor: AuditStreamSource;
  /** Registers the wake-up on every new audit entry; returns how to unregister it. */
  onAppend: (listener: () => void) => () => void;
  /** Read before every batch, so a policy reload takes effect without a restart. */
  target: () => AuditStreamTarget | null;
  log: Logger;
  backoff?: RetryBackoff;
  pollMs?: number;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
  /** @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue Math.random */
  random?: () => number;
}

export interface AuditStreamer {
  start(): void;
  /** Entries the current destination has not acknowledged yet; null when no stream is configured. */
  lag(): Promise<number | null>;
  /** A sentence for /readyz when the lag is past `warn_lag`; null otherwise. */
  warning(): Promise<string | null>;
  /** Stops the loop; a POST still in flight after a second is abandoned (its entries are sent again at the next start). */
  stop(): Promise<void>;
}

export function createAuditStreamer(options: AuditStreamerOptions): AuditStreamer {
  const { cursor, log } = options;
  const send = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? DEFAULT_STREAM_BACKOFF;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  let stopped = true;
  let running: Promise<void> | null = null;
  let unsubscribe: (() => void) | null = null;
  let inFlight: AbortController | null = null;
  let sleeping: { wakeable: boolean; resolve: () => void } | null = null;
  let failures = 0;
  let lastProblem: string | null = null;
  let reportedBreak = -1;
  /** Set by every new entry; cleared when the loop reads, so an entry written during a POST is not left for the timer. */
  let woken = false;

  /** Waits `ms`, or less when stopped, or (if `wakeable`) when a new entry is written. */
  const pause = (ms: number, wakeable: boolean): Promise<void> =>
    new Promise((resolve) => {
      // stop() may have come while a POST was finishing, with nothing asleep for it to wake.
      if (stopped) return resolve();
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        sleeping = null;
        resolve();
      }
      sleeping = { wakeable, resolve: done };
    });

  // Called inside the writer's transaction: only resolves a promise, so the loop reads after the commit.
  const wake = (): void => {
    woken = true;
    if (sleeping?.wakeable) sleeping.resolve();
  };

  /** POSTs a batch; says how many of its entries, from the first, the receiver now holds (all, after a 2xx, but for _bulk). */
  async function post(target: AuditStreamTarget, entries: ExportedEntry[]): Promise<BulkAcknowledgement> {
    const { contentType, body } = streamBody(target.format, entries, target.index === undefined ? {} : { index: target.index });
    const headers: Record<string, string> = { 'content-type': contentType, [SIGNATURE_HEADER]: signatureHeader(target.secret, body, now() / 1000) };
    if (target.authorization !== undefined) headers.authorization = target.authorization;
    const host = new URL(target.url).host;
    inFlight = new AbortController();
    let response: Response;
    let answer = '';
    try {
      response = await send(target.url, { method: 'POST', headers, body, signal: AbortSignal.any([inFlight.signal, AbortSignal.timeout(target.timeoutMs)]), redirect: 'error' });
      // Elasticsearch answers 200 even when items failed: only the items say what it holds.
      if (target.format === 'elastic_bulk' && response.ok) answer = await response.text();
      else await response.body?.cancel();
    } catch (error) {
      throw new Error(unreachable(host, target.timeoutMs, error));
    } finally {
      inFlight = null;
    }
    if (!response.ok) throw new Error(`${host} answered ${response.status}`);
    return target.format === 'elastic_bulk' ? bulkAcknowledgement(host, entries, answer) : { stored: entries.length, problem: null };
  }

  /** Sends the next batch; true when there may be more to send at once. */
  async function shipBatch(target: AuditStreamTarget): Promise<boolean> {
    const key = destinationKey(target.url);
    woken = false;
    const position = await cursor.position(key);
    const entries = await cursor.entriesAfter(position?.id ?? 0, target.batch);
    const [first] = entries;
    if (first === undefined) return false;
    // The SIEM will see the break too (its copy no longer links); said here once, where the operator looks first.
    if (position !== null && first.prev_hash !== position.hash && reportedBreak !== position.id) {
      reportedBreak = position.id;
      log.error({ deliveredUpTo: position.id, deliveredHash: position.hash, next: first.id, nextPrevHash: first.prev_hash }, 'the audit log no longer continues from the last entry the audit stream delivered: it was changed after it was sent; run sesame audit verify and compare with the SIEM copy');
    }
    const { stored, problem } = await post(target, entries);
    const held = entries[stored - 1];
    if (held !== undefined) await cursor.advance(key, { id: held.id, hash: held.hash }, now());
    // The rest is sent again, from the refused entry on, after the same backoff as a 5xx.
    if (problem !== null) throw new Error(problem);
    return entries.length === target.batch;
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let host = 'audit_stream';
      try {
        const target = options.target();
        if (target === null) {
          await pause(pollMs, true);
          continue;
        }
        host = new URL(target.url).host;
        const more = await shipBatch(target);
        if (failures > 0) log.info({ host, failures }, 'the audit stream is delivering again');
        failures = 0;
        lastProblem = null;
        if (!more && !woken) await pause(pollMs, true);
      } catch (error) {
        // Nothing may end this loop but stop(): a failure of any kind (receiver, network, database) is waited out.
        if (stopped) break;
        failures++;
        lastProblem = errorMessage(error);
        // Equal jitter: at least half the capped exponential wait, so a receiver coming back is not hit by every retry at once.
        const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(failures - 1, 30));
        const waitMs = ceiling / 2 + random() * (ceiling / 2);
        log.warn({ host, problem: lastProblem, failures, retryInMs: Math.round(waitMs) }, 'could not deliver audit entries to audit_stream; they are sent again after a pause, in order');
        await pause(waitMs, false);
      }
    }
  }

  async function lag(): Promise<number | null> {
    const target = options.target();
    if (target === null) return null;
    return Math.max(0, (await cursor.headId()) - ((await cursor.position(destinationKey(target.url)))?.id ?? 0));
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      unsubscribe = options.onAppend(wake);
      running = loop();
    },
    lag,
    async warning() {
      const target = options.target();
      // A database that does not answer is its own readiness check's failure, not a reason for this one to throw.
      const behind = await lag().catch(() => null);
      if (target === null || behind === null || behind <= target.warnLag) return null;
      const why = lastProblem === null ? '' : ` (last failure: ${lastProblem})`;
      return `the audit stream to ${new URL(target.url).host} is ${behind} entries behind${why}; Sesame keeps working and sends them, in order, once the receiver accepts them`;
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      unsubscribe = null;
      sleeping?.resolve();
      const finished = running ?? Promise.resolve();
      await settlesWithin(finished, STOP_GRACE_MS);
      inFlight?.abort();
      await finished;
      running = null;
    },
  };
}
