// The queries the core needs; every state change runs in one IMMEDIATE transaction with its audit entries.
import type { Transaction as SqliteTransaction } from 'better-sqlite3';
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lte, or, type SQL } from 'drizzle-orm';
import type { GrantState, RequestState } from '../core/errors.ts';
import { canTransitionGrant, canTransitionRequest } from '../core/lifecycle.ts';
import { LOST_RACE } from '../core/store-port.ts';
import { AuditLog, type AuditEntryInput } from './audit.ts';
import { isBlocked } from './blocks.ts';
import type { Db } from './db.ts';
import { hotQueries, type HotQueries } from './hot-queries.ts';
import { auditLog, grants, requests, type ApprovalRow, type AuditRow, type GrantRow, type RequestRow } from './schema.ts';

export type NewRequest = typeof requests.$inferInsert;
export type NewGrant = typeof grants.$inferInsert;
export type RequestPatch = Partial<Omit<NewRequest, 'id'>>;
export type GrantPatch = Partial<Omit<NewGrant, 'id'>>;

export { LOST_RACE };

class Abort extends Error {}

/** What a transaction body may do; all synchronous, because better-sqlite3 transactions are. */
export interface Transaction {
  insertRequest(values: Omit<NewRequest, 'id'>): RequestRow;
  /** Conditional update: changes the row only while its state is one of `from` (and its step is `step`, if given). */
  updateRequest(id: number, from: RequestState | RequestState[], patch: RequestPatch, step?: number): boolean;
  /** False when this person already approved this step. */
  insertApproval(requestId: number, step: number, approver: string, at: number): boolean;
  insertGrant(values: Omit<NewGrant, 'id'>): GrantRow;
  updateGrant(id: number, from: GrantState | GrantState[], patch: GrantPatch): boolean;
  /** The grant as it is now, read inside the transaction: what a transition and its audit entry must be based on. */
  getGrant(id: number): GrantRow | undefined;
  /** Records the review of a break-glass grant; false when it is not break-glass or already reviewed. */
  markReviewed(grantId: number, reviewer: string, at: number): boolean;
  audit(entry: AuditEntryInput): AuditRow;
  /** Rolls the whole transaction back; `transaction` then returns LOST_RACE. */
  abort(): never;
}

/** A transition the state machine does not allow is a bug in the caller, not a lost race. Staying put is allowed. */
function assertTransitions<S extends string>(kind: string, from: S[], to: S | undefined, allowed: (from: S, to: S) => boolean): undefined {
  const wrong = to === undefined ? undefined : from.find((f) => f !== to && !allowed(f, to));
  if (wrong !== undefined) throw new Error(`bug: a ${kind} cannot go from ${wrong} to ${to}`);
  return undefined;
}

export class Store {
  readonly auditLog: AuditLog;
  private readonly hot: HotQueries;
  /** better-sqlite3's transaction wrapper, made once: drizzle's `db.transaction` makes a new one (and a new tx object) per call. */
  private readonly inTransaction: SqliteTransaction<(body: () => unknown) => unknown>;

  constructor(
    readonly db: Db,
    private readonly policySha256: () => string,
  ) {
    this.auditLog = new AuditLog(db.$client);
    this.hot = hotQueries(db);
    this.inTransaction = db.$client.transaction((body: () => unknown) => body());
  }

  transaction<T>(now: Date, body: (tx: Transaction) => T): T | typeof LOST_RACE {
    const tx = this.transactionApi(now);
    try {
      return this.auditLog.within(() => this.inTransaction.immediate(() => body(tx)) as T);
    } catch (error) {
      if (error instanceof Abort) return LOST_RACE;
      throw error;
    }
  }

  /** Writes audit entries that record no state change (refusals, policy reloads). */
  audit(now: Date, ...entries: AuditEntryInput[]): AuditRow[] {
    const result = this.transaction(now, (tx) => entries.map((e) => tx.audit(e)));
    return result === LOST_RACE ? [] : result;
  }

