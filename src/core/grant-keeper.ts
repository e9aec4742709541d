// Turns approved requests into grants and ends them again, through the provider named in the grant.
import type { LoadedPolicy } from '../policy/load.ts';
import { LOST_RACE, type Store } from '../store/repositories.ts';
import type { GrantRow, RequestRow } from '../store/schema.ts';
import { providerDigest } from './audit-replay.ts';
import { grantRef, requestRef } from './ids.ts';
import { EXPIRY_WARNING_MS, expiryWarningAt, LIVE_GRANT_STATES } from './lifecycle.ts';
import type { Clock, Directory, GrantSubject, Logger, Notifier, Providers, RevokeResult, Scheduler } from './ports.ts';
import { errorMessage, withRetries, type Attempted, type RetryOptions } from './retry.ts';

export interface GrantKeeperDeps {
  store: Store;
  policy: () => LoadedPolicy;
  providers: Providers;
  scheduler: Scheduler;
  notifier: Notifier;
  directory: Directory;
  clock: Clock;
  log: Logger;
  retry: RetryOptions;
}

export type FulfilOutcome =
  | { kind: 'granted'; request: RequestRow; grant: GrantRow; providerMessage: string | null }
  | { kind: 'failed'; request: RequestRow; problem: string };

export type EndOutcome =
  | { kind: 'ended'; grant: GrantRow; verified: boolean | null }
  | { kind: 'revoke_failed'; grant: GrantRow; problem: string }
  | { kind: 'not_live'; grant: GrantRow }
  | { kind: 'unknown' }
  | { kind: 'not_due'; grant: GrantRow };

/** What a successful provider revoke left for a later clean-up, if anything. */
const cleanupLeftBy = (undone: Attempted<void | RevokeResult>): string | null => (undone.ok ? (undone.value?.cleanupPending ?? null) : null);

export class GrantKeeper {
  constructor(private readonly deps: GrantKeeperDeps) {}

  /** Grants an approved request through its provider; on lasting failure the request becomes `failed`. */
  async fulfil(request: RequestRow): Promise<FulfilOutcome> {
    const { store, clock } = this.deps;
    const provider = this.deps.policy().policy.resources[request.resource]?.provider;
    if (provider === undefined) return this.failRequest(request, null, `resource ${request.resource} is no longer in the policy`);

    const createdAt = clock.now();
    const pending = store.transaction(createdAt, (tx) =>
      tx.insertGrant({
        requestId: request.id,
        user: request.requester,
        resource: request.resource,
        role: request.role,
        provider,
        reason: request.reason,
        breakglass: request.breakglass,
        state: 'pending',
        createdAt: createdAt.getTime(),
      }),
    );
    if (pending === LOST_RACE) throw new Error('unreachable: grant insert cannot lose a race');

    const startsAt = clock.now();
    const expiresAt = new Date(startsAt.getTime() + request.durationMs);
    const subject = await this.subjectOf({ ...pending, startsAt: startsAt.getTime(), expiresAt: expiresAt.getTime() });
    const attempt = await withRetries(() => this.deps.providers.for(provider).grant(subject), this.deps.retry);
    if (!attempt.ok) {
      // A timeout or a garbled answer may hide a grant that did happen: take it back before calling it failed.
      const undone = await this.revokeAt(subject);
      if (!undone.ok) this.deps.log.error({ grantId: grantRef(pending.id), problem: errorMessage(undone.error) }, 'could not undo a failed grant at the provider');
      return this.failRequest(request, pending, errorMessage(attempt.error), cleanupLeftBy(undone));
    }
    const providerState = attempt.value.state ?? null;

    const now = clock.now();
    if (expiresAt.getTime() <= now.getTime()) {
      // The clock jumped (or the provider took longer than the whole window): never activate a grant already over.
      const undone = await this.revokeAt({ ...subject, providerState });
      return this.failRequest(request, pending, `the grant would have ended at ${expiresAt.toISOString()}, before it could start; check the server's clock`, cleanupLeftBy(undone));
    }
    const activated = store.transaction(now, (tx) => {
      if (!tx.updateGrant(pending.id, 'pending', { state: 'active', startsAt: startsAt.getTime(), expiresAt: expiresAt.getTime(), providerState })) tx.abort();
      tx.audit({
        actor: 'sesame',
        action: 'grant.activated',
        requestId: requestRef(request.id),
        grantId: grantRef(pending.id),
        details: { resource: request.resource, role: request.role, user: request.requester, created_at: createdAt.toISOString(), starts_at: startsAt.toISOString(), expires_at: expiresAt.toISOString(), provider: provider.type, provider_sha256: providerDigest(provider), attempts: attempt.attempts, breakglass: request.breakglass },
      });
    });
    if (activated === LOST_RACE) {
      // A sweep took this grant for interrupted and failed it while the provider was still granting: the access the
      // provider just gave belongs to no live grant, so it is taken back before reporting the bug.
      await this.revokeAt({ ...subject, providerState });
      throw new Error(`grant ${grantRef(pending.id)} left the pending state while being granted`);
    }
    const grant = store.getGrant(pending.id) as GrantRow;
    await this.scheduleRevoke(grant);
    const providerMessage = attempt.value.message ?? null;
    await this.notify({ type: 'grant_activated', request, grant, providerMessage });
    return { kind: 'granted', request, grant, providerMessage };
  }

