// What the audit stream reads and remembers: entries after its cursor, in chain order, and the cursor itself.
import type Database from 'better-sqlite3';
import type { ExportedEntry } from './audit.ts';
import { groupCommitOf, type GroupCommit } from './group-commit.ts';

type StoredAuditRow = Omit<ExportedEntry, 'details'> & { details: string };

/** The last entry a destination acknowledged. */
export interface StreamPosition {
  id: number;
  hash: string;
}

export class AuditStreamCursor {
  private readonly after: Database.Statement<[number, number], StoredAuditRow>;
  private readonly head: Database.Statement<[], { id: number }>;
  private readonly read: Database.Statement<[string], { last_id: number; last_hash: string }>;
  private readonly write: Database.Statement<[string, number, string, number]>;
  private readonly group: GroupCommit;

  constructor(client: Database.Database) {
    this.group = groupCommitOf(client);
    this.after = client.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?');
    this.head = client.prepare('SELECT id FROM audit_log ORDER BY id DESC LIMIT 1');
    this.read = client.prepare('SELECT last_id, last_hash FROM audit_stream_cursor WHERE destination = ?');
    // Never backwards: an acknowledgement that arrives late for an older batch must not resend what came after it.
    this.write = client.prepare(
      `INSERT INTO audit_stream_cursor (destination, last_id, last_hash, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (destination) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash, updated_at = excluded.updated_at
       WHERE excluded.last_id > audit_stream_cursor.last_id`,
    );
  }

  /** Where `destination` (a key naming one receiver) got to; null when nothing was ever acknowledged there (it gets the log from entry 1). */
  position(destination: string): StreamPosition | null {
    const row = this.read.get(destination);
    return row === undefined ? null : { id: row.last_id, hash: row.last_hash };
  }

  /**
   * Up to `limit` committed entries after entry `afterId`, in chain order, with their details parsed. Committed first:
   * an entry of a batch still open could yet be rolled back, and a receiver must never get an entry that never was.
   */
  entriesAfter(afterId: number, limit: number): Promise<ExportedEntry[]> {
    return this.group.settled(() => this.after.all(afterId, limit).map((row) => ({ ...row, details: JSON.parse(row.details) as unknown })));
  }

  /** The newest committed entry's id; 0 for an empty log. */
  headId(): Promise<number> {
    return this.group.settled(() => this.head.get()?.id ?? 0);
  }

  /**
   * Records that `destination` acknowledged everything up to and including entry `position.id`. A transaction of
   * its own in the connection's group commit: written beside a store transaction, it would commit or roll back with that.
   */
  async advance(destination: string, position: StreamPosition, now: number): Promise<void> {
    await this.group.transaction(() => void this.write.run(destination, position.id, position.hash, now));
  }
}
