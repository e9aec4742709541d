// The audit stream's cursor and the entries it reads, on PostgreSQL: shared by every replica, so a hand-over continues.
import { asc, desc, eq, gt, sql } from 'drizzle-orm';
import { exportedEntry, type ExportedEntry } from '../audit.ts';
import type { StreamPosition } from '../audit-stream-cursor.ts';
import type { PgDb } from './db.ts';
import { auditLog, auditStreamCursor } from './schema.ts';

export class PgAuditStreamCursor {
  constructor(private readonly db: PgDb) {}

  /** Where `destination` got to; null when nothing was ever acknowledged there. */
  async position(destination: string): Promise<StreamPosition | null> {
    const [row] = await this.db.select({ id: auditStreamCursor.lastId, hash: auditStreamCursor.lastHash }).from(auditStreamCursor).where(eq(auditStreamCursor.destination, destination));
    return row ?? null;
  }

  /** Up to `limit` entries after entry `afterId`, in chain order, with the export's field names and details parsed. */
  async entriesAfter(afterId: number, limit: number): Promise<ExportedEntry[]> {
    const rows = await this.db.select().from(auditLog).where(gt(auditLog.id, afterId)).orderBy(asc(auditLog.id)).limit(limit);
    return rows.map(exportedEntry);
  }

  /** The newest entry's id; 0 for an empty log. */
  async headId(): Promise<number> {
    const [row] = await this.db.select({ id: auditLog.id }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
    return row?.id ?? 0;
  }

  /** Records the acknowledgement; never backwards, so a late one from a replica that lost the lease resends nothing. */
  async advance(destination: string, position: StreamPosition, now: number): Promise<void> {
    await this.db
      .insert(auditStreamCursor)
      .values({ destination, lastId: position.id, lastHash: position.hash, updatedAt: now })
      .onConflictDoUpdate({
        target: auditStreamCursor.destination,
        set: { lastId: sql`excluded.last_id`, lastHash: sql`excluded.last_hash`, updatedAt: sql`excluded.updated_at` },
        setWhere: sql`excluded.last_id > ${auditStreamCursor.lastId}`,
      });
  }
}