  /**
   * Takes access away: the provider revokes (with retries), `check` confirms where the provider can
   * tell, and only then the grant becomes `outcome`. A failure leaves it `revoke_failed` for the retry.
   */
  async end(grantId: number, outcome: 'revoked' | 'expired', actor: string): Promise<EndOutcome> {
    const { store, clock, log } = this.deps;
    const grant = store.getGrant(grantId);
    if (grant === undefined) return { kind: 'unknown' };
    if (!LIVE_GRANT_STATES.includes(grant.state)) return { kind: 'not_live', grant };
    if (outcome === 'expired' && (grant.expiresAt ?? 0) > clock.now().getTime()) return { kind: 'not_due', grant };

    const config = grant.provider;
    const provider = this.deps.providers.for(config);
    const subject = await this.subjectOf(grant);
    let verified: boolean | null = null;
    const attempt = await withRetries(async () => {
      const result = await provider.revoke(subject);
      if (provider.check) {
        if ((await provider.check(subject)) === 'present') throw new Error('the provider still reports the access as present after revoking it');
        verified = true;
      }
      return result?.cleanupPending ?? null;
    }, this.deps.retry);

    const now = clock.now();
    if (!attempt.ok) {
      const problem = errorMessage(attempt.error);
      // Decided on the row as it is now, not as read before the provider call: a racing revoke job or sweep may have
      // ended the grant meanwhile, and then this failure changed nothing and must neither be audited nor alarm anyone.
      const failed = store.transaction(now, (tx) => {
        const current = tx.getGrant(grant.id);
        if (current === undefined || !LIVE_GRANT_STATES.includes(current.state)) return tx.abort();
        const revokeAttempts = current.revokeAttempts + attempt.attempts;
        if (tx.updateGrant(grant.id, 'active', { state: 'revoke_failed', revokeAttempts })) {
          // Audit the first failure loudly; later retries only count attempts, so the log is not flooded.
          tx.audit({ actor: 'sesame', action: 'grant.revoke_failed', requestId: requestRef(grant.requestId), grantId: grantRef(grant.id), details: { problem, attempts: attempt.attempts } });
          return 'first' as const;
        }
        if (!tx.updateGrant(grant.id, 'revoke_failed', { revokeAttempts })) tx.abort();
        return 'again' as const;
      });
      const fresh = store.getGrant(grant.id) as GrantRow;
      if (failed === LOST_RACE) return { kind: 'not_live', grant: fresh };
      log.error({ grantId: grantRef(grant.id), problem }, 'revoke failed');
      if (failed === 'first') await this.notify({ type: 'grant_revoke_failed', grant: fresh, problem });
      return { kind: 'revoke_failed', grant: fresh, problem };
    }

    const left = attempt.value;
    const ended = store.transaction(now, (tx) => {
      if (!tx.updateGrant(grant.id, LIVE_GRANT_STATES, { state: outcome, endedAt: now.getTime(), endedBy: actor, cleanupPending: left })) tx.abort();
      const ids = { requestId: requestRef(grant.requestId), grantId: grantRef(grant.id) };
      const lateMs = outcome === 'expired' ? now.getTime() - (grant.expiresAt ?? now.getTime()) : undefined;
      tx.audit({ actor, action: outcome === 'expired' ? 'grant.expired' : 'grant.revoked', ...ids, details: { late_ms: lateMs, attempts: attempt.attempts } });
      if (verified) tx.audit({ actor: 'sesame', action: 'grant.verified_absent', ...ids, details: { provider: config.type } });
      // The access is gone, so the grant ends; what the provider could not remove yet is on record until a sweep does.
      if (left !== null) tx.audit({ actor: 'sesame', action: 'grant.cleanup_pending', ...ids, details: { provider: config.type, problem: left } });
    });
    if (ended === LOST_RACE) return { kind: 'not_live', grant: store.getGrant(grant.id) as GrantRow };
    if (outcome === 'revoked') await this.safely('cancel revoke job', () => this.deps.scheduler.cancelRevoke(grant.id));
    const final = store.getGrant(grant.id) as GrantRow;
    await this.notify({ type: 'grant_ended', grant: final, outcome, by: actor });
    if (left !== null) await this.notify({ type: 'grant_cleanup_pending', grant: final, problem: left });
    return { kind: 'ended', grant: final, verified };
  }

