// The sweep that makes lost jobs and stops harmless: undo interrupted grants, fail approved requests no grant came of,
// revoke what is past due, reschedule what has no job, time out or escalate stale requests, open missed windows.
import type { AccessService } from '../core/access-service.ts';
import { undoRestOfBundle } from '../core/bundle-grants.ts';
import { expiryWarningAt } from '../core/lifecycle.ts';
import type { Clock, Logger, Scheduler } from '../core/ports.ts';
import type { ReasonSweepReport } from '../core/reason-ended.ts';
import { errorMessage } from '../core/retry.ts';
import type { StorePort } from '../core/store-port.ts';
import { settlesWithin } from '../settles-within.ts';

/** A grant still `pending` this long after it was created was interrupted: provider calls take seconds, not minutes. */
export const INTERRUPTED_GRANT_AGE_MS = 2 * 60_000;

/**
 * An approved request with no grant this long after it became approved was stranded by a stop. Grants this process
 * is making are never taken for stranded however long they wait; this covers another replica's, which may wait for
 * others of the same access (KEYED_WORK_DEADLINE_MS) and its directory lookup before their first write.
 */
export const STRANDED_REQUEST_AGE_MS = 10 * 60_000;
/** How long before `aloneSince` a stranded request must have been approved: a wall clock stepped back meanwhile. */
const ALONE_MARGIN_MS = 60_000;
/** How far back stranded requests are looked for (a weekend's downtime): each sweep reads this much of the approved history. */
export const STRANDED_LOOKBACK_MS = 3 * 24 * 60 * 60_000;

export interface ReconcileReport {
  /** Grants interrupted between the provider's grant and their activation, undone at the provider. */
  undone: number;
  /** Approved requests that no grant came of (Sesame stopped in between), failed and their requesters told. */
  stranded: number;
  /** Live grants past their end that this sweep ended (or tried to: revoke_failed ones are retried every sweep). */
  revoked: number;
  rescheduled: number;
  timedOut: number;
  /** Pending requests whose step escalated in this sweep (its job was lost or late). */
  escalated: number;
  /** Scheduled windows whose start passed without their activation job (granted, or refused if the policy changed). */
  activated: number;
  /** Ended grants whose provider clean-up (left over after the access was cut) finished in this sweep. */
  cleanedUp: number;
  /** Provider objects deleted because their grant is not live (a crash between creating one and recording it). */
  orphans: number;
  /** Grants ended because their reason had gone (see `ReasonSweepReport`). */
  reasonsEnded: number;
  /** Whether the daily "break-glass waits for review" reminder went out in this sweep. */
  reviewReminded: boolean;
  /** Pages read; each holds at most `pageSize` rows, so memory stays flat however many grants there are. */
  pages: number;
  /** Set when the scheduler was unreachable, so jobs could not be checked. */
  schedulerDown: boolean;
}

export interface ReconcilerOptions {
  store: StorePort;
  access: AccessService;
  scheduler: Scheduler;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  /** Smaller pages keep the start-up sweep's Redis batches (and the bot's peak memory) small. @defaultValue 500 */
  pageSize?: number;
  /** Revocations run this many at a time. @defaultValue 20 */
  concurrency?: number;
  /**
   * How long a sweep waits for one grant's provider call before moving on. The call goes on (the provider
   * deadline ends it, as `revoke_failed`) and later sweeps skip that grant meanwhile, so one stuck provider
   * never keeps the next sweep from revoking the others. @defaultValue half the interval, at most 10 s
   */
  grantWaitMs?: number;
  /** Deletes provider objects of grants that are not live (see `Provider.sweep`); returns how many. */
  sweepOrphans?: () => Promise<number>;
  /**
   * Set when this process holds the store alone (SQLite's instance lock): when it started. A request approved before
   * then (less a margin for the clock) belongs to a process that has stopped, and no grant write means it called no
   * provider, so it is failed at once rather than after STRANDED_REQUEST_AGE_MS. Pending grants still wait
   * INTERRUPTED_GRANT_AGE_MS: a provider call the stopped process sent may still land.
   */
  aloneSince?: number;
  /** Ends grants whose reason has gone (archived incident channel, left group, blocked holder); see core/reason-ended.ts. */
  sweepReasons?: () => Promise<ReasonSweepReport>;
}

export interface Reconciler {
  runOnce(): Promise<ReconcileReport>;
  /** Runs now and then every interval, never two sweeps at once. */
  start(): void;
  stop(): Promise<void>;
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { store, access, scheduler, clock, log } = options;
  const pageSize = options.pageSize ?? 500;
  const concurrency = options.concurrency ?? 20;
  const grantWaitMs = options.grantWaitMs ?? Math.min(10_000, options.intervalMs / 2);
  /** Calls left running by sweeps, at most; grants beyond it wait for a later sweep (or their BullMQ job). */
  const maxBusy = 4 * concurrency;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<ReconcileReport> | null = null;
  /** Grants whose provider call a sweep started and that has not ended yet (it may outlive its sweep). */
  const busy = new Map<number, Promise<void>>();

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

