// The store port: every read and write the application makes of its database, asynchronous, for SQLite and PostgreSQL alike.
import type { AuditAction, AuditEntryInput } from './audit-entry.ts';
import type { GrantState, RequestState } from './errors.ts';
import type {
  ApprovalRecord,
  AuditRecord,
  BlockedUserRecord,
  GrantPatch,
  GrantRecord,
  GrantSchedule,
  GroupApprovedGrant,
  NewGrant,
  NewRequest,
  RecentAudit,
  RecentGrant,
  RequestPatch,
  RequestRecord,
  ReviewVerdict,
} from './records.ts';

/** Returned by `transaction` when the body called `abort()`: another event won the race. */
export const LOST_RACE = Symbol('lost race');

/** Reads the core makes both outside a transaction and inside one (there they see the transaction's own writes). */
export interface RecordReads {
  getRequest(id: number): Promise<RequestRecord | undefined>;
  getGrant(id: number): Promise<GrantRecord | undefined>;
  /** The grants made for a request, oldest first: one, or one per member of a bundle. */
  grantsOfRequest(requestId: number): Promise<GrantRecord[]>;
  /** The approvals of a request, oldest first. */
  approvalsFor(requestId: number): Promise<ApprovalRecord[]>;
  /** Whether an admin blocked this person (`/access revoke-all`) and has not unblocked them. */
  isBlocked(user: string): Promise<boolean>;
  /** Which of these people are blocked now. */
  blockedAmong(users: readonly string[]): Promise<Set<string>>;
  /**
   * Whether an admin blocked this person at or after `sinceMs`, whether or not they were unblocked again (the block
   * row is gone after an unblock, so the audit log's `user.blocked` entries are asked too).
   */
  blockedSince(user: string, sinceMs: number): Promise<boolean>;
  /** When `action` was last audited, or null. */
  lastAuditAt(action: AuditAction): Promise<Date | null>;
  /**
   * Break-glass requests (not extensions) this person made since `since` that stand: approved or scheduled, so granted,
   * live or being granted (a failed grant fails its request). Counted where a request is stored, so replicas agree.
   */
  breakglassRequestsSince(user: string, since: number): Promise<number>;
}

/**
 * What a transaction body may do. A body must only await these methods: no I/O (Slack, providers, timers) inside a
 * transaction, because the database is held (SQLite: one writer at a time) until the body settles. Every write is
 * conditional where a race is possible, and returns false (or the caller aborts) when the race was lost.
 */
export interface TransactionPort extends RecordReads {
  insertRequest(values: NewRequest): Promise<RequestRecord>;
  /** Conditional update: changes the row only while its state is one of `from` (and its step is `step`, if given). */
  updateRequest(id: number, from: RequestState | RequestState[], patch: RequestPatch, step?: number): Promise<boolean>;
  /** False when this person already approved this step. */
  insertApproval(requestId: number, step: number, approver: string, at: number): Promise<boolean>;
  insertGrant(values: NewGrant): Promise<GrantRecord>;
  updateGrant(id: number, from: GrantState | GrantState[], patch: GrantPatch): Promise<boolean>;
  /** Records the review of a break-glass grant; false when it is not break-glass or already reviewed. */
  markReviewed(grantId: number, reviewer: string, at: number): Promise<boolean>;
  /** Marks an ended grant as waiting for these reviewers; false when it already waits or was reviewed. */
  requestReview(grantId: number, from: string, leads: string[] | null): Promise<boolean>;
  /** Records a post-access review's verdict once; false when the grant is not waiting for review any more. */
  recordReview(grantId: number, reviewer: string, verdict: ReviewVerdict, note: string | null, at: number): Promise<boolean>;
  /**
   * Takes back the review this person gave, so it waits again: for `reviewers` when given (a team-lead review whose
   * leads are blocked goes elsewhere), else for its reviewers as stored. False when they did not give it.
   */
  reopenReview(grantId: number, reviewer: string, reviewers?: { from: string; leads: string[] | null }): Promise<boolean>;
  /** False when the person was already blocked (the first block, its reason and its author stand). */
  insertBlock(row: BlockedUserRecord): Promise<boolean>;
  /** False when the person was not blocked. */
  deleteBlock(user: string): Promise<boolean>;
  /** Appends one entry to the hash-chained audit log, in this transaction. */
  audit(entry: AuditEntryInput): Promise<AuditRecord>;
  /**
   * Rolls the whole transaction back; `transaction` then resolves to LOST_RACE. Synchronous on purpose: it throws,
   * so nothing after it in the body runs (a returned promise could be left unawaited and the body would go on).
   */
  abort(): never;
}

/** Look-ups for ending grants whose reason has gone: the incident channel, the auto-approving group, an admin's block. */
export interface ReasonQueries {
  /** Live break-glass grants made from this channel. */
  liveBreakglassGrantIdsIn(channelId: string): Promise<number[]>;
  /** The channels live break-glass grants were made from. */
  channelsWithLiveBreakglass(): Promise<string[]>;
  /** Live grants auto-approved because their holder was in a group (directly or by an extension), one row per group. */
  liveGroupApprovedGrants(): Promise<GroupApprovedGrant[]>;
  /** Live grants of blocked people: a grant that was being made while `/access revoke-all` ran. */
  liveGrantIdsOfBlocked(): Promise<number[]>;
  /** Live grants resting on the approval of someone now blocked (of their request, or of an approved extension). */
  liveGrantIdsApprovedByBlocked(): Promise<number[]>;
  /** Grants whose review (break-glass or post-access) someone now blocked gave less than `windowMs` before their block. */
  grantIdsReviewedByBlocked(windowMs: number): Promise<number[]>;
}