  /**
   * Retries the provider clean-up of an ended grant (its revoke, which providers make safe to repeat); true when
   * it is now done. Still failing only updates the stored problem: the first failure was audited and announced.
   */
  async finishCleanup(grantId: number): Promise<boolean> {
    const { store, clock, log } = this.deps;
    const grant = store.getGrant(grantId);
    if (grant?.cleanupPending == null) return false;
    let left: string | null;
    try {
      left = (await this.deps.providers.for(grant.provider).revoke(await this.subjectOf(grant)))?.cleanupPending ?? null;
    } catch (error) {
      left = errorMessage(error);
    }
    if (left !== null) {
      if (left !== grant.cleanupPending) store.transaction(clock.now(), (tx) => tx.updateGrant(grant.id, grant.state, { cleanupPending: left }));
      log.warn({ grantId: grantRef(grant.id), problem: left }, 'provider clean-up still pending');
      return false;
    }
    const done = store.transaction(clock.now(), (tx) => {
      if (!tx.updateGrant(grant.id, grant.state, { cleanupPending: null })) tx.abort();
      tx.audit({ actor: 'sesame', action: 'grant.cleanup_done', requestId: requestRef(grant.requestId), grantId: grantRef(grant.id), details: { provider: grant.provider.type } });
    });
    if (done === LOST_RACE) return false;
    await this.notify({ type: 'grant_cleaned_up', grant: store.getGrant(grant.id) as GrantRow });
    return true;
  }

  /**
   * Pushes an active grant's end back by `byMs` and moves its revocation; null when it is no longer active or the
   * new end would make it last longer than `maxTotalMs` from its start (two extensions approved at once, say).
   */
  async extend(grant: GrantRow, request: RequestRow, byMs: number, actor: string, maxTotalMs: number): Promise<GrantRow | null> {
    const { store, clock } = this.deps;
    const now = clock.now();
    let expiresAt = 0;
    const applied = store.transaction(now, (tx) => {
      // From the end as it is now: two extensions approved at once both count, each within the tier's maximum in
      // total, and each entry names the end it made.
      const current = tx.getGrant(grant.id);
      expiresAt = (current?.expiresAt ?? now.getTime()) + byMs;
      if (current === undefined || expiresAt - (current.startsAt ?? current.createdAt) > maxTotalMs) tx.abort();
      if (!tx.updateGrant(grant.id, 'active', { expiresAt })) tx.abort();
      tx.audit({ actor, action: 'grant.extended', requestId: requestRef(request.id), grantId: grantRef(grant.id), details: { by_ms: byMs, expires_at: new Date(expiresAt).toISOString() } });
    });
    if (applied === LOST_RACE) return null;
    const extended = store.getGrant(grant.id) as GrantRow;
    const provider = this.deps.providers.for(extended.provider);
    if (provider.extend) {
      const subject = await this.subjectOf(extended);
      const attempt = await withRetries(() => provider.extend?.(subject) ?? Promise.resolve(), this.deps.retry);
      if (!attempt.ok) this.deps.log.error({ grantId: grantRef(grant.id), problem: errorMessage(attempt.error) }, 'provider could not move the end of an extended grant');
    }
    await this.scheduleRevoke(extended);
    await this.notify({ type: 'grant_extended', grant: extended, request });
    return extended;
  }

