// The append-only, hash-chained audit log: append inside a transition's transaction, verify, export.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { canonicalJson } from '../core/canonical-json.ts';
import type { AuditEntryInput } from '../core/audit-entry.ts';
import type { AuditRecord } from '../core/records.ts';
import { groupCommitOf, type GroupCommit } from './group-commit.ts';
import { oncePer } from './once-per.ts';
import type { AuditRow } from './schema.ts';

export { AUDIT_ACTIONS, type AuditAction, type AuditEntryInput } from '../core/audit-entry.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** An entry as exported, with the spec's field names and its details parsed. */
export interface ExportedEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  request_id: string | null;
  grant_id: string | null;
  details: unknown;
  policy_sha256: string;
  prev_hash: string;
  hash: string;
}

/** The fields the hash covers: everything but the links themselves. */
type HashedFields = Omit<ExportedEntry, 'prev_hash' | 'hash'>;

/** A row as SQLite returns it: details still JSON text. */
type StoredAuditRow = Omit<ExportedEntry, 'details'> & { details: string };

export function entryHash(prevHash: string, fields: HashedFields): string {
  return createHash('sha256').update(prevHash + canonicalJson(fields)).digest('hex');
}

/**
 * `entryHash` for an entry being written, whose details are already canonical JSON: the top-level fields are
 * fixed scalars, so their canonical form is written out in sorted key order rather than sorting the whole entry
 * again (appending is on the path of every request and revoke). Must equal `entryHash`; the tests compare them.
 */
function appendedEntryHash(prevHash: string, fields: Omit<HashedFields, 'details'>, detailsJson: string): string {
  const s = JSON.stringify;
  const text = `{"action":${s(fields.action)},"actor":${s(fields.actor)},"at":${s(fields.at)},"details":${detailsJson},"grant_id":${s(fields.grant_id)},"id":${s(fields.id)},"policy_sha256":${s(fields.policy_sha256)},"request_id":${s(fields.request_id)}}`;
  return createHash('sha256').update(prevHash + text).digest('hex');
}

/** The entry that follows `last` (none: the genesis) in the chain, hashed; the same for SQLite and PostgreSQL. */
export function nextAuditEntry(last: { id: number; hash: string } | undefined, entry: AuditEntryInput, policySha256: string, now: Date): AuditRecord {
  const prevHash = last?.hash ?? GENESIS_HASH;
  // Canonical once: the stored text is what the hash covers.
  const details = canonicalJson(entry.details ?? {});
  const fields = {
    id: (last?.id ?? 0) + 1,
    at: now.toISOString(),
    actor: entry.actor,
    action: entry.action,
    request_id: entry.requestId ?? null,
    grant_id: entry.grantId ?? null,
    policy_sha256: policySha256,
  };
  return {
    id: fields.id,
    at: fields.at,
    actor: fields.actor,
    action: fields.action,
    requestId: fields.request_id,
    grantId: fields.grant_id,
    details,
    policySha256,
    prevHash,
    hash: appendedEntryHash(prevHash, fields, details),
  };
}

/** The head the open batch's last append made, per connection so that every AuditLog on it agrees. */
const tipOf = oncePer((_client: Database.Database): { known: { id: number; hash: string } | undefined } => ({ known: undefined }));

/** The head an open batch's appends made, and whether it appended at all (its listeners are told once it commits). */
interface AuditMark {
  known: { id: number; hash: string } | undefined;
  appended: boolean;
}

/**
 * Appends entries to the chain. Call it inside the transaction of the state change it records; the connection's
 * group commit holds SQLite's write lock (BEGIN IMMEDIATE) for the whole batch, so the head cannot be raced by
 * another writer, and within a batch each append takes the head from the one before instead of reading it again.
 */
export class AuditLog {
  private readonly head: Database.Statement<[], { id: number; hash: string }>;
  private readonly insert: Database.Statement<[AuditRow]>;
  private readonly appendListeners = new Set<() => void>();
  private readonly group: GroupCommit;
  /** `known` is undefined outside a batch, where another writer may append. */
  private readonly tip: { known: { id: number; hash: string } | undefined };
  /** Whether the open batch appended: its listeners are called when it commits. */
  private appended = false;

  constructor(private readonly client: Database.Database) {
    this.group = groupCommitOf(client);
    this.tip = tipOf(client);
    this.head = client.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
    this.insert = client.prepare(
      `INSERT INTO audit_log (id, at, actor, action, request_id, grant_id, details, policy_sha256, prev_hash, hash)
       VALUES (@id, @at, @actor, @action, @requestId, @grantId, @details, @policySha256, @prevHash, @hash)`,
    );
    // Called only once the batch has committed: a listener called earlier could read an entry that is then rolled
    // back (the audit stream would ship an entry that never was).
    this.group.onBatchEnd((committed) => {
      const appended = this.appended;
      this.tip.known = undefined;
      this.appended = false;
      if (committed && appended) this.tellListeners();
    });
  }

