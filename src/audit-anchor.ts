// Posts the audit chain head to the audit channel hourly and at shutdown, so a rewritten or truncated tail is detectable.
import type { Logger } from './core/ports.ts';
import { errorMessage } from './core/retry.ts';
import type { AuditLog } from './store/audit.ts';

const ANCHOR_INTERVAL_MS = 3_600_000;

export interface AnchorPosterOptions {
  auditLog: AuditLog;
  /** Posts to the audit channel; resolves false when the policy names none. */
  post: (text: string) => Promise<boolean>;
  log: Logger;
  /** @defaultValue 1 h */
  intervalMs?: number;
}

export interface AnchorPoster {
  start(): void;
  /** Posts the head now unless it was already posted; returns what was anchored. */
  postNow(): Promise<{ id: number; hash: string } | null>;
  stop(): Promise<void>;
}

const anchorText = (head: { id: number; hash: string }): string =>
  `🔗 Audit anchor \`${head.id}:${head.hash}\` — keep this message. \`sesame audit verify --anchor ${head.id}:${head.hash}\` proves the log up to entry ${head.id} was not rewritten or cut.`;

export function createAnchorPoster(options: AnchorPosterOptions): AnchorPoster {
  const { auditLog, log } = options;
  let lastPosted: string | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function postNow(): Promise<{ id: number; hash: string } | null> {
    const head = auditLog.chainHead();
    if (head === null || `${head.id}:${head.hash}` === lastPosted) return null;
    // Logged as well as posted: the log usually lives on other machines than the database, which is the point.
    log.info({ anchor: `${head.id}:${head.hash}` }, 'audit anchor');
    try {
      if (await options.post(anchorText(head))) lastPosted = `${head.id}:${head.hash}`;
    } catch (error) {
      log.warn({ problem: errorMessage(error) }, 'could not post the audit anchor; it is in this log');
    }
    return head;
  }

  return {
    start() {
      timer = setInterval(() => void postNow(), options.intervalMs ?? ANCHOR_INTERVAL_MS);
      timer.unref();
    },
    postNow,
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await postNow();
    },
  };
}
