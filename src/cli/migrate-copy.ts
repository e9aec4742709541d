// `sesame migrate --from sqlite:PATH --to postgres://URL`: copies Sesame's SQLite database into an empty PostgreSQL one and verifies it.
import { parseArgs } from 'node:util';
import { redactUrl } from '../core/redact.ts';
import { CopyRefused, copySqliteToPg } from '../store/copy-sqlite-to-pg.ts';
import { isPostgresUrl } from '../store/pg/db.ts';
import { UsageError, type CommandContext } from './command.ts';
import { EXIT, line } from './io.ts';

/**
 * The two databases named on the command line, the target defaulting to DATABASE_URL (so its password need not be
 * typed where shell history and `ps` keep it); a UsageError saying what is wrong otherwise.
 */
export function copyArguments(args: string[], databaseUrl?: string): { sqlitePath: string; postgresUrl: string } {
  const { values, positionals } = parseArgs({ args, options: { from: { type: 'string' }, to: { type: 'string' } }, allowPositionals: true, strict: true });
  // Plain `sesame migrate` takes no arguments; words other than the two flags are a mistake whichever was meant.
  if (positionals.length > 0) throw new UsageError(`sesame migrate takes no arguments, not "${positionals.join(' ')}".`);
  const { from } = values;
  const to = values.to ?? databaseUrl;
  if (from === undefined || to === undefined) throw new UsageError(`sesame migrate needs both --from sqlite:PATH and --to postgres://URL (or DATABASE_URL set) to copy a database (${from === undefined ? '--from' : '--to'} is missing).`);
  if (!from.startsWith('sqlite:') || from.length === 'sqlite:'.length) throw new UsageError(`--from must be sqlite:PATH, the SQLite file to copy (e.g. sqlite:./data/sesame.db), not "${from}".`);
  if (!isPostgresUrl(to)) throw new UsageError(`--to must be a postgres:// or postgresql:// URL of an empty database, not "${redactUrl(to)}".`);
  return { sqlitePath: from.slice('sqlite:'.length), postgresUrl: to };
}

export async function migrateCopy(args: string[], { io, config }: CommandContext): Promise<number> {
  const { sqlitePath, postgresUrl } = copyArguments(args, config.databaseUrl);
  const where = redactUrl(postgresUrl);
  line(io.stdout, `copying ${sqlitePath} into ${where}`);
  try {
    const summary = await copySqliteToPg({ sqlitePath, postgresUrl, progress: (text) => line(io.stdout, text) });
    const rows = summary.rows.map((r) => `${r.rows.toLocaleString('en-US')} ${r.table}`).join(', ');
    const head = summary.head === null ? 'the audit log is empty' : `the audit chain verifies and ends at entry ${summary.head.id} (${summary.head.hash}) on both`;
    line(io.stdout, `copied and verified: ${rows}; ${head}. ${sqlitePath} was not changed; set DATABASE_URL to that URL to run Sesame on PostgreSQL.`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof CopyRefused)) throw error;
    line(io.stderr, error.message);
    return EXIT.failed;
  }
}
