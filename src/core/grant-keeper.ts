// Turns approved requests into grants and ends them again, through the provider named in the grant.
import type { ProviderConfig } from '../policy/schema.ts';
import { LOST_RACE } from './store-port.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import { grantRef, requestRef } from './ids.ts';
import { EXPIRY_WARNING_MS, expiryWarningAt, LIVE_GRANT_STATES } from './lifecycle.ts';
import { keptForDetails, keptForGrantsEnded, sharedAccess } from './access-sharing.ts';
import { activateGrant, grantRefusal } from './grant-activation.ts';
import { resolveIdentity } from './identity.ts';
import { finishCleanup } from './grant-cleanup.ts';
import { cleanupLeftBy, subjectFor, type EndOutcome, type FulfilOutcome, type GrantKeeperDeps } from './grant-model.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { GrantSubject, Notifier, Provider } from './ports.ts';
import { ok } from './result.ts';
import { mayHaveGranted } from './provider-error.ts';
import { errorMessage, withRetries } from './retry.ts';
import { safely } from './side-effects.ts';
import { endedBeforeGranted } from './stranded-requests.ts';

export class GrantKeeper {
  /** Grants and ends of one access key run one at a time, so "is anyone else holding it?" stays true until acted on. */
  private readonly keys: NonNullable<GrantKeeperDeps['serializer']>;

  constructor(private readonly deps: GrantKeeperDeps) {
    this.keys = deps.serializer ?? new KeyedQueue();
  }

  /** Grants an approved request (or one bundle member: `endsAt` is then the bundle's); on lasting failure the request becomes `failed`. */
  async fulfil(request: RequestRecord, endsAt?: Date): Promise<FulfilOutcome> {
    const config = this.deps.policy().policy.resources[request.resource]?.provider;
    if (config === undefined) return this.failRequest(request, null, `resource ${request.resource} is no longer in the policy`);
    const provider = this.deps.providers.for(config);
    const email = await this.deps.directory.userEmail(request.requester).catch(() => null);
    const person = { slackId: request.requester, email };
    // Refused before anything is granted: a guessed account would give someone else the access.
    const identity = provider.identity ? resolveIdentity(provider.identity, person, this.deps.policy().policy.settings.identities) : ok(null);
    if (!identity.ok) return this.failRequest(request, null, identity.error);
    const accessKey = provider.accessKey?.({ user: person, identity: identity.value }) ?? null;
    return this.keys.run(accessKey, () => this.grantAt(request, config, identity.value, accessKey, endsAt));
  }

