// The SQLite store: the port's queries on better-sqlite3; every state change runs in one transaction with its audit entries (group-committed).
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lte, notExists, or, sql, type SQL } from 'drizzle-orm';
import type { AuditAction, AuditEntryInput } from '../core/audit-entry.ts';
import type { GrantState, RequestState } from '../core/errors.ts';
import type { ApprovalRecord, AuditRecord, GrantRecord, GrantSchedule, RequestRecord } from '../core/records.ts';
import { auditInTransaction, LOST_RACE, type ReasonQueries, type RecentQueries, type ReviewQueries, type StorePort, type TransactionPort } from '../core/store-port.ts';
import { AuditLog } from './audit.ts';
import { groupCommitOf, type GroupCommit } from './group-commit.ts';
import { blockedAmong, blockedSince, grantsApprovedBy, requestsApprovedBy } from './blocks.ts';
import { writeProblem, type Db } from './db.ts';
import { hotQueries, type HotQueries } from './hot-queries.ts';
import { channelsWithLiveBreakglass, grantIdsReviewedByBlocked, liveBreakglassGrantIdsIn, liveGrantIdsApprovedByBlocked, liveGrantIdsOfBlocked, liveGroupApprovedGrants } from './reason-queries.ts';
import { recentAuditEntries, recentGrants } from './recent.ts';
import { awaitingReview, countPendingReviews, setReviewCard } from './review-store.ts';
import { auditLog, grants, requests } from './schema.ts';
import { Abort, SqliteTransaction, type TransactionParts } from './sqlite-transaction.ts';

export { LOST_RACE };
export type { NewGrant, NewRequest, GrantPatch, RequestPatch } from '../core/records.ts';
export type { TransactionPort as Transaction } from '../core/store-port.ts';

/**
 * better-sqlite3 cannot await inside `db.transaction`, so a transaction is run by hand, by the connection's group
 * commit: one at a time, each in a savepoint of the batch open (rolled back alone on a throw or abort), resolved once
 * the batch has committed. Every write outside transactions goes through it too, so none joins a transaction it
 * does not belong to. Reads do not wait: they see what the transactions done so far wrote.
 */
export class SqliteStore implements StorePort {
  readonly auditLog: AuditLog;
  readonly reasons: ReasonQueries;
  readonly reviews: ReviewQueries;
  readonly recent: RecentQueries;
  private readonly hot: HotQueries;
  private readonly group: GroupCommit;
  /** What every transaction of this store works with, built once. */
  private readonly transactionParts: TransactionParts;

  constructor(
    readonly db: Db,
    private readonly policySha256: () => string,
  ) {
    this.auditLog = new AuditLog(db.$client);
    this.hot = hotQueries(db);
    const client = db.$client;
    this.group = groupCommitOf(client);
    // On SQLite's one connection the store's own reads see the transaction's writes.
    this.transactionParts = { db, hot: this.hot, auditLog: this.auditLog, policySha256, reads: this };
    this.reasons = {
      liveBreakglassGrantIdsIn: async (channelId) => liveBreakglassGrantIdsIn(db, channelId),
      channelsWithLiveBreakglass: async () => channelsWithLiveBreakglass(db),
      liveGroupApprovedGrants: async () => liveGroupApprovedGrants(db),
      liveGrantIdsOfBlocked: async () => liveGrantIdsOfBlocked(db),
      liveGrantIdsApprovedByBlocked: async () => liveGrantIdsApprovedByBlocked(db),
      grantIdsReviewedByBlocked: async (windowMs) => grantIdsReviewedByBlocked(db, windowMs),
    };
    this.reviews = {
      setReviewCard: (grantId, channel, ts) => this.group.transaction(() => setReviewCard(db, grantId, channel, ts)),
      awaitingReview: async () => awaitingReview(db),
      countPending: async () => countPendingReviews(db),
    };
    this.recent = { auditEntries: async (limit) => recentAuditEntries(db, limit), grants: async (limit) => recentGrants(db, limit) };
  }

