// The PostgreSQL store (StorePort): every transaction takes one advisory lock first, so writers on all replicas take turns.
import { and, asc, count, eq, gt, gte, inArray, isNotNull, isNull, lte, ne, notExists, or, sql, type SQL } from 'drizzle-orm';
import type { AuditEntryInput } from '../../core/audit-entry.ts';
import type { GrantState, RequestState } from '../../core/errors.ts';
import type { AuditRecord, GrantRecord, GrantSchedule, RequestRecord } from '../../core/records.ts';
import { auditInTransaction, LOST_RACE, type ReasonQueries, type RecentQueries, type ReviewQueries, type StorePort, type TransactionPort } from '../../core/store-port.ts';
import { WRITE_LOCK_KEY, type PgDb } from './db.ts';
import { pgReasonQueries, pgRecentQueries, pgRestingOnApprovals, pgReviewQueries } from './queries.ts';
import { PgReads } from './reads.ts';
import { approvals, grants, requests } from './schema.ts';
import { Abort, PgTransaction } from './transaction.ts';

export class PgStore extends PgReads implements StorePort {
  readonly reasons: ReasonQueries;
  readonly reviews: ReviewQueries;
  readonly recent: RecentQueries;

  constructor(
    readonly db: PgDb,
    private readonly policySha256: () => string,
  ) {
    super(db);
    this.reasons = pgReasonQueries(db);
    this.reviews = pgReviewQueries(db);
    this.recent = pgRecentQueries(db);
  }

