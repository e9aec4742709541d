// Approved requests that no grant came of: Sesame stopped between the approval's commit and the grant's first write
// (for a bundle, its next member's), so nothing more was granted. The reconciler fails them and tells the requester.
import { revokeLiveMembers } from './bundle-grants.ts';
import type { GrantKeeper } from './grant-keeper.ts';
import type { FulfilOutcome, GrantKeeperDeps } from './grant-model.ts';
import { grantRef, requestRef } from './ids.ts';
import type { RequestRecord } from './records.ts';
import { safely } from './side-effects.ts';
import { LOST_RACE } from './store-port.ts';

/** What a stranded request is failed with, for the requester to read. */
export const STRANDED_PROBLEM = 'Sesame stopped after this request was approved and before anything was granted, so nothing was; request it again';

/** The same for a bundle stopped between members, whose members granted before the stop are taken back. */
export const strandedBundleProblem = (granted: number, members: number): string =>
  `Sesame stopped while granting this bundle, after ${granted} of its ${members} members; those are taken back, since a bundle is all or nothing, so request it again`;

type Deps = Pick<GrantKeeperDeps, 'store' | 'clock' | 'log' | 'notifier'>;

export class StrandedRequests {
  /** Requests this process is granting now, however long they wait for their access key: never stranded. */
  private readonly inHand = new Map<number, number>();

  constructor(
    private readonly deps: Deps,
    private readonly keeper: GrantKeeper,
  ) {}

  /** Runs the grant of an approved request (every one passes here), marked as in this process's hands meanwhile. */
  async granting<T>(requestId: number, work: () => Promise<T>): Promise<T> {
    this.inHand.set(requestId, (this.inHand.get(requestId) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.inHand.get(requestId) ?? 1) - 1;
      if (left === 0) this.inHand.delete(requestId);
      else this.inHand.set(requestId, left);
    }
  }

  /**
   * Fails an approved request no grant came of (a bundle: fewer grants than members, none pending) and tells the
   * requester; a bundle's members granted before the stop are revoked, since a bundle is all or nothing. False when
   * this process is granting it, or it was granted, extended or ended meanwhile.
   */
  async fail(requestId: number): Promise<boolean> {
    const { store } = this.deps;
    const request = await store.getRequest(requestId);
    if (this.inHand.has(requestId) || request?.state !== 'approved' || request.extendsGrantId !== null) return false;
    const made = await store.grantsOfRequest(requestId);
    const members = request.bundleMembers?.length ?? 1;
    if (made.length >= members || made.some((g) => g.state === 'pending')) return false;
    const problem = made.length === 0 ? STRANDED_PROBLEM : strandedBundleProblem(made.length, members);
    const failed = await store.transaction(this.deps.clock.now(), async (tx) => {
      // Checked with the write, for another replica's grant begun meanwhile; and a grant's own first write refuses a
      // request that is no longer approved, so whichever commits second gives way.
      if ((await tx.grantsOfRequest(requestId)).length !== made.length) tx.abort();
      if (!await tx.updateRequest(requestId, 'approved', { state: 'failed', decisionNote: problem })) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'grant.failed', requestId: requestRef(requestId), details: { problem, revoking: made.length > 0 ? made.map((g) => grantRef(g.id)) : undefined } });
    });
    if (failed === LOST_RACE) return false;
    this.deps.log.warn({ requestId: requestRef(requestId) }, 'an approved request was never granted (Sesame stopped in between); failed it and told the requester');
    const fresh = await store.getRequest(requestId) as RequestRecord;
    await safely(this.deps.log, 'notify request_failed', () => this.deps.notifier.notify({ type: 'request_failed', request: fresh, problem }));
    if (made.length > 0) await revokeLiveMembers(this.keeper, this.deps, requestId, 'the rest of its bundle was never granted');
    return true;
  }
}

/** The outcome of a grant that found its request no longer approved at its first write: whoever ended it told the requester. */
export async function endedBeforeGranted(store: Deps['store'], request: RequestRecord): Promise<FulfilOutcome> {
  const ended = await store.getRequest(request.id) as RequestRecord;
  return { kind: 'failed', request: ended, problem: ended.decisionNote ?? `request ${requestRef(request.id)} is ${ended.state}, not approved` };
}