  async transaction<T>(now: Date, body: (tx: TransactionPort) => Promise<T>): Promise<T | typeof LOST_RACE> {
    const tx = new SqliteTransaction(this.transactionParts, now);
    let head: ReturnType<AuditLog['mark']>;
    try {
      return await this.group.transaction(
        async () => {
          head = this.auditLog.mark(); // once this one holds the connection: the transactions before it may have appended
          let result: T;
          try {
            result = await body(tx);
          } finally {
            tx.finished = true;
          }
          // A body that catches the abort itself still rolls back, as on PostgreSQL.
          if (tx.aborted) throw new Abort('lost race');
          return result;
        },
        // Rolled back, and with it the entries appended in it: the head is again what it was when this one began.
        () => this.auditLog.rolledBack(head),
      );
    } catch (error) {
      if (error instanceof Abort) return LOST_RACE;
      throw error;
    }
  }

  /** Commits what is still open; before the connection closes. */
  flush(): Promise<void> {
    return this.group.flush();
  }

  /** At shutdown, once the flush gave up: the open batch's transactions are told they were not recorded. */
  abandonOpenBatch(): void {
    this.group.abandon();
  }

  /** Writes audit entries that record no state change (refusals, policy reloads). */
  async audit(now: Date, ...entries: AuditEntryInput[]): Promise<AuditRecord[]> {
    return auditInTransaction(this, now, entries);
  }

  /** True while the database answers a query; for readiness checks. */
  async ping(): Promise<boolean> {
    try {
      this.db.$client.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  /** Null when the database takes a real committed write now, else why not; after committing what is open, so never inside a transaction. */
  writeProblem(): Promise<string | null> {
    return this.group.settled(() => writeProblem(this.db));
  }

  async getRequest(id: number): Promise<RequestRecord | undefined> {
    return this.hot.request.get({ id });
  }

  async getGrant(id: number): Promise<GrantRecord | undefined> {
    return this.hot.grant.get({ id });
  }

  async grantForRequest(requestId: number): Promise<GrantRecord | undefined> {
    return this.hot.grantsOfRequest.get({ id: requestId });
  }

  async grantsOfRequest(requestId: number): Promise<GrantRecord[]> {
    return this.hot.grantsOfRequest.all({ id: requestId });
  }

  async approvalsFor(requestId: number): Promise<ApprovalRecord[]> {
    return this.hot.approvals.all({ id: requestId });
  }

  async requestsBy(requester: string, states: RequestState[]): Promise<RequestRecord[]> {
    return this.db.select().from(requests).where(and(eq(requests.requester, requester), inArray(requests.state, states))).orderBy(asc(requests.id)).all();
  }

  async grantsOf(user: string, states: GrantState[]): Promise<GrantRecord[]> {
    return this.db.select().from(grants).where(and(eq(grants.user, user), inArray(grants.state, states))).orderBy(asc(grants.id)).all();
  }

  async holdersOf(accessKey: string, exceptId: number, options: { pending: boolean }): Promise<GrantRecord[]> {
    return (options.pending ? this.hot.holders.pending : this.hot.holders.live).all({ key: accessKey, except: exceptId });
  }

  async requestsApprovedBy(approver: string, states: RequestState[]): Promise<RequestRecord[]> {
    return requestsApprovedBy(this.db, approver, states);
  }

  async grantsApprovedBy(approver: string, states: GrantState[]): Promise<GrantRecord[]> {
    return grantsApprovedBy(this.db, approver, states);
  }

  setRequestCard(id: number, channel: string, ts: string): Promise<void> {
    return this.group.transaction(() => void this.hot.setRequestCard.run({ id, channel, ts }));
  }

  setGrantDm(id: number, channel: string | null, ts: string | null): Promise<void> {
    return this.group.transaction(() => void this.hot.setGrantDm.run({ id, channel, ts }));
  }

  async countGrants(state: GrantState): Promise<number> {
    return this.db.select({ n: count() }).from(grants).where(eq(grants.state, state)).get()?.n ?? 0;
  }

  async dueGrantIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.grantIdsPage(or(and(eq(grants.state, 'active'), lte(grants.expiresAt, nowMs)), eq(grants.state, 'revoke_failed')), afterId, limit);
  }

  async stalePendingGrantIds(cutoffMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.grantIdsPage(and(eq(grants.state, 'pending'), lte(grants.createdAt, cutoffMs)), afterId, limit);
  }

  async cleanupPendingGrantIds(afterId: number, limit: number): Promise<number[]> {
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

  async activeGrantSchedules(afterId: number, limit: number): Promise<GrantSchedule[]> {
    return this.db
      .select({ id: grants.id, startsAt: grants.startsAt, expiresAt: grants.expiresAt })
      .from(grants)
      .where(and(eq(grants.state, 'active'), gt(grants.id, afterId)))
      .orderBy(asc(grants.id))
      .limit(limit)
      .all();
  }

  async strandedRequestIds(sinceMs: number, cutoffMs: number, afterId: number, limit: number): Promise<number[]> {
    const grantsMade = this.db.select({ id: grants.id }).from(grants).where(eq(grants.requestId, requests.id));
    // No grant at all; or a bundle with fewer grants than members, whose next member was never begun.
    const unfinished = or(notExists(grantsMade), and(isNotNull(requests.bundleMembers), sql`(SELECT count(*) FROM ${grants} WHERE ${grants.requestId} = ${requests.id}) < json_array_length(${requests.bundleMembers})`));
    return this.requestIdsPage(and(eq(requests.state, 'approved'), gte(requests.approvedAt, sinceMs), lte(requests.approvedAt, cutoffMs), isNull(requests.extendsGrantId), unfinished), afterId, limit);
  }

  async dueScheduledRequestIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.requestIdsPage(and(eq(requests.state, 'scheduled'), lte(requests.startsAt, nowMs)), afterId, limit);
  }

  async overdueRequestIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.requestIdsPage(and(eq(requests.state, 'pending'), lte(requests.timeoutAt, nowMs)), afterId, limit);
  }

