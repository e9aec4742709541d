// The transaction API of the SQLite store: its writes run on better-sqlite3 synchronously, wrapped in the port's promises.
import { and, eq, isNull } from 'drizzle-orm';
import { canTransitionGrant, canTransitionRequest } from '../core/lifecycle.ts';
import type { RecordReads, TransactionPort } from '../core/store-port.ts';
import type { AuditLog } from './audit.ts';
import { deleteBlock, insertBlock } from './blocks.ts';
import type { Db } from './db.ts';
import type { HotQueries } from './hot-queries.ts';
import { recordReview, reopenReview, requestReview } from './review-store.ts';
import { grants } from './schema.ts';
import { Abort, assertTransitions, statesOf as states } from './transition-guard.ts';

export { Abort } from './transition-guard.ts';

export interface TransactionParts {
  db: Db;
  hot: HotQueries;
  auditLog: AuditLog;
  policySha256: () => string;
  /** The store's reads: on SQLite's one connection they see the transaction's own writes. */
  reads: RecordReads;
}

/**
 * The `tx` a transaction body gets; `now` stamps its audit entries. A class, as on PostgreSQL: one object per
 * transaction, its methods shared, where a literal of closures built some twenty functions for each of a lifecycle's
 * four transactions.
 */
export class SqliteTransaction implements TransactionPort {
  /** Set by `abort()`, so a body that swallowed the Abort still ends in a rollback. */
  aborted = false;
  /** Set once the body has settled: a write after that would land in whichever transaction holds the connection then. */
  finished = false;

  constructor(
    private readonly parts: TransactionParts,
    private readonly now: Date,
  ) {}

  getRequest(id: number) {
    return this.parts.reads.getRequest(id);
  }
  getGrant(id: number) {
    return this.parts.reads.getGrant(id);
  }
  grantsOfRequest(requestId: number) {
    return this.parts.reads.grantsOfRequest(requestId);
  }
  approvalsFor(requestId: number) {
    return this.parts.reads.approvalsFor(requestId);
  }
  isBlocked(user: string) {
    return this.parts.reads.isBlocked(user);
  }
  blockedAmong(users: readonly string[]) {
    return this.parts.reads.blockedAmong(users);
  }
  blockedSince(user: string, sinceMs: number) {
    return this.parts.reads.blockedSince(user, sinceMs);
  }
  lastAuditAt(action: Parameters<TransactionPort['lastAuditAt']>[0]) {
    return this.parts.reads.lastAuditAt(action);
  }
  breakglassRequestsSince(user: string, since: number) {
    return this.parts.reads.breakglassRequestsSince(user, since);
  }
  async insertRequest(values: Parameters<TransactionPort['insertRequest']>[0]) {
    return this.write(() => this.parts.hot.insertRequest(values));
  }
  async updateRequest(...[id, from, patch, step]: Parameters<TransactionPort['updateRequest']>) {
    return assertTransitions('request', states(from), patch.state, canTransitionRequest) ?? this.write(() => this.parts.hot.updateRequest(id, states(from), patch, step) === 1);
  }
  async insertApproval(requestId: number, step: number, approver: string, at: number) {
    return this.write(() => this.parts.hot.insertApproval.run({ requestId, step, approver, at }).changes === 1);
  }
  async insertGrant(values: Parameters<TransactionPort['insertGrant']>[0]) {
    return this.write(() => this.parts.hot.insertGrant(values));
  }
  async updateGrant(...[id, from, patch]: Parameters<TransactionPort['updateGrant']>) {
    return assertTransitions('grant', states(from), patch.state, canTransitionGrant) ?? this.write(() => this.parts.hot.updateGrant(id, states(from), patch) === 1);
  }
  async markReviewed(grantId: number, reviewer: string, at: number) {
    return this.write(() => this.parts.db.update(grants).set({ reviewedBy: reviewer, reviewedAt: at }).where(and(eq(grants.id, grantId), eq(grants.breakglass, true), isNull(grants.reviewedBy))).run().changes === 1);
  }
  async requestReview(...[grantId, from, leads]: Parameters<TransactionPort['requestReview']>) {
    return this.write(() => requestReview(this.parts.db, grantId, from, leads));
  }
  async recordReview(...[grantId, reviewer, verdict, note, at]: Parameters<TransactionPort['recordReview']>) {
    return this.write(() => recordReview(this.parts.db, grantId, reviewer, verdict, note, at));
  }
  async reopenReview(...[grantId, reviewer, reviewers]: Parameters<TransactionPort['reopenReview']>) {
    return this.write(() => reopenReview(this.parts.db, grantId, reviewer, reviewers));
  }
  async insertBlock(row: Parameters<TransactionPort['insertBlock']>[0]) {
    return this.write(() => insertBlock(this.parts.db, row));
  }
  async deleteBlock(user: string) {
    return this.write(() => deleteBlock(this.parts.db, user));
  }
  async audit(entry: Parameters<TransactionPort['audit']>[0]) {
    return this.write(() => this.parts.auditLog.append(entry, this.parts.policySha256(), this.now));
  }
  /**
   * A write runs only inside the transaction: if SQLite rolled it back by itself meanwhile (a full disk or an I/O error,
   * while the body awaited), the write would otherwise commit alone, outside it.
   */
  private write<T>(run: () => T): T {
    if (this.finished) throw new Error('bug: a write through a transaction whose body had already ended (a call not awaited inside it); nothing was written.');
    if (!this.parts.db.$client.inTransaction) throw new Error('The transaction was rolled back by SQLite before this write (a full disk, an I/O error or no memory); nothing of it was recorded; check the disk and retry.');
    return run();
  }
  abort(): never {
    this.aborted = true;
    throw new Abort('lost race');
  }
}