  /** Calls `listener` once a transaction that appended has committed. Returns the function that stops the calls. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => void this.appendListeners.delete(listener);
  }

  /** Where this log stands now; `rolledBack` puts it back when the transaction that began here is undone. */
  mark(): AuditMark {
    return { known: this.tip.known, appended: this.appended };
  }

  rolledBack(mark: AuditMark): void {
    this.tip.known = mark.known;
    this.appended = mark.appended;
  }

  /** The newest committed entry's id and hash: the anchor that makes a rewritten or truncated tail detectable. */
  chainHead(): Promise<{ id: number; hash: string } | null> {
    return this.group.settled(() => this.head.get() ?? null);
  }

  private tellListeners(): void {
    for (const listener of this.appendListeners) {
      try {
        listener();
      } catch {
        // One listener that throws must not keep the others (the audit stream's wake-up) from hearing of the entries.
      }
    }
  }

  append(entry: AuditEntryInput, policySha256: string, now: Date): AuditRow {
    // Between two transactions a batch is open too; only a transaction's body may write to it.
    if (!this.client.inTransaction || (this.group.batchOpen && !this.group.inTransactionBody)) throw new Error('AuditLog.append must run inside the transaction of the change it records');
    const last = this.tip.known ?? this.head.get();
    const row = nextAuditEntry(last, entry, policySha256, now);
    this.insert.run(row);
    if (this.group.batchOpen) {
      this.tip.known = { id: row.id, hash: row.hash };
      this.appended = true;
    } else this.tellListeners();
    return row;
  }
}

export type VerifyResult =
  | { ok: true; entries: number; head: { id: number; hash: string } | null }
  | { ok: false; entries: number; brokenAt: number; problem: string };

/** An entry as exported (the spec's field names, details parsed); throws when its details are not JSON. */
export function exportedEntry(row: AuditRecord): ExportedEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    request_id: row.requestId,
    grant_id: row.grantId,
    details: JSON.parse(row.details) as unknown,
    policy_sha256: row.policySha256,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

/** Recomputes the chain entry by entry, in id order: `add` answers the break, if this entry is one; `result` the end. */
export class ChainCheck {
  private prev = { id: 0, hash: GENESIS_HASH };
  private entries = 0;

  add(row: AuditRecord): VerifyResult | null {
    const { prev, entries } = this;
    const broken = (problem: string): VerifyResult => ({ ok: false, entries, brokenAt: row.id, problem });
    if (row.id !== prev.id + 1) return broken(`entry ${row.id} follows entry ${prev.id}: entries ${prev.id + 1}–${row.id - 1} are missing`);
    if (row.prevHash !== prev.hash) return broken(`entry ${row.id} does not link to entry ${prev.id} (an entry before it was changed, removed or reordered)`);
    let entry: ExportedEntry;
    try {
      entry = exportedEntry(row);
    } catch {
      return broken(`entry ${row.id} has unreadable details`);
    }
    const { prev_hash: _prev, hash: _hash, ...fields } = entry;
    if (entryHash(row.prevHash, fields) !== row.hash) return broken(`entry ${row.id} was changed after it was written (its hash does not match its contents)`);
    this.prev = { id: row.id, hash: row.hash };
    this.entries++;
    return null;
  }

  result(): VerifyResult {
    return { ok: true, entries: this.entries, head: this.entries === 0 ? null : this.prev };
  }
}

/** Recomputes the whole chain, one row at a time (the log may be far larger than memory allows). */
export function verifyAuditChain(client: Database.Database): VerifyResult {
  const check = new ChainCheck();
  const rows = client.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<StoredAuditRow>;
  for (const { request_id: requestId, grant_id: grantId, policy_sha256: policySha256, prev_hash: prevHash, ...row } of rows) {
    const broken = check.add({ ...row, requestId, grantId, policySha256, prevHash });
    if (broken) return broken;
  }
  return check.result();
}

/** The stored hash of one entry, to compare with a posted anchor; null when the log has no such entry. */
export function auditEntryHash(client: Database.Database, id: number): string | null {
  const row = client.prepare('SELECT hash FROM audit_log WHERE id = ?').get(id) as { hash: string } | undefined;
  return row?.hash ?? null;
}

export interface ExportFilter {
  since?: Date | undefined;
  until?: Date | undefined;
}

/** Entries in chain order with `since <= at < until`, read lazily. */
export function* auditEntries(client: Database.Database, filter: ExportFilter = {}): Generator<ExportedEntry> {
  const rows = client
    .prepare('SELECT * FROM audit_log WHERE at >= ? AND at < ? ORDER BY id')
    .iterate(filter.since?.toISOString() ?? '', filter.until?.toISOString() ?? '\uffff') as IterableIterator<StoredAuditRow>;
  for (const row of rows) yield { ...row, details: JSON.parse(row.details) as unknown };
}