  /** Runs one grant's provider work unless it is still running from an earlier sweep; waits for it at most grantWaitMs. */
  async function onGrant(grantId: number, work: () => Promise<void>): Promise<void> {
    // A provider that stops answering must not be sent one more call per lane every grantWaitMs without end.
    if (busy.has(grantId) || busy.size >= maxBusy) return;
    const done = work()
      .catch((error: unknown) => log.error({ grantId, problem: errorMessage(error) }, 'reconcile step failed; the next sweep retries'))
      .finally(() => busy.delete(grantId));
    busy.set(grantId, done);
    if (!(await settlesWithin(done, grantWaitMs))) log.warn({ grantId, afterMs: grantWaitMs }, 'a provider call is taking long; the sweep goes on without it and skips this grant until it ends');
  }

  async function runOnce(): Promise<ReconcileReport> {
    const report: ReconcileReport = { undone: 0, stranded: 0, revoked: 0, rescheduled: 0, timedOut: 0, escalated: 0, activated: 0, cleanedUp: 0, orphans: 0, reasonsEnded: 0, pages: 0, schedulerDown: false, reviewReminded: false };
    const now = clock.now().getTime();

    for (let after = 0; ; ) {
      const ids = await store.stalePendingGrantIds(now - INTERRUPTED_GRANT_AGE_MS, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, (id) =>
        onGrant(id, async () => {
          if (!(await access.grants.undoInterrupted(id))) return;
          report.undone++;
          await undoRestOfBundle(access.grants, { store }, id);
        }),
      );
      after = ids.at(-1) as number;
    }

    const strandedBefore = Math.max(now - STRANDED_REQUEST_AGE_MS, options.aloneSince === undefined ? 0 : options.aloneSince - ALONE_MARGIN_MS);
    for (let after = 0; ; ) {
      const ids = await store.strandedRequestIds(now - STRANDED_LOOKBACK_MS, strandedBefore, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if (await access.stranded.fail(id)) report.stranded++;
      });
      after = ids.at(-1) as number;
    }

    for (let after = 0; ; ) {
      const ids = await store.dueGrantIds(now, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, (id) =>
        onGrant(id, async () => {
          const out = await access.expire(id);
          // A revoke that failed before the grant's end (/access revoke, a reason gone, revoke-all then an unblock) is not
          // left until then. A blocked person's are the reason sweep's, which tells the admins once the last is gone.
          const early = out.kind === 'not_due' && out.grant.state === 'revoke_failed' && !await store.isBlocked(out.grant.user);
          const retried = early ? await access.grants.end(id, 'revoked', 'sesame', 'retrying a revoke that failed at the provider') : out;
          if (retried.kind === 'ended') report.revoked++;
        }),
      );
      after = ids.at(-1) as number;
    }

    for (let after = 0; ; ) {
      const ids = await store.cleanupPendingGrantIds(after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if (await access.grants.finishCleanup(id)) report.cleanedUp++;
      });
      after = ids.at(-1) as number;
    }

    if (await scheduler.available()) {
      try {
        // Two pages in flight: the next is read from SQLite while Redis works on the last; memory stays two pages.
        const inFlight: Promise<number>[] = [];
        for (let after = 0; ; ) {
          const page = await store.activeGrantSchedules(after, pageSize);
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
      const ids = await store.overdueRequestIds(now, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if (await access.timeOut(id)) report.timedOut++;
      });
      after = ids.at(-1) as number;
    }

    // After the timeouts: a request past its timeout ends instead of escalating.
    for (let after = 0; ; ) {
      const ids = await store.dueEscalationIds(now, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if (await access.escalations.escalate(id)) report.escalated++;
      });
      after = ids.at(-1) as number;
    }

    for (let after = 0; ; ) {
      const ids = await store.dueScheduledRequestIds(now, after, pageSize);
      report.pages++;
      if (ids.length === 0) break;
      await inParallel(ids, async (id) => {
        if ((await access.windows.activate(id)) !== 'not_scheduled') report.activated++;
      });
      after = ids.at(-1) as number;
    }

    // The daily break-glass review reminder rides on the sweep; the audit log remembers when it last went out.
    report.reviewReminded = await access.reviews.remindIfDue().catch((error: unknown) => {
      log.warn({ problem: errorMessage(error) }, 'break-glass review reminder failed');
      return false;
    });

    report.orphans = (await options.sweepOrphans?.()) ?? 0;
    const reasons = await options.sweepReasons?.().catch((error: unknown) => log.warn({ problem: errorMessage(error) }, 'checking whether grants\' reasons still hold failed'));
    report.reasonsEnded = reasons ? reasons.archived + reasons.leftGroup + reasons.blocked : 0;

    if (report.undone + report.stranded + report.revoked + report.rescheduled + report.timedOut + report.escalated + report.activated + report.cleanedUp + report.orphans + report.reasonsEnded > 0) log.info({ ...report }, 'reconciled');
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
      // The timer has no caller to hand a failure to: a database that refuses a read is logged, never fatal.
      const tick = () =>
        void sweep().catch((error: unknown) => log.error({ problem: errorMessage(error) }, 'reconcile sweep failed; the next one retries'));
      tick();
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
      // Calls a sweep left running get a short grace; one still stuck is finished by BullMQ or the next start's sweep.
      await settlesWithin(Promise.all(busy.values()), Math.min(grantWaitMs, 1_000));
    },
  };
}