  /** The provider call and the activation, run one at a time per access key so overlapping grants see each other. */
  private async grantAt(request: RequestRecord, provider: ProviderConfig, identity: string | null, accessKey: string | null, endsAt: Date | undefined): Promise<FulfilOutcome> {
    const { store, clock } = this.deps;
    const createdAt = clock.now();
    // Blocks (requester and approvers), and that the request is still approved, are checked in the transaction that inserts the pending row: revoke-all's scan (or the stranded sweep's) sees the row, or this the block.
    const block = { party: null as Awaited<ReturnType<typeof grantRefusal>> };
    const pending = await store.transaction(createdAt, async (tx) => ((block.party = await grantRefusal(tx, request)) !== null ? tx.abort() :
      await tx.insertGrant({
        requestId: request.id,
        user: request.requester,
        resource: request.resource,
        role: request.role,
        provider,
        reason: request.reason,
        breakglass: request.breakglass,
        state: 'pending',
        createdAt: createdAt.getTime(),
        identity,
        accessKey,
      })),
    );
    if (pending === LOST_RACE) return block.party === 'ended' ? endedBeforeGranted(store, request) : this.failRequest(request, null, block.party === 'approver' ? 'an admin blocked an approver of this request (/access revoke-all) before the grant was made; ask again and someone else can approve it' : 'an admin blocked the requester (/access revoke-all) before the grant was made');

    const startsAt = clock.now();
    const expiresAt = endsAt ?? new Date((request.startsAt ?? startsAt.getTime()) + request.durationMs); // a window ends on time, however late it starts
    const subject = await this.subjectOf({ ...pending, startsAt: startsAt.getTime(), expiresAt: expiresAt.getTime() });
    const shared = sharedAccess(pending, accessKey === null ? [] : await store.holdersOf(accessKey, pending.id, { pending: true }));
    if (!shared.ok) return this.failRequest(request, pending, shared.error);
    const attempt = await withRetries(() => this.grantOrShare(subject, shared.value), this.deps.retry);
    if (!attempt.ok) {
      // A timeout or a garbled answer may hide a grant that did happen: take it back before calling it failed. Not
      // when the provider found the thing already there and not ours: the undo would destroy someone else's access.
      if (!mayHaveGranted(attempt.error)) return this.failRequest(request, pending, errorMessage(attempt.error));
      const undone = await this.revokeAt(subject, pending);
      if (!undone.ok) this.deps.log.error({ grantId: grantRef(pending.id), problem: errorMessage(undone.error) }, 'could not undo a failed grant at the provider');
      return this.failRequest(request, pending, errorMessage(attempt.error), cleanupLeftBy(undone));
    }
    const providerState = attempt.value.state ?? null;

    const now = clock.now();
    if (expiresAt.getTime() <= now.getTime()) {
      // The clock jumped (or the provider took longer than the whole window): never activate a grant already over.
      const undone = await this.revokeAt({ ...subject, providerState }, pending);
      return this.failRequest(request, pending, `the grant would have ended at ${expiresAt.toISOString()}, before it could start; check the server's clock`, cleanupLeftBy(undone));
    }
    const activated = await activateGrant(store, now, { request, pending, provider, createdAt, startsAt, expiresAt, providerState, attempts: attempt.attempts, shared: shared.value });
    if (activated === 'blocked_since') {
      // Undone here; when the undo fails the grant stays `pending`, so the sweep of interrupted grants undoes it later.
      const undone = await this.revokeAt({ ...subject, providerState }, pending);
      if (!undone.ok) {
        this.deps.log.error({ grantId: grantRef(pending.id), problem: errorMessage(undone.error) }, 'could not take back a grant whose requester or approver was blocked while it was being made');
        return { kind: 'failed', request, problem: 'an admin blocked the requester or an approver (/access revoke-all) while the grant was being made; taking it back failed and is retried' };
      }
      return this.failRequest(request, pending, 'an admin blocked the requester or an approver (/access revoke-all) while the grant was being made, so it was taken back instead of going live', cleanupLeftBy(undone));
    }
    if (activated === LOST_RACE) {
      // A sweep took this grant for interrupted and failed it while the provider was still granting: the access the
      // provider just gave belongs to no live grant, so it is taken back before reporting the bug.
      await this.revokeAt({ ...subject, providerState }, pending);
      throw new Error(`grant ${grantRef(pending.id)} left the pending state while being granted`);
    }
    const grant = await store.getGrant(pending.id) as GrantRecord;
    await this.scheduleRevoke(grant, true);
    const providerMessage = attempt.value.message ?? null;
    await this.notify({ type: 'grant_activated', request, grant, providerMessage });
    return { kind: 'granted', request, grant, providerMessage };
  }

  /**
   * Access another grant already gives is not granted again: the new grant takes over the first one's state
   * (e.g. "was not a member before"), so whichever ends last undoes exactly what the first one did. Only when
   * the provider says the access went missing meanwhile is it granted again, still under the first one's state.
   */
  private async grantOrShare(subject: GrantSubject, holder: GrantRecord | null): ReturnType<Provider['grant']> {
    const provider = this.deps.providers.for(subject.provider);
    if (holder === null) return provider.grant(subject);
    const inherited = { ...subject, providerState: holder.providerState };
    if (provider.check && (await provider.check(inherited)) === 'present') return holder.providerState ? { state: holder.providerState } : {};
    await provider.grant(inherited);
    return holder.providerState ? { state: holder.providerState } : {};
  }

  /**
   * Takes access away: the provider revokes (with retries), `check` confirms where the provider can tell, and only then the
   * grant becomes `outcome` (a failure leaves it `revoke_failed`). A grant read before gives its access key (never changed).
   */
  async end(grant: number | Pick<GrantRecord, 'id' | 'accessKey'>, outcome: 'revoked' | 'expired', actor: string, reason?: string): Promise<EndOutcome> {
    const accessKey = typeof grant === 'number' ? ((await this.deps.store.getGrant(grant))?.accessKey ?? null) : grant.accessKey;
    return this.keys.run(accessKey, () => this.endAt(typeof grant === 'number' ? grant : grant.id, outcome, actor, reason));
  }

