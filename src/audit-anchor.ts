// Anchors the audit chain head: to the log, the audit channel and optionally a signed POST, every `anchor_every` and at every break-glass.
import type { Logger, Notifier } from './core/ports.ts';
import { errorMessage } from './core/retry.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signing.ts';

/** Reads the newest entry: SQLite's AuditLog, or a PostgreSQL query. */
export interface ChainHeadSource {
  chainHead(): { id: number; hash: string } | null | Promise<{ id: number; hash: string } | null>;
}

const POST_TIMEOUT_MS = 10_000;

export type AnchorReason = 'interval' | 'breakglass' | 'shutdown';

/** Where anchors are POSTed and the key they are signed with; null when the policy names no anchor_url. */
export interface AnchorTarget {
  url: string;
  secret: string;
}

export interface AnchorPosterOptions {
  auditLog: ChainHeadSource;
  /** Posts to the audit channel; resolves false when the policy names none. */
  post: (text: string) => Promise<boolean>;
  /** Read at each anchor, so a policy reload takes effect without a restart. */
  target: () => AnchorTarget | null;
  /** Read before each wait, for the same reason. */
  intervalMs: () => number;
  log: Logger;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
  /** @defaultValue Date.now */
  now?: () => number;
  /** Whether this replica takes this interval's anchor (a once-key in Redis, so N replicas anchor once); always when left out. */
  claimInterval?: (intervalMs: number) => Promise<boolean>;
}

export interface AnchorPoster {
  start(): void;
  /** Anchors the head now unless every destination already has it; returns what was anchored. */
  postNow(reason?: AnchorReason): Promise<{ id: number; hash: string } | null>;
  stop(): Promise<void>;
}

/** The body POSTed to anchor_url (also what its signature covers). */
export interface AnchorPayload {
  anchor: string;
  id: number;
  hash: string;
  at: string;
  reason: AnchorReason;
}

const anchorText = (head: { id: number; hash: string }): string =>
  `🔗 Audit anchor \`${head.id}:${head.hash}\` — keep this message. \`sesame audit verify --anchor ${head.id}:${head.hash}\` proves the log up to entry ${head.id} was not rewritten or cut.`;

export function createAnchorPoster(options: AnchorPosterOptions): AnchorPoster {
  const { auditLog, log } = options;
  const send = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  // Per destination, so one that was down gets the head on the next tick even when nothing new was written.
  const delivered = { log: '', slack: '', url: '' };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function postTo(target: AnchorTarget, payload: AnchorPayload): Promise<void> {
    const body = JSON.stringify(payload);
    const response = await send(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(target.secret, body, now() / 1000) },
      body,
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      redirect: 'error',
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`${new URL(target.url).host} answered ${response.status}`);
  }

  async function postNow(reason: AnchorReason = 'interval'): Promise<{ id: number; hash: string } | null> {
    const head = await auditLog.chainHead();
    if (head === null) return null;
    const anchor = `${head.id}:${head.hash}`;
    const target = options.target();
    const pending = delivered.log !== anchor || delivered.slack !== anchor || (target !== null && delivered.url !== anchor);
    if (!pending) return null;
    // Warn level, so LOG_LEVEL=warn keeps it: the log usually lives on other machines than the database, which is the point.
    log.warn({ anchor, reason }, 'audit anchor');
    delivered.log = anchor;
    const deliveries: Promise<void>[] = [];
    if (delivered.slack !== anchor) {
      deliveries.push(
        options.post(anchorText(head)).then(
          (posted) => void (posted && (delivered.slack = anchor)),
          (error: unknown) => log.warn({ problem: errorMessage(error) }, 'could not post the audit anchor to Slack; it is in this log'),
        ),
      );
    }
    if (target !== null && delivered.url !== anchor) {
      deliveries.push(
        postTo(target, { anchor, id: head.id, hash: head.hash, at: new Date(now()).toISOString(), reason }).then(
          () => void (delivered.url = anchor),
          (error: unknown) => log.warn({ problem: errorMessage(error) }, 'could not POST the audit anchor to anchor_url; it is in this log'),
        ),
      );
    }
    await Promise.all(deliveries);
    return head;
  }

  // Reading the head can fail (the database is locked or closing); the next tick tries again.
  const logFailure = (error: unknown): void => log.warn({ problem: errorMessage(error) }, 'could not take an audit anchor');

  const intervalAnchor = async () => ((await (options.claimInterval?.(options.intervalMs()) ?? true)) ? postNow('interval') : null);

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => void intervalAnchor().catch(logFailure).finally(schedule), options.intervalMs());
    timer.unref();
  }

  return {
    start() {
      stopped = false;
      schedule();
    },
    postNow,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await postNow('shutdown');
    },
  };
}

/**
 * Anchors right after every break-glass use (granted or failed), so the entry recording it is anchored within
 * seconds rather than at the next interval. Not awaited: a slow anchor_url must not delay the person breaking glass.
 */
export function anchorAtBreakglass(anchors: Pick<AnchorPoster, 'postNow'>, log: Logger): Notifier {
  return {
    notify: async (event) => {
      const breakglass = event.type === 'grant_activated' ? event.grant.breakglass : event.type === 'request_failed' ? event.request.breakglass : false;
      if (breakglass) anchors.postNow('breakglass').catch((error: unknown) => log.warn({ problem: errorMessage(error) }, 'could not take an audit anchor after a break-glass use'));
    },
  };
}
