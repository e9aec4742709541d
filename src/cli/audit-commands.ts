// `sesame audit verify` and `sesame audit export`: read the log without changing it, from SQLite or PostgreSQL (DATABASE_URL).
import { parseArgs } from 'node:util';
import { exportedEntry, type ExportedEntry } from '../store/audit.ts';
import { verifyChainOf, verifyTablesOf } from '../store/audit-checks.ts';
import { allRows, HistoryUnavailable, openHistory, type HistoryReader } from '../store/history-reader.ts';
import type { CommandContext } from './command.ts';
import { EXIT, line, writeChunk, type CliIo } from './io.ts';

/** The database the read-only tools read, or null after saying on stderr why it cannot be opened. */
export async function openForReading(where: { databasePath: string; databaseUrl?: string | undefined }, io: CliIo): Promise<HistoryReader | null> {
  try {
    return await openHistory(where);
  } catch (error) {
    if (!(error instanceof HistoryUnavailable)) throw error;
    line(io.stderr, error.message);
    return null;
  }
}

const MAX_MISMATCHES_SHOWN = 50;

export async function auditVerify(args: string[], context: CommandContext): Promise<number> {
  const { io, config } = context;
  const { values } = parseArgs({ args, options: { anchor: { type: 'string' } } });
  let anchor: { id: number; hash: string } | null = null;
  if (values.anchor !== undefined) {
    const match = /^(\d+):([0-9a-f]{64})$/.exec(values.anchor);
    if (!match) {
      line(io.stderr, '--anchor must look like ID:HASH, e.g. 1042:9f86d081884c7d65… (64 hex digits), as posted to the audit channel.');
      return EXIT.usage;
    }
    anchor = { id: Number(match[1]), hash: match[2] as string };
  }
  const reader = await openForReading({ databasePath: config.databasePath, databaseUrl: config.databaseUrl }, io);
  if (!reader) return EXIT.failed;
  try {
    const result = await verifyChainOf(reader);
    if (!result.ok) {
      line(io.stderr, `broken at entry ${result.brokenAt}: ${result.problem} (${result.entries} entries before it verified)`);
      return EXIT.failed;
    }
    if (anchor) {
      const hash = await reader.auditHash(anchor.id);
      if (hash === null) {
        line(io.stderr, `broken at entry ${anchor.id}: the anchor names entry ${anchor.id} but the log ends at ${result.head?.id ?? 0} (the tail was truncated)`);
        return EXIT.failed;
      }
      if (hash !== anchor.hash) {
        line(io.stderr, `broken at entry ${anchor.id}: its hash differs from the anchor (the log was rewritten up to or after it)`);
        return EXIT.failed;
      }
    }
    // The chain proves the log; replaying it proves the tables, where an edited expires_at or state would otherwise go unseen.
    const tables = await verifyTablesOf(reader);
    if (tables.mismatches.length > 0) {
      for (const m of tables.mismatches.slice(0, MAX_MISMATCHES_SHOWN)) line(io.stderr, `${m.row}: ${m.problem}`);
      const more = tables.mismatches.length - MAX_MISMATCHES_SHOWN;
      if (more > 0) line(io.stderr, `… and ${more} more`);
      line(io.stderr, `The log verified (${result.entries} entries), but ${tables.mismatches.length === 1 ? 'this row differs' : 'these rows differ'} from it: the database was changed outside Sesame; restore it from a backup and find out who could write to it.`);
      return EXIT.failed;
    }
    line(io.stdout, `ok: ${result.entries} ${result.entries === 1 ? 'entry' : 'entries'}${anchor ? `, anchor ${anchor.id} matches` : ''}; ${tables.requests} requests and ${tables.grants} grants match the log`);
    return EXIT.ok;
  } finally {
    await reader.close();
  }
}

const CSV_COLUMNS = ['id', 'at', 'actor', 'action', 'request_id', 'grant_id', 'details', 'policy_sha256', 'prev_hash', 'hash'] as const;

const csvField = (value: unknown): string => {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export async function auditExport(args: string[], context: CommandContext): Promise<number> {
  const { io, config } = context;
  const { values } = parseArgs({ args, options: { format: { type: 'string', default: 'jsonl' }, since: { type: 'string' }, until: { type: 'string' } } });
  if (values.format !== 'jsonl' && values.format !== 'csv') {
    line(io.stderr, `--format must be jsonl or csv, not "${values.format}".`);
    return EXIT.usage;
  }
  const since = parseDate('--since', values.since, io);
  const until = parseDate('--until', values.until, io);
  if (since === null || until === null) return EXIT.usage;
  const reader = await openForReading({ databasePath: config.databasePath, databaseUrl: config.databaseUrl }, io);
  if (!reader) return EXIT.failed;
  try {
    const render = values.format === 'csv' ? (e: ExportedEntry) => CSV_COLUMNS.map((c) => csvField(e[c])).join(',') : (e: ExportedEntry) => JSON.stringify(e);
    if (values.format === 'csv') await writeChunk(io.stdout, `${CSV_COLUMNS.join(',')}\n`);
    const filter = { since: since?.toISOString(), until: until?.toISOString() };
    for await (const row of allRows((after, limit) => reader.auditPage(after, limit, filter))) await writeChunk(io.stdout, `${render(exportedEntry(row))}\n`);
    return EXIT.ok;
  } finally {
    await reader.close();
  }
}

function parseDate(flag: string, value: string | undefined, io: CliIo): Date | undefined | null {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    line(io.stderr, `${flag} "${value}" is not a date; write it like 2026-11-01 or 2026-11-01T09:00:00Z.`);
    return null;
  }
  return date;
}