/** Post-access review outside transactions (the writes of a review are on `TransactionPort`). */
export interface ReviewQueries {
  /** Remembers where a review card is; not a state change, so not audited. */
  setReviewCard(grantId: number, channel: string, ts: string): Promise<void>;
  /** Ended grants of tiers with `review:` still waiting, oldest first. */
  awaitingReview(): Promise<GrantRecord[]>;
  /** Every review still to do, break-glass included: the `sesame_reviews_pending` gauge. */
  countPending(): Promise<number>;
}

/** Read-only views of the newest audit entries and grants, for the playground's live side panel. */
export interface RecentQueries {
  auditEntries(limit: number): Promise<RecentAudit[]>;
  grants(limit: number): Promise<RecentGrant[]>;
}

/**
 * The application's database. Every state change runs in `transaction` with its audit entries; the small writes
 * outside it (`setRequestCard`, `setGrantDm`, `reviews.setReviewCard`) change no state the lifecycle decides on.
 */
export interface StorePort extends RecordReads {
  /**
   * Runs `body` in one serializable write transaction (SQLite: a savepoint in a batch of one BEGIN IMMEDIATE, see
   * group-commit.ts): committed when it resolves, rolled back when it throws (rethrown) or calls `tx.abort()` (then
   * LOST_RACE); on SQLite both settle once the batch has ended. The body must only await `tx` methods.
   */
  transaction<T>(now: Date, body: (tx: TransactionPort) => Promise<T>): Promise<T | typeof LOST_RACE>;
  /** Writes audit entries that record no state change (refusals, policy reloads). */
  audit(now: Date, ...entries: AuditEntryInput[]): Promise<AuditRecord[]>;
  /** True while the database answers a query; for readiness checks. */
  ping(): Promise<boolean>;

  grantForRequest(requestId: number): Promise<GrantRecord | undefined>;
  requestsBy(requester: string, states: RequestState[]): Promise<RequestRecord[]>;
  grantsOf(user: string, states: GrantState[]): Promise<GrantRecord[]>;
  /**
   * The other grants that hold `accessKey` at the provider: the live ones, and with `pending` also those left pending
   * (callers serialize per key, so a pending one is never a grant still on its way).
   */
  holdersOf(accessKey: string, exceptId: number, options: { pending: boolean }): Promise<GrantRecord[]>;
  /** Requests in `states` that `approver` approved a step of, oldest first. */
  requestsApprovedBy(approver: string, states: RequestState[]): Promise<RequestRecord[]>;
  /** Grants in `states` whose request, or an approved extension of them, `approver` approved a step of, oldest first. */
  grantsApprovedBy(approver: string, states: GrantState[]): Promise<GrantRecord[]>;
  pendingRequests(): Promise<RequestRecord[]>;
  countGrants(state: GrantState): Promise<number>;
  /** Grants of this person made (and not failed) since `since`: break-glass uses counted against the hourly limit. */
  breakglassGrantsSince(user: string, since: number): Promise<number>;
  /** Break-glass grants nobody has acknowledged yet, oldest first. */
  unreviewedBreakglassGrants(): Promise<GrantRecord[]>;

  /** Remembers where a request's approval card is; not a state change, so not audited. */
  setRequestCard(id: number, channel: string, ts: string): Promise<void>;
  /** Remembers (or forgets, with nulls) the DM that carried a grant's provider message, so its end can delete it. */
  setGrantDm(id: number, channel: string | null, ts: string | null): Promise<void>;

  // Pages (by id, after `afterId`) for the reconciler's sweeps, so none loads every row.
  /** Live grants whose end has passed, and every `revoke_failed` grant, due or not. */
  dueGrantIds(nowMs: number, afterId: number, limit: number): Promise<number[]>;
  /** Grants left `pending` since before `cutoffMs`: a grant interrupted mid-call to its provider. */
  stalePendingGrantIds(cutoffMs: number, afterId: number, limit: number): Promise<number[]>;
  /** Ended grants whose provider clean-up is still to finish. */
  cleanupPendingGrantIds(afterId: number, limit: number): Promise<number[]>;
  /** Active grants with their schedule. */
  activeGrantSchedules(afterId: number, limit: number): Promise<GrantSchedule[]>;
  /**
   * Approved requests that no grant came of: approved (`approvedAt`) between `sinceMs` and `cutoffMs`, not an
   * extension, with no grant row (a bundle: fewer than its members). Sesame stopped before the grant's first write.
   */
  strandedRequestIds(sinceMs: number, cutoffMs: number, afterId: number, limit: number): Promise<number[]>;
  /** Scheduled requests whose window has started: their activation job is late or lost. */
  dueScheduledRequestIds(nowMs: number, afterId: number, limit: number): Promise<number[]>;
  /** Pending requests past their timeout. */
  overdueRequestIds(nowMs: number, afterId: number, limit: number): Promise<number[]>;
  /** Pending requests whose step's escalation time has passed. */
  dueEscalationIds(nowMs: number, afterId: number, limit: number): Promise<number[]>;

  readonly reasons: ReasonQueries;
  readonly reviews: ReviewQueries;
  readonly recent: RecentQueries;
}

/** Writes audit entries that record no state change (refusals, policy reloads), in one transaction of `store`. */
export async function auditInTransaction(store: Pick<StorePort, 'transaction'>, now: Date, entries: AuditEntryInput[]): Promise<AuditRecord[]> {
  const result = await store.transaction(now, async (tx) => {
    const rows: AuditRecord[] = [];
    for (const entry of entries) rows.push(await tx.audit(entry));
    return rows;
  });
  return result === LOST_RACE ? [] : result;
}