  /** Not yet escalated: escalating clears `escalateAt`. */
  async dueEscalationIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.requestIdsPage(and(isNotNull(requests.escalateAt), lte(requests.escalateAt, nowMs), eq(requests.state, 'pending')), afterId, limit);
  }

  private requestIdsPage(where: SQL | undefined, afterId: number, limit: number): number[] {
    return this.db
      .select({ id: requests.id })
      .from(requests)
      .where(and(where, gt(requests.id, afterId)))
      .orderBy(asc(requests.id))
      .limit(limit)
      .all()
      .map((r) => r.id);
  }

  async pendingRequests(): Promise<RequestRecord[]> {
    return this.db.select().from(requests).where(eq(requests.state, 'pending')).orderBy(asc(requests.id)).all();
  }

  async isBlocked(user: string): Promise<boolean> {
    return this.hot.block.get({ user }) !== undefined;
  }

  async blockedAmong(users: readonly string[]): Promise<Set<string>> {
    return blockedAmong(this.db, users);
  }

  async blockedSince(user: string, sinceMs: number): Promise<boolean> {
    return blockedSince(this.db, user, sinceMs);
  }

  async breakglassGrantsSince(user: string, since: number): Promise<number> {
    const row = this.db
      .select({ n: count() })
      .from(grants)
      .where(and(eq(grants.user, user), eq(grants.breakglass, true), gte(grants.createdAt, since), inArray(grants.state, ['pending', 'active', 'expired', 'revoked', 'revoke_failed'])))
      .get();
    return row?.n ?? 0;
  }

  /** Interrupted or failed break-glass grants gave no access, so need no review. */
  async unreviewedBreakglassGrants(): Promise<GrantRecord[]> {
    return this.db
      .select()
      .from(grants)
      .where(and(eq(grants.breakglass, true), isNull(grants.reviewedBy), inArray(grants.state, ['active', 'expired', 'revoked', 'revoke_failed'])))
      .orderBy(asc(grants.id))
      .all();
  }

  async lastAuditAt(action: AuditAction): Promise<Date | null> {
    const row = this.db.select({ at: auditLog.at }).from(auditLog).where(eq(auditLog.action, action)).orderBy(desc(auditLog.id)).limit(1).get();
    return row ? new Date(row.at) : null;
  }

  async breakglassRequestsSince(user: string, since: number): Promise<number> {
    const row = this.db
      .select({ n: count() })
      .from(requests)
      .where(and(eq(requests.requester, user), eq(requests.breakglass, true), isNull(requests.extendsGrantId), gte(requests.createdAt, since), inArray(requests.state, ['approved', 'scheduled'])))
      .get();
    return row?.n ?? 0;
  }
}
