// The transaction API of the SQLite store: its writes run on better-sqlite3 synchronously, wrapped in the port's promises.
import { and, eq, isNull } from 'drizzle-orm';
import { canTransitionGrant, canTransitionRequest } from '../core/lifecycle.ts';
import type { RecordReads, TransactionPort } from '../core/store-port.ts';
import type { AuditLog } from './audit.ts';
import { deleteBlock, insertBlock } from './blocks.ts';
import type { Db } from './db.ts';
import type { HotQueries } from './hot-queries.ts';
import { recordReview, requestReview } from './review-store.ts';
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

/** The `tx` a transaction body gets; `now` stamps its audit entries. */
export function sqliteTransaction({ db, hot, auditLog, policySha256, reads }: TransactionParts, now: Date): TransactionPort {
  return {
    getRequest: (id) => reads.getRequest(id),
    getGrant: (id) => reads.getGrant(id),
    approvalsFor: (requestId) => reads.approvalsFor(requestId),
    isBlocked: (user) => reads.isBlocked(user),
    blockedAmong: (users) => reads.blockedAmong(users),
    blockedSince: (user, sinceMs) => reads.blockedSince(user, sinceMs),
    lastAuditAt: (action) => reads.lastAuditAt(action),
    breakglassRequestsSince: (user, since) => reads.breakglassRequestsSince(user, since),
    insertRequest: async (values) => hot.insertRequest(values),
    updateRequest: async (id, from, patch, step) =>
      assertTransitions('request', states(from), patch.state, canTransitionRequest) ?? hot.updateRequest(id, states(from), patch, step) === 1,
    insertApproval: async (requestId, step, approver, at) => hot.insertApproval.run({ requestId, step, approver, at }).changes === 1,
    insertGrant: async (values) => hot.insertGrant(values),
    updateGrant: async (id, from, patch) => assertTransitions('grant', states(from), patch.state, canTransitionGrant) ?? hot.updateGrant(id, states(from), patch) === 1,
    markReviewed: async (grantId, reviewer, at) =>
      db.update(grants).set({ reviewedBy: reviewer, reviewedAt: at }).where(and(eq(grants.id, grantId), eq(grants.breakglass, true), isNull(grants.reviewedBy))).run().changes === 1,
    requestReview: async (grantId, from, leads) => requestReview(db, grantId, from, leads),
    recordReview: async (grantId, reviewer, verdict, note, at) => recordReview(db, grantId, reviewer, verdict, note, at),
    insertBlock: async (row) => insertBlock(db, row),
    deleteBlock: async (user) => deleteBlock(db, user),
    audit: async (entry) => auditLog.append(entry, policySha256(), now),
    abort: () => {
      throw new Abort('lost race');
    },
  };
}
