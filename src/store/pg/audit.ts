// The hash-chained audit log on PostgreSQL: appends hashed exactly as SQLite's (entryHash), and the chain's verification.
import { asc, desc, gt } from 'drizzle-orm';
import type { AuditEntryInput } from '../../core/audit-entry.ts';
import type { AuditRecord } from '../../core/records.ts';
import { ChainCheck, nextAuditEntry, type VerifyResult } from '../audit.ts';
import type { PgQueryable } from './reads.ts';
import { auditLog } from './schema.ts';

/** The chain head as a transaction sees it: read once under the write lock, then advanced by each append. */
export interface ChainTip {
  known: { id: number; hash: string } | undefined;
}

export async function pgChainHead(q: PgQueryable): Promise<{ id: number; hash: string } | null> {
  const [row] = await q.select({ id: auditLog.id, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
  return row ?? null;
}

/**
 * Appends one entry after the head. Only inside a transaction holding the write lock (PgStore's transactions take it
 * first), so no other writer, on this replica or another, can append between the head read and this insert.
 */
export async function appendPgAudit(q: PgQueryable, tip: ChainTip, entry: AuditEntryInput, policySha256: string, now: Date): Promise<AuditRecord> {
  const last = tip.known ?? (await pgChainHead(q)) ?? undefined;
  const row = nextAuditEntry(last, entry, policySha256, now);
  await q.insert(auditLog).values(row);
  tip.known = { id: row.id, hash: row.hash };
  return row;
}

/** Rows read per query while verifying, so a log larger than memory is verified too. */
const PAGE = 1000;

/** Recomputes the whole chain page by page, with the same checks and sentences as SQLite's `verifyAuditChain` (ChainCheck). */
export async function verifyPgAuditChain(q: PgQueryable): Promise<VerifyResult> {
  const check = new ChainCheck();
  let after = 0;
  for (;;) {
    const page = await q.select().from(auditLog).where(gt(auditLog.id, after)).orderBy(asc(auditLog.id)).limit(PAGE);
    for (const row of page) {
      const broken = check.add(row);
      if (broken) return broken;
      after = row.id;
    }
    if (page.length < PAGE) return check.result();
  }
}
