// The sweep that makes lost jobs harmless: revoke what is past due, reschedule what has no job, time out stale requests.
import type { AccessService } from '../core/access-service.ts';
import { expiryWarningAt } from '../core/lifecycle.ts';
import type { Clock, Logger, Scheduler } from '../core/ports.ts';
import { errorMessage } from '../core/retry.ts';
import type { Store } from '../store/repositories.ts';

/** A grant still `pending` this long after it was created was interrupted: provider calls take seconds, not minutes. */
export const INTERRUPTED_GRANT_AGE_MS = 2 * 60_000;

export interface ReconcileReport {
  /** Grants interrupted between the provider's grant and their activation, undone at the provider. */
  undone: number;
  /** Live grants past their end that this sweep ended (or tried to: revoke_failed ones are retried every sweep). */
  revoked: number;
  rescheduled: number;
  timedOut: number;
  /** Provider objects deleted because their grant is not live (a crash between creating one and recording it). */
  orphans: number;
  /** Whether the daily "break-glass waits for review" reminder went out in this sweep. */
  reviewReminded: boolean;
  /** Pages read; each holds at most `pageSize` rows, so memory stays flat however many grants there are. */
  pages: number;
  /** Set when the scheduler was unreachable, so jobs could not be checked. */
  schedulerDown: boolean;
}

export interface ReconcilerOptions {
  store: Store;
  access: AccessService;
  scheduler: Scheduler;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  /** @defaultValue 1000 */
  pageSize?: number;
  /** Revocations run this many at a time. @defaultValue 20 */
  concurrency?: number;
  /** Deletes provider objects of grants that are not live (see `Provider.sweep`); returns how many. */
  sweepOrphans?: () => Promise<number>;
}

export interface Reconciler {
  runOnce(): Promise<ReconcileReport>;
  /** Runs now and then every interval, never two sweeps at once. */
  start(): void;
  stop(): Promise<void>;
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { store, access, scheduler, clock, log } = options;
  const pageSize = options.pageSize ?? 1_000;
  const concurrency = options.concurrency ?? 20;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<ReconcileReport> | null = null;

  async function inParallel(ids: number[], work: (id: number) => Promise<unknown>): Promise<void> {
    let next = 0;
    const lanes = Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as number;
        await work(id).catch((error: unknown) => log.error({ id, problem: errorMessage(error) }, 'reconcile step failed; the next sweep retries'));
      }
    });
    await Promise.all(lanes);
  }

  async function runOnce(): Promise<ReconcileReport> {
    const report: ReconcileReport = { undone: 0, revoked: 0, rescheduled: 0, timedOut: 0, orphans: 0, pages: 0, schedulerDown: false, reviewReminded: false };
    const now = clock.now().getTime();

    for (let after = 0; ; ) {
      const ids = store.stalePendingGrantIds(now - INTERRUPTED_GRANT_AGE_MS, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if (await access.grants.undoInterrupted(id)) report.undone++;
      });
      after = ids.at(-1) as number;
    }

    for (let after = 0; ; ) {
      const ids = store.dueGrantIds(now, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        const out = await access.expire(id);
        if (out.kind === 'ended') report.revoked++;
      });
      after = ids.at(-1) as number;
    }

    if (await scheduler.available()) {
      try {
        // Two pages in flight: the next is read from SQLite while Redis works on the last; memory stays two pages.
        const inFlight: Promise<number>[] = [];
        for (let after = 0; ; ) {
          const page = store.activeGrantSchedules(after, pageSize);
          report.pages++;
          if (page.length === 0) break;
          const ensured = scheduler.ensureRevokes(page.map((g) => ({ grantId: g.id, at: new Date(g.expiresAt ?? now), warnAt: expiryWarningAt(g) })));
          ensured.catch(() => undefined); // awaited below; this only stops it counting as unhandled meanwhile
          inFlight.push(ensured);
          if (inFlight.length >= 2) report.rescheduled += await (inFlight.shift() as Promise<number>);
          after = page.at(-1)?.id as number;
        }
        for (const ensured of inFlight) report.rescheduled += await ensured;
      } catch (error) {
        report.schedulerDown = true;
        log.warn({ problem: errorMessage(error) }, 'could not check revocation jobs; due grants are still revoked by this sweep');
      }
    } else {
      report.schedulerDown = true;
    }

    for (let after = 0; ; ) {
      const ids = store.overdueRequestIds(now, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if (await access.timeOut(id)) report.timedOut++;
      });
      after = ids.at(-1) as number;
    }

    // The daily break-glass review reminder rides on the sweep; the audit log remembers when it last went out.
    report.reviewReminded = await access.reviews.remindIfDue().catch((error: unknown) => {
      log.warn({ problem: errorMessage(error) }, 'break-glass review reminder failed');
      return false;
    });

    report.orphans = (await options.sweepOrphans?.()) ?? 0;

    if (report.undone + report.revoked + report.rescheduled + report.timedOut + report.orphans > 0) log.info({ ...report }, 'reconciled');
    return report;
  }

  const sweep = (): Promise<ReconcileReport> => {
    running ??= runOnce().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    runOnce: sweep,
    start() {
      void sweep();
      timer = setInterval(() => void sweep(), options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}

