// Windows that start later (`/access request … at 14:00`): decided and approved now, held in `scheduled`, granted at the start.
import { LOST_RACE } from './store-port.ts';
import type { RequestRecord } from './records.ts';
import { describeError } from './describe-error.ts';
import type { FulfilOutcome, GrantKeeperDeps } from './grant-model.ts';
import { requestRef } from './ids.ts';
import { approvalsVoidedByBlocks } from './grant-activation.ts';
import { requesterFacts } from './membership.ts';
import type { AccessEvent } from './ports.ts';
import { whyNoLongerAllowed } from './redecide.ts';
import { safely } from './side-effects.ts';

/** What an activation job or sweep did with one scheduled request. */
export type ActivateOutcome = 'activated' | 'not_scheduled' | 'not_due' | 'no_longer_allowed' | 'missed';

/** When a request's window ends: never later than its start plus the approved duration, however late it is granted. */
export const windowEnd = (request: Pick<RequestRecord, 'startsAt' | 'durationMs'>): number | null => (request.startsAt === null ? null : request.startsAt + request.durationMs);

export class ScheduledWindows {
  constructor(
    private readonly deps: GrantKeeperDeps,
    /** Grants an approved request now: one grant, or every member of a bundle. */
    private readonly grantNow: (request: RequestRecord) => Promise<FulfilOutcome>,
  ) {}

  /** Grants an approved request, unless its window starts later: then it waits in `scheduled` for its activation job. */
  async fulfil(request: RequestRecord): Promise<FulfilOutcome> {
    if (request.startsAt === null) return this.grantNow(request);
    if (request.startsAt > this.deps.clock.now().getTime()) return this.hold(request);
    // Approved after its start (a slow approval): granted now, still ending at start + duration.
    return this.grantWithinWindow(request);
  }

  /** Called at the start by the `activate` job and by the reconciler for a missed one; safe to call twice. */
  async activate(requestId: number): Promise<ActivateOutcome> {
    const { store, clock } = this.deps;
    const request = await store.getRequest(requestId);
    // Cancelled (or already started) windows never activate, whatever job fires.
    if (request?.state !== 'scheduled' || request.startsAt === null) return 'not_scheduled';
    if (request.startsAt > clock.now().getTime()) return 'not_due';
    // Judged again under the policy in force at the start: a window approved under a laxer one is not granted, nor one
    // of a person an admin has blocked since (the store is passed so the block is seen).
    const { policy } = this.deps.policy();
    const stale = whyNoLongerAllowed(policy, request, null, await requesterFacts(policy, request.requester, this.deps.directory, store), clock.now());
    if (stale !== null) return this.cancelAsNoLongerAllowed(request, describeError(stale), stale.code);

    const now = clock.now();
    const ids = { requestId: requestRef(request.id) };
    const started = await store.transaction(now, async (tx) => {
      // Conditional on `scheduled`: a cancel that got in first wins, and a second job or sweep finds nothing to do.
      if (!await tx.updateRequest(request.id, 'scheduled', { state: 'approved', approvedAt: now.getTime() })) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'request.schedule_started', ...ids, details: { starts_at: new Date(request.startsAt as number).toISOString(), late_ms: now.getTime() - (request.startsAt as number) } });
    });
    if (started === LOST_RACE) return 'not_scheduled';
    const outcome = await this.grantWithinWindow(await store.getRequest(request.id) as RequestRecord);
    return outcome.kind === 'granted' ? 'activated' : 'missed';
  }

  private async hold(request: RequestRecord): Promise<FulfilOutcome> {
    const { store, clock } = this.deps;
    const startsAt = request.startsAt as number;
    const held = await store.transaction(clock.now(), async (tx) => {
      // Checked with the write, as for grants: revoke-all (after its block) cancels this window, or this sees the block.
      if (await tx.isBlocked(request.requester)) return 'blocked' as const;
      // Likewise for its approvers: revoke-all cancels the windows its person approved, so one approved just now is held back here.
      const approvals = await tx.approvalsFor(request.id);
      if ((await approvalsVoidedByBlocks(tx, approvals)).length > 0) return 'approver_blocked' as const;
      if (!await tx.updateRequest(request.id, 'approved', { state: 'scheduled' })) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'request.scheduled', requestId: requestRef(request.id), details: { starts_at: new Date(startsAt).toISOString(), ends_at: new Date(windowEnd(request) as number).toISOString() } });
      return 'held' as const;
    });
    if (held === 'blocked') return this.fail(request, 'an admin blocked the requester (/access revoke-all) before the window was scheduled');
    if (held === 'approver_blocked') return this.fail(request, 'an admin blocked one of its approvers (/access revoke-all) before the window was scheduled; ask again');
    const fresh = await store.getRequest(request.id) as RequestRecord;
    if (held === LOST_RACE) return { kind: 'failed', request: fresh, problem: `request ${requestRef(request.id)} is ${fresh.state}, not approved` };
    // A lost job only makes the start late: the reconciler activates scheduled requests whose start has passed.
    await this.safely('schedule activation', () => this.deps.scheduler.scheduleActivation(request.id, new Date(startsAt)));
    await this.notify({ type: 'request_scheduled', request: fresh });
    return { kind: 'scheduled', request: fresh };
  }

  /** Grants an approved request whose start has come; a window already over is not granted at all. */
  private async grantWithinWindow(request: RequestRecord): Promise<FulfilOutcome> {
    const end = windowEnd(request) as number;
    if (end > this.deps.clock.now().getTime()) return this.grantNow(request);
    return this.fail(request, `its window ended at ${new Date(end).toISOString()} before Sesame could grant it; request it again`);
  }

  private async fail(request: RequestRecord, problem: string): Promise<FulfilOutcome> {
    const now = this.deps.clock.now();
    const failed = await this.deps.store.transaction(now, async (tx) => {
      if (!await tx.updateRequest(request.id, 'approved', { state: 'failed', decisionNote: problem })) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'grant.failed', requestId: requestRef(request.id), details: { problem } });
    });
    const fresh = await this.deps.store.getRequest(request.id) as RequestRecord;
    if (failed !== LOST_RACE) await this.notify({ type: 'request_failed', request: fresh, problem });
    return { kind: 'failed', request: fresh, problem };
  }

  private async cancelAsNoLongerAllowed(request: RequestRecord, note: string, cause: string): Promise<ActivateOutcome> {
    const now = this.deps.clock.now();
    const cancelled = await this.deps.store.transaction(now, async (tx) => {
      if (!await tx.updateRequest(request.id, 'scheduled', { state: 'cancelled', decidedAt: now.getTime(), decidedBy: 'sesame', decisionNote: note })) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'request.cancelled', requestId: requestRef(request.id), details: { note, code: 'no_longer_allowed', cause } });
    });
    if (cancelled === LOST_RACE) return 'not_scheduled';
    await this.notify({ type: 'request_cancelled', request: await this.deps.store.getRequest(request.id) as RequestRecord });
    return 'no_longer_allowed';
  }

  private notify(event: AccessEvent): Promise<void> {
    return this.safely(`notify ${event.type}`, () => this.deps.notifier.notify(event));
  }

  private safely(what: string, action: () => Promise<void>): Promise<void> {
    return safely(this.deps.log, what, action);
  }
}
