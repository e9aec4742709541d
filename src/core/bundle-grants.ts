// Bundle requests at grant time: members granted in order, all or nothing; ended and extended together.
import { BUNDLE_ROLE, type BundleMember } from '../policy/bundles.ts';
import { resolveTarget } from '../policy/decide.ts';
import type { Ms } from '../policy/duration.ts';
import type { Policy } from '../policy/schema.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { GrantOutcome, NewAccessRequest } from './access-types.ts';
import type { GrantKeeper } from './grant-keeper.ts';
import type { EndOutcome, FulfilOutcome, GrantKeeperDeps } from './grant-model.ts';
import { LIVE_GRANT_STATES } from './lifecycle.ts';
import { extendingOf } from './redecide.ts';

type Deps = Pick<GrantKeeperDeps, 'store' | 'clock' | 'policy' | 'log'>;

/**
 * Grants each member of an approved bundle request in order, all ending at the same moment. When one fails, the
 * request is already failed by the keeper (naming the member); the members granted before it are revoked, so a
 * bundle never leaves part of its access behind.
 */
export async function fulfilBundle(keeper: GrantKeeper, deps: Deps, request: RequestRecord, members: readonly BundleMember[]): Promise<FulfilOutcome> {
  // A scheduled bundle ends at its window's end, however late it starts.
  const endsAt = new Date((request.startsAt ?? deps.clock.now().getTime()) + request.durationMs);
  const granted: GrantRecord[] = [];
  const messages: string[] = [];
  const undo = async () => {
    for (const grant of granted) await keeper.end(grant.id, 'revoked', 'sesame');
  };
  for (const member of members) {
    let outcome: FulfilOutcome;
    try {
      outcome = await keeper.fulfil({ ...request, resource: member.resource, role: member.role }, endsAt);
    } catch (error) {
      await undo();
      throw error;
    }
    if (outcome.kind === 'failed') {
      await undo();
      return { kind: 'failed', request: await deps.store.getRequest(request.id) ?? outcome.request, problem: outcome.problem };
    }
    if (outcome.kind === 'scheduled') throw new Error(`bug: bundle member ${member.resource} ${member.role} was scheduled, not granted now`);
    granted.push(outcome.grant);
    if (outcome.providerMessage !== null) messages.push(`${member.resource} ${member.role}: ${outcome.providerMessage}`);
  }
  const first = granted[0];
  if (first === undefined) throw new Error(`bug: bundle request ${request.id} has no members`);
  return { kind: 'granted', request, grant: first, grants: granted, providerMessage: messages.length > 0 ? messages.join('\n') : null };
}

/** The grants that end or extend together with this one: every live grant of its request (just itself outside bundles). */
export async function grantsTogetherWith(deps: Pick<Deps, 'store'>, grant: GrantRecord): Promise<GrantRecord[]> {
  const request = await deps.store.getRequest(grant.requestId);
  if (request?.bundleMembers == null) return [grant];
  return [grant, ...(await deps.store.grantsOfRequest(grant.requestId)).filter((g) => g.id !== grant.id && LIVE_GRANT_STATES.includes(g.state))];
}

/** Revoking any member of a bundle revokes the whole bundle; the outcome is the named grant's. */
export async function revokeTogether(keeper: GrantKeeper, deps: Pick<Deps, 'store'>, grant: GrantRecord, by: string): Promise<EndOutcome> {
  const [named, ...others] = await grantsTogetherWith(deps, grant);
  const ended = await keeper.end(named ?? grant, 'revoked', by);
  for (const other of others) await keeper.end(other, 'revoked', by);
  return ended;
}

/** What an extension of this grant asks the policy: for a bundle member, more time on the whole bundle. */
export async function extensionQuery(deps: Pick<Deps, 'store'>, grant: GrantRecord, by: string, duration: Ms): Promise<NewAccessRequest> {
  const request = await deps.store.getRequest(grant.requestId);
  const target = request?.bundleMembers == null ? { resource: grant.resource, role: grant.role } : { resource: request.resource, role: BUNDLE_ROLE };
  return { requester: by, ...target, duration, reason: grant.reason, extending: extendingOf(grant) };
}

/** The longest a grant of this request may last in all: a bundle's is its members' smallest max_duration. */
export function maxTotalOf(policy: Policy, request: RequestRecord): Ms {
  const members = request.bundleMembers ?? [{ resource: request.resource, role: request.role }];
  const maxima = members.map((m) => resolveTarget(policy, m)).map((t) => (t.ok ? t.tier.max_duration : 0));
  return Math.min(...maxima);
}

/**
 * The tier a grant was given under, in the policy in force now: a bundle's request carries its strictest member's
 * tier, but each member keeps its own tier's rules (such as `review:`). The request's tier when the policy has since
 * dropped the member's resource or role.
 */
export function tierOfGrant(policy: Policy, grant: Pick<GrantRecord, 'resource' | 'role'>, request: Pick<RequestRecord, 'tier' | 'bundleMembers'>): string {
  if (request.bundleMembers === null) return request.tier;
  const target = resolveTarget(policy, grant);
  return target.ok ? target.tierName : request.tier;
}

/**
 * Applies an approved extension request: every live grant of the extended grant's bundle moves its end together.
 * Members share one end and none started before it was set, so the check against the bundle's maximum that lets one
 * of them move lets all of them move.
 */
export async function extendTogether(keeper: GrantKeeper, deps: Deps, request: RequestRecord, extendsGrantId: number): Promise<GrantOutcome> {
  const grant = await deps.store.getGrant(extendsGrantId) as GrantRecord;
  const maxTotal = maxTotalOf(deps.policy().policy, request);
  // Only members the extension was decided for: one the policy has since dropped from the bundle keeps its old end.
  const decided = (g: GrantRecord) => request.bundleMembers === null || request.bundleMembers.some((m) => m.resource === g.resource && m.role === g.role);
  const moved = new Map<number, GrantRecord | null>();
  for (const member of (await grantsTogetherWith(deps, grant)).filter((g) => g.state === 'active' && decided(g))) {
    moved.set(member.id, await keeper.extend(member, request, request.durationMs, request.decidedBy ?? 'sesame', maxTotal));
  }
  // The grant named in the command, or (when the policy dropped it from the bundle) the first member that moved.
  const extended = moved.has(grant.id) ? (moved.get(grant.id) ?? null) : ([...moved.values()].find((g) => g !== null) ?? null);
  return { kind: 'extended', request, grant: extended };
}

/**
 * After the sweep undid a bundle member's grant interrupted by a crash (failing its request), the members granted
 * before the crash are revoked too: a failed bundle keeps nothing.
 */
export async function undoRestOfBundle(keeper: GrantKeeper, deps: Pick<Deps, 'store'>, grantId: number): Promise<void> {
  const grant = await deps.store.getGrant(grantId);
  const request = grant === undefined ? undefined : await deps.store.getRequest(grant.requestId);
  if (request?.bundleMembers == null || request.state !== 'failed') return;
  await revokeLiveMembers(keeper, deps, request.id);
}

/** Revokes every live grant of a failed bundle request: a bundle is all or nothing. */
export async function revokeLiveMembers(keeper: GrantKeeper, deps: Pick<Deps, 'store'>, requestId: number, reason?: string): Promise<void> {
  for (const grant of await deps.store.grantsOfRequest(requestId)) if (LIVE_GRANT_STATES.includes(grant.state)) await keeper.end(grant, 'revoked', 'sesame', reason);
}