  /**
   * BEGIN on a pooled connection, then `pg_advisory_xact_lock` on one constant key before anything else: the
   * transactions of every replica then run one at a time, as SQLite's BEGIN IMMEDIATE makes them in one process. The
   * audit chain's head, the break-glass counts and every conditional update are read and written by one writer at a
   * time; the lock goes with COMMIT or ROLLBACK, also when the connection dies.
   */
  async transaction<T>(now: Date, body: (tx: TransactionPort) => Promise<T>): Promise<T | typeof LOST_RACE> {
    try {
      return await this.db.transaction(async (q) => {
        await q.execute(sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY.toString()}::bigint)`);
        const tx = new PgTransaction(q, this.policySha256, now);
        const result = await body(tx);
        if (tx.aborted) throw new Abort('lost race');
        return result;
      });
    } catch (error) {
      if (error instanceof Abort) return LOST_RACE;
      throw error;
    }
  }

  async audit(now: Date, ...entries: AuditEntryInput[]): Promise<AuditRecord[]> {
    return auditInTransaction(this, now, entries);
  }

  async ping(): Promise<boolean> {
    try {
      await this.db.execute(sql`SELECT 1`);
      return true;
    } catch {
      return false;
    }
  }

  async grantForRequest(requestId: number): Promise<GrantRecord | undefined> {
    return (await this.grantsOfRequest(requestId))[0];
  }

  requestsBy(requester: string, states: RequestState[]): Promise<RequestRecord[]> {
    return this.db.select().from(requests).where(and(eq(requests.requester, requester), inArray(requests.state, states))).orderBy(asc(requests.id));
  }

  grantsOf(user: string, states: GrantState[]): Promise<GrantRecord[]> {
    return this.db.select().from(grants).where(and(eq(grants.user, user), inArray(grants.state, states))).orderBy(asc(grants.id));
  }

  holdersOf(accessKey: string, exceptId: number, options: { pending: boolean }): Promise<GrantRecord[]> {
    const states: GrantState[] = options.pending ? ['pending', 'active', 'revoke_failed'] : ['active', 'revoke_failed'];
    return this.db.select().from(grants).where(and(eq(grants.accessKey, accessKey), inArray(grants.state, states), ne(grants.id, exceptId))).orderBy(asc(grants.id));
  }

  requestsApprovedBy(approver: string, states: RequestState[]): Promise<RequestRecord[]> {
    const approved = this.db.selectDistinct({ id: approvals.requestId }).from(approvals).where(eq(approvals.approver, approver));
    return this.db.select().from(requests).where(and(inArray(requests.id, approved), inArray(requests.state, states))).orderBy(asc(requests.id));
  }

  grantsApprovedBy(approver: string, states: GrantState[]): Promise<GrantRecord[]> {
    return this.db.select().from(grants).where(and(inArray(grants.state, states), pgRestingOnApprovals(this.db, eq(approvals.approver, approver)))).orderBy(asc(grants.id));
  }

  pendingRequests(): Promise<RequestRecord[]> {
    return this.db.select().from(requests).where(eq(requests.state, 'pending')).orderBy(asc(requests.id));
  }

  async countGrants(state: GrantState): Promise<number> {
    return (await this.db.select({ n: count() }).from(grants).where(eq(grants.state, state)))[0]?.n ?? 0;
  }

  async breakglassGrantsSince(user: string, since: number): Promise<number> {
    const states: GrantState[] = ['pending', 'active', 'expired', 'revoked', 'revoke_failed'];
    const [row] = await this.db
      .select({ n: count() })
      .from(grants)
      .where(and(eq(grants.user, user), eq(grants.breakglass, true), gte(grants.createdAt, since), inArray(grants.state, states)));
    return row?.n ?? 0;
  }

  unreviewedBreakglassGrants(): Promise<GrantRecord[]> {
    const states: GrantState[] = ['active', 'expired', 'revoked', 'revoke_failed'];
    return this.db.select().from(grants).where(and(eq(grants.breakglass, true), isNull(grants.reviewedBy), inArray(grants.state, states))).orderBy(asc(grants.id));
  }

  async setRequestCard(id: number, channel: string, ts: string): Promise<void> {
    await this.db.update(requests).set({ cardChannel: channel, cardTs: ts }).where(eq(requests.id, id));
  }

  async setGrantDm(id: number, channel: string | null, ts: string | null): Promise<void> {
    await this.db.update(grants).set({ dmChannel: channel, dmTs: ts }).where(eq(grants.id, id));
  }

  dueGrantIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.grantIdsPage(or(and(eq(grants.state, 'active'), lte(grants.expiresAt, nowMs)), eq(grants.state, 'revoke_failed')), afterId, limit);
  }

  stalePendingGrantIds(cutoffMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.grantIdsPage(and(eq(grants.state, 'pending'), lte(grants.createdAt, cutoffMs)), afterId, limit);
  }

  cleanupPendingGrantIds(afterId: number, limit: number): Promise<number[]> {
    return this.grantIdsPage(isNotNull(grants.cleanupPending), afterId, limit);
  }

  activeGrantSchedules(afterId: number, limit: number): Promise<GrantSchedule[]> {
    return this.db
      .select({ id: grants.id, startsAt: grants.startsAt, expiresAt: grants.expiresAt })
      .from(grants)
      .where(and(eq(grants.state, 'active'), gt(grants.id, afterId)))
      .orderBy(asc(grants.id))
      .limit(limit);
  }

  strandedRequestIds(sinceMs: number, cutoffMs: number, afterId: number, limit: number): Promise<number[]> {
    const grantsMade = this.db.select({ id: grants.id }).from(grants).where(eq(grants.requestId, requests.id));
    // No grant at all; or a bundle with fewer grants than members, whose next member was never begun.
    const unfinished = or(notExists(grantsMade), and(isNotNull(requests.bundleMembers), sql`(SELECT count(*) FROM ${grants} WHERE ${grants.requestId} = ${requests.id}) < json_array_length(${requests.bundleMembers}::json)`));
    return this.requestIdsPage(and(eq(requests.state, 'approved'), gte(requests.approvedAt, sinceMs), lte(requests.approvedAt, cutoffMs), isNull(requests.extendsGrantId), unfinished), afterId, limit);
  }

  dueScheduledRequestIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.requestIdsPage(and(eq(requests.state, 'scheduled'), lte(requests.startsAt, nowMs)), afterId, limit);
  }

  overdueRequestIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.requestIdsPage(and(eq(requests.state, 'pending'), lte(requests.timeoutAt, nowMs)), afterId, limit);
  }

  dueEscalationIds(nowMs: number, afterId: number, limit: number): Promise<number[]> {
    return this.requestIdsPage(and(isNotNull(requests.escalateAt), lte(requests.escalateAt, nowMs), eq(requests.state, 'pending')), afterId, limit);
  }

  private async grantIdsPage(where: SQL | undefined, afterId: number, limit: number): Promise<number[]> {
    const rows = await this.db.select({ id: grants.id }).from(grants).where(and(where, gt(grants.id, afterId))).orderBy(asc(grants.id)).limit(limit);
    return rows.map((r) => r.id);
  }

  private async requestIdsPage(where: SQL | undefined, afterId: number, limit: number): Promise<number[]> {
    const rows = await this.db.select({ id: requests.id }).from(requests).where(and(where, gt(requests.id, afterId))).orderBy(asc(requests.id)).limit(limit);
    return rows.map((r) => r.id);
  }
}