  private async endAt(grantId: number, outcome: 'revoked' | 'expired', actor: string, reason: string | undefined): Promise<EndOutcome> {
    const { store, clock, log } = this.deps;
    const grant = await store.getGrant(grantId);
    if (grant === undefined) return { kind: 'unknown' };
    if (!LIVE_GRANT_STATES.includes(grant.state)) return { kind: 'not_live', grant };
    if (outcome === 'expired' && (grant.expiresAt ?? 0) > clock.now().getTime()) return { kind: 'not_due', grant };

    const config = grant.provider;
    const provider = this.deps.providers.for(config);
    const subject = await this.subjectOf(grant);
    let verified: boolean | null = null;
    // While another grant still holds the same access, this end only stops counting; the last end revokes.
    const keptFor = grant.accessKey === null ? [] : await store.holdersOf(grant.accessKey, grant.id, { pending: false });
    const attempt = await withRetries(async () => {
      if (keptFor.length > 0) return null;
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
      const failed = await store.transaction(now, async (tx) => {
        const current = await tx.getGrant(grant.id);
        if (current === undefined || !LIVE_GRANT_STATES.includes(current.state)) return tx.abort();
        const revokeAttempts = current.revokeAttempts + attempt.attempts;
        if (await tx.updateGrant(grant.id, 'active', { state: 'revoke_failed', revokeAttempts })) {
          // Audit the first failure loudly; later retries only count attempts, so the log is not flooded.
          await tx.audit({ actor: 'sesame', action: 'grant.revoke_failed', requestId: requestRef(grant.requestId), grantId: grantRef(grant.id), details: { problem, attempts: attempt.attempts } });
          return 'first' as const;
        }
        if (!await tx.updateGrant(grant.id, 'revoke_failed', { revokeAttempts })) tx.abort();
        return 'again' as const;
      });
      const fresh = await store.getGrant(grant.id) as GrantRecord;
      if (failed === LOST_RACE) return { kind: 'not_live', grant: fresh };
      log.error({ grantId: grantRef(grant.id), problem }, 'revoke failed');
      if (failed === 'first') await this.notify({ type: 'grant_revoke_failed', grant: fresh, problem });
      return { kind: 'revoke_failed', grant: fresh, problem };
    }
    const left = attempt.value;
    const ended = await store.transaction(now, async (tx) => {
      if (await keptForGrantsEnded(tx, keptFor)) tx.abort(); // another replica ended them meanwhile: start again, and revoke
      if (!await tx.updateGrant(grant.id, LIVE_GRANT_STATES, { state: outcome, endedAt: now.getTime(), endedBy: actor, cleanupPending: left })) tx.abort();
      const ids = { requestId: requestRef(grant.requestId), grantId: grantRef(grant.id) };
      const lateMs = outcome === 'expired' ? now.getTime() - (grant.expiresAt ?? now.getTime()) : undefined;
      await tx.audit({ actor, action: outcome === 'expired' ? 'grant.expired' : 'grant.revoked', ...ids, details: { late_ms: lateMs, attempts: attempt.attempts, reason, ...keptForDetails(keptFor) } });
      if (verified) await tx.audit({ actor: 'sesame', action: 'grant.verified_absent', ...ids, details: { provider: config.type } });
      // The access is gone, so the grant ends; what the provider could not remove yet is on record until a sweep does.
      if (left !== null) await tx.audit({ actor: 'sesame', action: 'grant.cleanup_pending', ...ids, details: { provider: config.type, problem: left } });
    });
    if (ended === LOST_RACE) return (await keptForGrantsEnded(store, keptFor)) ? this.endAt(grantId, outcome, actor, reason) : { kind: 'not_live', grant: await store.getGrant(grant.id) as GrantRecord };
    if (outcome === 'revoked') await this.safely('cancel revoke job', () => this.deps.scheduler.cancelRevoke(grant.id));
    const final = await store.getGrant(grant.id) as GrantRecord;
    await this.notify({ type: 'grant_ended', grant: final, outcome, by: actor });
    if (left !== null) await this.notify({ type: 'grant_cleanup_pending', grant: final, problem: left });
    return { kind: 'ended', grant: final, verified };
  }

  /** Retries the provider clean-up an ended grant left; true when it is now done. */
  finishCleanup = (grantId: number): Promise<boolean> => finishCleanup(this.deps, grantId, (event) => this.notify(event));

  /**
   * Pushes an active grant's end back by `byMs` and moves its revocation; null when it is no longer active or the
   * new end would make it last longer than `maxTotalMs` from its start (two extensions approved at once, say).
   */
  async extend(grant: GrantRecord, request: RequestRecord, byMs: number, actor: string, maxTotalMs: number): Promise<GrantRecord | null> {
    const { store, clock } = this.deps;
    const now = clock.now();
    let expiresAt = 0;
    const applied = await store.transaction(now, async (tx) => {
      // From the end as it is now: two extensions approved at once both count, each within the tier's maximum in
      // total, and each entry names the end it made.
      const current = await tx.getGrant(grant.id);
      expiresAt = (current?.expiresAt ?? now.getTime()) + byMs;
      if (current === undefined || expiresAt - (current.startsAt ?? current.createdAt) > maxTotalMs) tx.abort();
      if (!await tx.updateGrant(grant.id, 'active', { expiresAt })) tx.abort();
      await tx.audit({ actor, action: 'grant.extended', requestId: requestRef(request.id), grantId: grantRef(grant.id), details: { by_ms: byMs, expires_at: new Date(expiresAt).toISOString() } });
    });
    if (applied === LOST_RACE) return null;
    const extended = await store.getGrant(grant.id) as GrantRecord;
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
    const grant = await this.deps.store.getGrant(grantId);
    if (grant?.state !== 'pending') return false;
    const subject = await this.subjectOf(grant);
    const undone = await this.keys.run(grant.accessKey, () => this.revokeAt(subject, grant));
    if (!undone.ok) return false; // the next sweep tries again
    const request = await this.deps.store.getRequest(grant.requestId) as RequestRecord;
    await this.failRequest(request, grant, 'Sesame was interrupted while granting; the access was undone, so request it again', cleanupLeftBy(undone));
    return true;
  }

  /** Warns the holder that a grant ends soon; false when it has ended or was extended since the warning was set. */
  async warnExpiring(grantId: number): Promise<boolean> {
    const grant = await this.deps.store.getGrant(grantId);
    const left = (grant?.expiresAt ?? 0) - this.deps.clock.now().getTime();
    if (grant?.state !== 'active' || left <= 0 || left > EXPIRY_WARNING_MS + 60_000) return false;
    await this.notify({ type: 'grant_expiring', grant });
    return true;
  }

  /** `cleanupPending`: the undo at the provider cut the access but left something for the reconciler to remove. */
  private async failRequest(request: RequestRecord, grant: GrantRecord | null, cause: string, cleanupPending: string | null = null): Promise<FulfilOutcome> {
    const problem = request.bundleMembers === null ? cause : `${(grant ?? request).resource} ${(grant ?? request).role} (bundle ${(await this.deps.store.getRequest(request.id))?.resource ?? '?'}): ${cause}`;
    const now = this.deps.clock.now();
    const left = grant ? cleanupPending : null;
    // Both rows move or neither does: a sweep undoing the same interrupted grant may have failed it already.
    const applied = await this.deps.store.transaction(now, async (tx) => {
      if (grant && !await tx.updateGrant(grant.id, 'pending', { state: 'failed', endedAt: now.getTime(), cleanupPending: left })) tx.abort();
      if (!await tx.updateRequest(request.id, 'approved', { state: 'failed', decisionNote: problem })) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'grant.failed', requestId: requestRef(request.id), grantId: grant ? grantRef(grant.id) : null, details: { problem, created_at: grant ? new Date(grant.createdAt).toISOString() : undefined } });
      if (grant && left !== null) await tx.audit({ actor: 'sesame', action: 'grant.cleanup_pending', requestId: requestRef(request.id), grantId: grantRef(grant.id), details: { provider: grant.provider.type, problem: left } });
    });
    const failed = await this.deps.store.getRequest(request.id) as RequestRecord;
    if (applied === LOST_RACE) return { kind: 'failed', request: failed, problem: failed.decisionNote ?? problem };
    this.deps.log.error({ requestId: requestRef(request.id), problem }, 'grant failed');
    await this.notify({ type: 'request_failed', request: failed, problem });
    if (grant && left !== null) await this.notify({ type: 'grant_cleanup_pending', grant: await this.deps.store.getGrant(grant.id) as GrantRecord, problem: left });
    return { kind: 'failed', request: failed, problem };
  }

  /** Takes a grant back at its provider (the one named in the subject), with retries, unless another grant holds the same access. */
  private async revokeAt(subject: GrantSubject, grant: GrantRecord) {
    if (grant.accessKey !== null && (await this.deps.store.holdersOf(grant.accessKey, grant.id, { pending: false })).length > 0) return { ok: true as const, value: undefined, attempts: 0 };
    return withRetries(() => this.deps.providers.for(subject.provider).revoke(subject), this.deps.retry);
  }

  private async scheduleRevoke(grant: GrantRecord, first = false): Promise<void> {
    // A scheduling failure is not fatal: the reconciler finds active grants without a job.
    await this.safely('schedule revoke', () => this.deps.scheduler.scheduleRevoke(grant.id, new Date(grant.expiresAt ?? 0), expiryWarningAt(grant), first));
  }

  private async subjectOf(grant: GrantRecord): Promise<GrantSubject> {
    return subjectFor(grant, await this.deps.directory.userEmail(grant.user).catch(() => null));
  }

  private notify(event: Parameters<Notifier['notify']>[0]): Promise<void> {
    return this.safely(`notify ${event.type}`, () => this.deps.notifier.notify(event));
  }

  private safely(what: string, action: () => Promise<void>): Promise<void> {
    return safely(this.deps.log, what, action);
  }
}