  /** True while the database answers a query; for readiness checks. */
  ping(): boolean {
    try {
      this.db.$client.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  getRequest(id: number): RequestRow | undefined {
    return this.hot.request.get({ id });
  }

  getGrant(id: number): GrantRow | undefined {
    return this.hot.grant.get({ id });
  }

  grantForRequest(requestId: number): GrantRow | undefined {
    return this.hot.grantsOfRequest.get({ id: requestId });
  }

  /** All grants of a request in the order they were made: one, or one per member of a bundle. */
  grantsOfRequest(requestId: number): GrantRow[] {
    return this.hot.grantsOfRequest.all({ id: requestId });
  }

  approvalsFor(requestId: number): ApprovalRow[] {
    return this.hot.approvals.all({ id: requestId });
  }

  requestsBy(requester: string, states: RequestState[]): RequestRow[] {
    return this.db.select().from(requests).where(and(eq(requests.requester, requester), inArray(requests.state, states))).orderBy(asc(requests.id)).all();
  }

  grantsOf(user: string, states: GrantState[]): GrantRow[] {
    return this.db.select().from(grants).where(and(eq(grants.user, user), inArray(grants.state, states))).orderBy(asc(grants.id)).all();
  }

  /**
   * The other grants that hold `accessKey` at the provider: the live ones, and with `pending` also those left pending
   * (a grant interrupted after its provider call may have granted; callers serialize per key, so a pending one is never
   * a grant still on its way). A new grant shares with either; an end keeps the access only for a live one, because
   * an interrupted grant is undone anyway and must not hold access past the last live grant.
   */
  holdersOf(accessKey: string, exceptId: number, options: { pending: boolean }): GrantRow[] {
    return (options.pending ? this.hot.holders.pending : this.hot.holders.live).all({ key: accessKey, except: exceptId });
  }

  /** Remembers where a request's approval card is; not a state change, so not audited. */
  setRequestCard(id: number, channel: string, ts: string): void {
    this.hot.setRequestCard.run({ id, channel, ts });
  }

  /** Remembers (or forgets, with nulls) the DM that carried a grant's provider message, so its end can delete it. */
  setGrantDm(id: number, channel: string | null, ts: string | null): void {
    this.hot.setGrantDm.run({ id, channel, ts });
  }

  countGrants(state: GrantState): number {
    return this.db.select({ n: count() }).from(grants).where(eq(grants.state, state)).get()?.n ?? 0;
  }

  /** One page (by id) of live grants whose end has passed; the reconciler walks them without loading all. */
  /** Also every `revoke_failed` grant, due or not: a revoke that failed early (revoke-all, say) is retried until it succeeds. */
  dueGrantIds(nowMs: number, afterId: number, limit: number): number[] {
    return this.grantIdsPage(or(and(eq(grants.state, 'active'), lte(grants.expiresAt, nowMs)), eq(grants.state, 'revoke_failed')), afterId, limit);
  }

  /** One page (by id) of grants left `pending` since before `cutoffMs`: a grant interrupted mid-call to its provider. */
  stalePendingGrantIds(cutoffMs: number, afterId: number, limit: number): number[] {
    return this.grantIdsPage(and(eq(grants.state, 'pending'), lte(grants.createdAt, cutoffMs)), afterId, limit);
  }

  /** One page (by id) of ended grants whose provider clean-up is still to finish. */
  cleanupPendingGrantIds(afterId: number, limit: number): number[] {
    return this.grantIdsPage(isNotNull(grants.cleanupPending), afterId, limit);
  }

  private grantIdsPage(where: SQL | undefined, afterId: number, limit: number): number[] {
    return this.db
      .select({ id: grants.id })
      .from(grants)
      .where(and(where, gt(grants.id, afterId)))
      .orderBy(asc(grants.id))
      .limit(limit)
      .all()
      .map((r) => r.id);
  }

  /** One page (by id) of active grants with their schedule. */
  activeGrantSchedules(afterId: number, limit: number): { id: number; startsAt: number | null; expiresAt: number | null }[] {
    return this.db
      .select({ id: grants.id, startsAt: grants.startsAt, expiresAt: grants.expiresAt })
      .from(grants)
      .where(and(eq(grants.state, 'active'), gt(grants.id, afterId)))
      .orderBy(asc(grants.id))
      .limit(limit)
      .all();
  }

  /** One page (by id) of scheduled requests whose window has started: their activation job is late or lost. */
  dueScheduledRequestIds(nowMs: number, afterId: number, limit: number): number[] {
    return this.db
      .select({ id: requests.id })
      .from(requests)
      .where(and(eq(requests.state, 'scheduled'), lte(requests.startsAt, nowMs), gt(requests.id, afterId)))
      .orderBy(asc(requests.id))
      .limit(limit)
      .all()
      .map((r) => r.id);
  }

  /** One page (by id) of pending requests past their timeout. */
  overdueRequestIds(nowMs: number, afterId: number, limit: number): number[] {
    return this.db
      .select({ id: requests.id })
      .from(requests)
      .where(and(eq(requests.state, 'pending'), lte(requests.timeoutAt, nowMs), gt(requests.id, afterId)))
      .orderBy(asc(requests.id))
      .limit(limit)
      .all()
      .map((r) => r.id);
  }

  /** One page (by id) of pending requests whose step's escalation time has passed (not yet escalated: that clears it). */
  dueEscalationIds(nowMs: number, afterId: number, limit: number): number[] {
    return this.db
      .select({ id: requests.id })
      .from(requests)
      .where(and(isNotNull(requests.escalateAt), lte(requests.escalateAt, nowMs), eq(requests.state, 'pending'), gt(requests.id, afterId)))
      .orderBy(asc(requests.id))
      .limit(limit)
      .all()
      .map((r) => r.id);
  }

  pendingRequests(): RequestRow[] {
    return this.db.select().from(requests).where(eq(requests.state, 'pending')).orderBy(asc(requests.id)).all();
  }

  /** Whether an admin blocked this person (`/access revoke-all`); see blocks.ts. */
  isBlocked(user: string): boolean {
    return isBlocked(this.db, user);
  }

  breakglassGrantsSince(user: string, since: number): number {
    const row = this.db
      .select({ n: count() })
      .from(grants)
      .where(and(eq(grants.user, user), eq(grants.breakglass, true), gte(grants.createdAt, since), inArray(grants.state, ['pending', 'active', 'expired', 'revoked', 'revoke_failed'])))
      .get();
    return row?.n ?? 0;
  }

  /** Break-glass grants nobody has acknowledged yet (interrupted or failed ones gave no access, so need none), oldest first. */
  unreviewedBreakglassGrants(): GrantRow[] {
    return this.db
      .select()
      .from(grants)
      .where(and(eq(grants.breakglass, true), isNull(grants.reviewedBy), inArray(grants.state, ['active', 'expired', 'revoked', 'revoke_failed'])))
      .orderBy(asc(grants.id))
      .all();
  }

  /** When `action` was last audited, or null. */
  lastAuditAt(action: string): Date | null {
    const row = this.db.select({ at: auditLog.at }).from(auditLog).where(eq(auditLog.action, action)).orderBy(desc(auditLog.id)).limit(1).get();
    return row ? new Date(row.at) : null;
  }

  private transactionApi(now: Date): Transaction {
    const { db, hot } = this;
    const states = <S extends string>(from: S | S[]): S[] => (Array.isArray(from) ? from : [from]);
    return {
      insertRequest: (values) => hot.insertRequest(values),
      updateRequest: (id, from, patch, step) =>
        assertTransitions('request', states(from), patch.state, canTransitionRequest) ?? hot.updateRequest(id, states(from), patch, step) === 1,
      insertApproval: (requestId, step, approver, at) => hot.insertApproval.run({ requestId, step, approver, at }).changes === 1,
      insertGrant: (values) => hot.insertGrant(values),
      updateGrant: (id, from, patch) => assertTransitions('grant', states(from), patch.state, canTransitionGrant) ?? hot.updateGrant(id, states(from), patch) === 1,
      getGrant: (id) => hot.grant.get({ id }),
      markReviewed: (grantId, reviewer, at) =>
        db.update(grants).set({ reviewedBy: reviewer, reviewedAt: at }).where(and(eq(grants.id, grantId), eq(grants.breakglass, true), isNull(grants.reviewedBy))).run().changes === 1,
      audit: (entry) => this.auditLog.append(entry, this.policySha256(), now),
      abort: () => {
        throw new Abort('lost race');
      },
    };
  }
}