  /**
   * Undoes a grant left `pending` by a crash between the provider's grant and its activation: the provider may
   * have granted, so it is revoked there, and the request fails. False when it is not pending or the revoke failed.
   */
  async undoInterrupted(grantId: number): Promise<boolean> {
    const grant = this.deps.store.getGrant(grantId);
    if (grant?.state !== 'pending') return false;
    const subject = await this.subjectOf(grant);
    const undone = await this.revokeAt(subject);
    if (!undone.ok) return false; // the next sweep tries again
    const request = this.deps.store.getRequest(grant.requestId) as RequestRow;
    await this.failRequest(request, grant, 'Sesame was interrupted while granting; the access was undone, so request it again', cleanupLeftBy(undone));
    return true;
  }

  /** Warns the holder that a grant ends soon; false when it has ended or was extended since the warning was set. */
  async warnExpiring(grantId: number): Promise<boolean> {
    const grant = this.deps.store.getGrant(grantId);
    const left = (grant?.expiresAt ?? 0) - this.deps.clock.now().getTime();
    if (grant?.state !== 'active' || left <= 0 || left > EXPIRY_WARNING_MS + 60_000) return false;
    await this.notify({ type: 'grant_expiring', grant });
    return true;
  }

  /** `cleanupPending`: the undo at the provider cut the access but left something for the reconciler to remove. */
  private async failRequest(request: RequestRow, grant: GrantRow | null, problem: string, cleanupPending: string | null = null): Promise<FulfilOutcome> {
    const now = this.deps.clock.now();
    const left = grant ? cleanupPending : null;
    // Both rows move or neither does: a sweep undoing the same interrupted grant may have failed it already.
    const applied = this.deps.store.transaction(now, (tx) => {
      if (grant && !tx.updateGrant(grant.id, 'pending', { state: 'failed', endedAt: now.getTime(), cleanupPending: left })) tx.abort();
      if (!tx.updateRequest(request.id, 'approved', { state: 'failed', decisionNote: problem })) tx.abort();
      tx.audit({ actor: 'sesame', action: 'grant.failed', requestId: requestRef(request.id), grantId: grant ? grantRef(grant.id) : null, details: { problem, created_at: grant ? new Date(grant.createdAt).toISOString() : undefined } });
      if (grant && left !== null) tx.audit({ actor: 'sesame', action: 'grant.cleanup_pending', requestId: requestRef(request.id), grantId: grantRef(grant.id), details: { provider: grant.provider.type, problem: left } });
    });
    const failed = this.deps.store.getRequest(request.id) as RequestRow;
    if (applied === LOST_RACE) return { kind: 'failed', request: failed, problem: failed.decisionNote ?? problem };
    this.deps.log.error({ requestId: requestRef(request.id), problem }, 'grant failed');
    await this.notify({ type: 'request_failed', request: failed, problem });
    if (grant && left !== null) await this.notify({ type: 'grant_cleanup_pending', grant: this.deps.store.getGrant(grant.id) as GrantRow, problem: left });
    return { kind: 'failed', request: failed, problem };
  }

  /** Takes a grant back at its provider (the one named in the subject), with retries. */
  private revokeAt(subject: GrantSubject) {
    return withRetries(() => this.deps.providers.for(subject.provider).revoke(subject), this.deps.retry);
  }

  private async scheduleRevoke(grant: GrantRow): Promise<void> {
    // A scheduling failure is not fatal: the reconciler finds active grants without a job.
    await this.safely('schedule revoke', () => this.deps.scheduler.scheduleRevoke(grant.id, new Date(grant.expiresAt ?? 0), expiryWarningAt(grant)));
  }

  private async subjectOf(grant: GrantRow): Promise<GrantSubject> {
    const email = await this.deps.directory.userEmail(grant.user).catch(() => null);
    return {
      grantId: grantRef(grant.id),
      requestId: requestRef(grant.requestId),
      user: { slackId: grant.user, email },
      resource: grant.resource,
      role: grant.role,
      reason: grant.reason,
      startsAt: new Date(grant.startsAt ?? grant.createdAt),
      expiresAt: new Date(grant.expiresAt ?? grant.createdAt),
      breakglass: grant.breakglass,
      provider: grant.provider,
      providerState: grant.providerState,
    };
  }

  private notify(event: Parameters<Notifier['notify']>[0]): Promise<void> {
    return this.safely(`notify ${event.type}`, () => this.deps.notifier.notify(event));
  }

  private async safely(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.deps.log.warn({ problem: errorMessage(error) }, `${what} failed`);
    }
  }
}
