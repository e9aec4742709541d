// What the read-only tools (audit verify and export, report, policy replay) read, from SQLite or PostgreSQL alike.
import { existsSync } from 'node:fs';
import type { ApprovalRecord, AuditRecord, BlockedUserRecord, GrantRecord, RequestRecord } from '../core/records.ts';

/** Audit entries with `since <= at < until` (ISO times) and, when given, one of `actions`. */
export interface AuditFilter {
  since?: string | undefined;
  until?: string | undefined;
  actions?: readonly string[] | undefined;
}

/** Requests made in [since, until), epoch milliseconds. */
export interface CreatedWindow {
  since: number;
  until: number;
}

/**
 * Pages of rows in id order, each after `afterId` and at most `limit` long, so a table larger than memory is read
 * too. Records are the core's types, whichever database holds them; nothing here writes.
 */
export interface HistoryReader {
  auditPage(afterId: number, limit: number, filter?: AuditFilter): Promise<AuditRecord[]>;
  /** The stored hash of one entry; null when the log has no such entry. */
  auditHash(id: number): Promise<string | null>;
  requestPage(afterId: number, limit: number, created?: CreatedWindow): Promise<RequestRecord[]>;
  grantPage(afterId: number, limit: number): Promise<GrantRecord[]>;
  approvalPage(afterId: number, limit: number): Promise<ApprovalRecord[]>;
  blockedUsers(): Promise<BlockedUserRecord[]>;
  close(): Promise<void>;
}

/** Rows read per query. */
export const READ_PAGE = 1000;

/** Every row `read` pages through, one at a time. */
export async function* allRows<T extends { id: number }>(read: (afterId: number, limit: number) => Promise<T[]>): AsyncGenerator<T> {
  let after = 0;
  for (;;) {
    const page = await read(after, READ_PAGE);
    yield* page;
    if (page.length < READ_PAGE) return;
    after = (page[page.length - 1] as T).id;
  }
}

/** Why the tools cannot read the database: one sentence (no password). */
export class HistoryUnavailable extends Error {
  override readonly name = 'HistoryUnavailable';
}

/**
 * Opens the database the tools read: PostgreSQL at `databaseUrl` when it is set, else the SQLite file at
 * `databasePath` (read-only; it must exist). Each driver is loaded only when used.
 */
export async function openHistory(where: { databasePath: string; databaseUrl?: string | undefined }): Promise<HistoryReader> {
  if (where.databaseUrl !== undefined && where.databaseUrl !== '') {
    const { openPgHistory } = await import('./pg/history.ts');
    return openPgHistory(where.databaseUrl);
  }
  const path = where.databasePath;
  if (path === ':memory:' || !existsSync(path)) {
    throw new HistoryUnavailable(`There is no Sesame database at ${path}; set DATABASE_PATH (or DATABASE_URL for PostgreSQL), or run \`sesame migrate\` to create one.`);
  }
  const { SqliteHistory } = await import('./sqlite-history.ts');
  const { openDatabase } = await import('./db.ts');
  return new SqliteHistory(openDatabase(path, { readonly: true }));
}
