// One PostgreSQL write transaction as the core sees it (TransactionPort): conditional writes, reads, audit appends.
import { and, eq, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { AuditEntryInput } from '../../core/audit-entry.ts';
import type { GrantState, RequestState } from '../../core/errors.ts';
import { canTransitionGrant, canTransitionRequest } from '../../core/lifecycle.ts';
import type { AuditRecord, BlockedUserRecord, GrantPatch, GrantRecord, NewGrant, NewRequest, RequestPatch, RequestRecord, ReviewVerdict } from '../../core/records.ts';
import type { TransactionPort } from '../../core/store-port.ts';
import { appendPgAudit, type ChainTip } from './audit.ts';
import { PgReads, type PgQueryable } from './reads.ts';
import { approvals, blockedUsers, grants, requests } from './schema.ts';
import { Abort, assertTransitions, statesOf as list } from '../transition-guard.ts';

export { Abort } from '../transition-guard.ts';

/** Only the patch's given keys are written; an empty patch still checks (and locks) the row, as SQLite's would. */
function setOf<P extends object>(patch: P, id: SQL): P {
  const given = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  return (Object.keys(given).length > 0 ? given : { id }) as P;
}

export class PgTransaction extends PgReads implements TransactionPort {
  private readonly tip: ChainTip = { known: undefined };
  /** Set by `abort()`, so a body that swallowed the Abort still ends in a rollback. */
  aborted = false;

  constructor(
    q: PgQueryable,
    private readonly policySha256: () => string,
    private readonly now: Date,
  ) {
    super(q);
  }

  async insertRequest(values: NewRequest): Promise<RequestRecord> {
    const [row] = await this.q.insert(requests).values(values).returning();
    if (row === undefined) throw new Error('bug: INSERT … RETURNING gave no request row');
    return row;
  }

  /** `UPDATE requests SET … WHERE id = ? AND state IN (…) [AND current_step = ?]`: false when another writer moved it first. */
  async updateRequest(id: number, from: RequestState | RequestState[], patch: RequestPatch, step?: number): Promise<boolean> {
    assertTransitions('request', list(from), patch.state, canTransitionRequest);
    const conditions = [eq(requests.id, id), inArray(requests.state, list(from))];
    if (step !== undefined) conditions.push(eq(requests.currentStep, step));
    const result = await this.q.update(requests).set(setOf(patch, sql`${requests.id}`)).where(and(...conditions));
    return result.rowCount === 1;
  }

  async insertApproval(requestId: number, step: number, approver: string, at: number): Promise<boolean> {
    const result = await this.q.insert(approvals).values({ requestId, step, approver, at }).onConflictDoNothing();
    return result.rowCount === 1;
  }

  async insertGrant(values: NewGrant): Promise<GrantRecord> {
    const [row] = await this.q.insert(grants).values(values).returning();
    if (row === undefined) throw new Error('bug: INSERT … RETURNING gave no grant row');
    return row;
  }

  async updateGrant(id: number, from: GrantState | GrantState[], patch: GrantPatch): Promise<boolean> {
    assertTransitions('grant', list(from), patch.state, canTransitionGrant);
    const result = await this.q.update(grants).set(setOf(patch, sql`${grants.id}`)).where(and(eq(grants.id, id), inArray(grants.state, list(from))));
    return result.rowCount === 1;
  }

  async markReviewed(grantId: number, reviewer: string, at: number): Promise<boolean> {
    const result = await this.q.update(grants).set({ reviewedBy: reviewer, reviewedAt: at }).where(and(eq(grants.id, grantId), eq(grants.breakglass, true), isNull(grants.reviewedBy)));
    return result.rowCount === 1;
  }

  async requestReview(grantId: number, from: string, leads: string[] | null): Promise<boolean> {
    const result = await this.q.update(grants).set({ reviewFrom: from, reviewLeads: leads }).where(and(eq(grants.id, grantId), isNull(grants.reviewFrom), isNull(grants.reviewedBy)));
    return result.rowCount === 1;
  }

  async recordReview(grantId: number, reviewer: string, verdict: ReviewVerdict, note: string | null, at: number): Promise<boolean> {
    const result = await this.q
      .update(grants)
      .set({ reviewedBy: reviewer, reviewedAt: at, reviewVerdict: verdict, reviewNote: note })
      .where(and(eq(grants.id, grantId), isNotNull(grants.reviewFrom), isNull(grants.reviewedBy)));
    return result.rowCount === 1;
  }

  async reopenReview(grantId: number, reviewer: string, reviewers?: { from: string; leads: string[] | null }): Promise<boolean> {
    const to = reviewers === undefined ? {} : { reviewFrom: reviewers.from, reviewLeads: reviewers.leads };
    const result = await this.q.update(grants).set({ reviewedBy: null, reviewedAt: null, reviewVerdict: null, reviewNote: null, ...to }).where(and(eq(grants.id, grantId), eq(grants.reviewedBy, reviewer)));
    return result.rowCount === 1;
  }

  async insertBlock(row: BlockedUserRecord): Promise<boolean> {
    return (await this.q.insert(blockedUsers).values(row).onConflictDoNothing()).rowCount === 1;
  }

  async deleteBlock(user: string): Promise<boolean> {
    return (await this.q.delete(blockedUsers).where(eq(blockedUsers.user, user))).rowCount === 1;
  }

  audit(entry: AuditEntryInput): Promise<AuditRecord> {
    return appendPgAudit(this.q, this.tip, entry, this.policySha256(), this.now);
  }

  abort(): never {
    this.aborted = true;
    throw new Abort('lost race');
  }
}
