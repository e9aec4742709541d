// `sesame report`: requests, time to grant and to revoke, automation, audit completeness, refusals and break-glass, read-only.
import { parseArgs } from 'node:util';
import { buildReport } from '../report/figures.ts';
import { formatJson, formatMarkdown, formatTable } from '../report/format.ts';
import { reportRows } from '../store/report-rows.ts';
import { openForReading } from './audit-commands.ts';
import { UsageError, type CommandContext } from './command.ts';
import { EXIT, writeChunk } from './io.ts';
import { instant } from './policy-replay.ts';

export async function report(args: string[], context: CommandContext, now: Date = new Date()): Promise<number> {
  const { io, config } = context;
  // The dispatcher prints a bad command line's reason with this command's usage, and exits 2.
  const usage = (message: string): never => {
    throw new UsageError(message);
  };
  const { values } = parseArgs({ args, options: { since: { type: 'string', default: '30d' }, until: { type: 'string' }, format: { type: 'string', default: 'table' } } });
  const format = values.format;
  if (format !== 'table' && format !== 'json' && format !== 'markdown') return usage(`--format must be table, json or markdown, not "${format}".`);
  const since = instant('--since', values.since, now);
  const until = values.until === undefined ? now : instant('--until', values.until, now);
  if (typeof since === 'string') return usage(since);
  if (typeof until === 'string') return usage(until);
  if (since.getTime() >= until.getTime()) return usage(`--since (${since.toISOString()}) must be before --until (${until.toISOString()}).`);

  const reader = await openForReading({ databasePath: config.databasePath, databaseUrl: config.databaseUrl }, io);
  if (!reader) return EXIT.failed;
  let rows;
  try {
    rows = await reportRows(reader, since, until);
  } finally {
    await reader.close();
  }
  const built = buildReport(since, until, rows.requests, rows.grants, rows.refusals);
  await writeChunk(io.stdout, format === 'json' ? formatJson(built) : format === 'markdown' ? formatMarkdown(built) : formatTable(built));
  return EXIT.ok;
}
