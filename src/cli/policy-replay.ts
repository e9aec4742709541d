// `sesame policy replay NEW_POLICY`: re-decides the stored requests of a period under another policy; reads the database only.
import { parseArgs } from 'node:util';
import { groupsOf } from '../core/membership.ts';
import { looksLikeDuration, parseDuration } from '../policy/duration.ts';
import { formatProblem, loadPolicyFile } from '../policy/load.ts';
import { HOUR_MS, replay, summarizeReplay, type ReplayChange } from '../policy/replay.ts';
import { pastDecisions } from '../store/decision-history.ts';
import { openForReading } from './audit-commands.ts';
import { EXIT, line, writeChunk, type CliIo } from './io.ts';
import { offlineDirectory, slackDirectory } from './policy-commands.ts';

export const POLICY_REPLAY_USAGE = 'usage: sesame policy replay NEW_POLICY [--since 30d|ISO] [--until 1d|ISO] [--format table|jsonl] [--fail-on-change]';

/** `slack`: with a bot token, today's groups (for entries that predate recording them) include Slack user groups. */
export async function policyReplay(args: string[], io: CliIo, database: string | { databasePath: string; databaseUrl?: string | undefined }, now: Date = new Date(), slack: { botToken?: string | undefined; apiUrl?: string | undefined } = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { since: { type: 'string', default: '30d' }, until: { type: 'string' }, format: { type: 'string', default: 'table' }, 'fail-on-change': { type: 'boolean', default: false } },
    });
  } catch (error) {
    line(io.stderr, `${(error as Error).message}\n\n${POLICY_REPLAY_USAGE}`);
    return EXIT.usage;
  }
  const { positionals, values } = parsed;
  const usage = (message: string) => {
    line(io.stderr, `${message}\n\n${POLICY_REPLAY_USAGE}`);
    return EXIT.usage;
  };
  if (positionals.length !== 1) return usage('Give exactly one policy file to replay under, e.g. `sesame policy replay policies/policy.yaml`.');
  if (values.format !== 'table' && values.format !== 'jsonl') return usage(`--format must be table or jsonl, not "${values.format}".`);
  const since = instant('--since', values.since, now);
  const until = values.until === undefined ? now : instant('--until', values.until, now);
  if (typeof since === 'string') return usage(since);
  if (typeof until === 'string') return usage(until);

  const file = positionals[0] as string;
  const loaded = await loadPolicyFile(file);
  if (!loaded.ok) {
    for (const problem of loaded.error) line(io.stderr, formatProblem(problem));
    line(io.stderr, `${file} is not a valid policy; fix it (see \`sesame policy check\`) before replaying under it.`);
    return EXIT.failed;
  }
  const reader = await openForReading(typeof database === 'string' ? { databasePath: database } : database, io);
  if (!reader) return EXIT.failed;
  let past;
  try {
    // The hour before the period too: break-glass grants in it count towards the rate limit of the first decisions.
    past = await pastDecisions(reader, new Date(since.getTime() - HOUR_MS), until);
  } finally {
    await reader.close();
  }

  const { policy } = loaded.value;
  // Entries from before groups were recorded fall back to today's membership: Slack's user groups when there is a
  // token to ask with, else only the new policy's fixed user lists.
  const today = new Map<string, ReadonlySet<string>>();
  const legacyUsers = new Set(past.filter((p) => p.groups === null).map((p) => p.user));
  const askSlack = legacyUsers.size > 0 && slack.botToken !== undefined && slack.botToken !== '';
  try {
    const directory = askSlack ? await slackDirectory(slack.botToken as string, slack.apiUrl) : offlineDirectory;
    for (const user of legacyUsers) today.set(user, await groupsOf(policy, user, directory));
  } catch (error) {
    line(io.stderr, `Could not ask Slack for today's user groups (${error instanceof Error ? error.message : String(error)}); check SLACK_BOT_TOKEN and SLACK_API_URL, or unset SLACK_BOT_TOKEN to use only the policy's users: lists.`);
    return EXIT.failed;
  }
  const report = replay(policy, past, (user) => today.get(user) ?? new Set(), since);

  if (values.format === 'jsonl') {
    for (const change of report.changes) await writeChunk(io.stdout, `${JSON.stringify(jsonOf(change))}\n`);
    line(io.stderr, summarizeReplay(report));
  } else {
    for (const row of table(report.changes)) line(io.stdout, row);
    line(io.stdout, summarizeReplay(report));
  }
  if (report.withTodaysGroups > 0) {
    const how = askSlack ? "today's groups, Slack user groups included" : "today's fixed group lists (Slack user groups not looked up; set SLACK_BOT_TOKEN to include them)";
    line(io.stderr, `note: ${report.withTodaysGroups} decision(s) predate the audit recording groups; they were replayed with ${how}.`);
  }
  if (report.extensionsWithoutSpan > 0) {
    line(io.stderr, `note: ${report.extensionsWithoutSpan} extension(s) extend a grant whose start and end the audit log does not show; they were replayed without the limit on the grant's total length (the tier's max_duration).`);
  }
  return values['fail-on-change'] && report.changes.length > 0 ? EXIT.failed : EXIT.ok;
}

/** `30d` (that long before now) or an ISO date; a string is the sentence saying what is wrong. */
export function instant(flag: string, value: string, now: Date): Date | string {
  if (looksLikeDuration(value)) {
    const ago = parseDuration(value);
    if (ago.ok) return new Date(now.getTime() - ago.value);
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? `${flag} "${value}" is neither a duration like 30d nor a date like 2026-11-01T09:00:00Z.` : date;
}

function jsonOf({ past, after }: ReplayChange) {
  return {
    request_id: past.requestId,
    at: past.at.toISOString(),
    user: past.user,
    resource: past.resource,
    role: past.role ?? null,
    // Only on extensions, so a plain request's line keeps exactly the documented keys.
    ...(past.extending === undefined ? {} : { extends: past.extending.grantId }),
    before: { decision: past.before.decision, tier: past.before.tier },
    after: { decision: after.decision, tier: after.tier, error: after.error },
  };
}

function table(changes: ReplayChange[]): string[] {
  if (changes.length === 0) return [];
  const describe = (decision: string, tier: string | null, error: string | null) => (error !== null ? `${decision}: ${error}` : tier !== null ? `${decision} (${tier})` : decision);
  const rows = changes.map(({ past, after }) => [
    `${past.requestId ?? '-'}${past.extending === undefined ? '' : ` (extends ${past.extending.grantId})`}`,
    past.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    past.user,
    past.resource,
    past.role ?? '-',
    describe(past.before.decision, past.before.tier, past.before.error),
    describe(after.decision, after.tier, after.error),
  ]);
  const all = [['REQUEST', 'AT', 'USER', 'RESOURCE', 'ROLE', 'BEFORE', 'AFTER'], ...rows];
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length))) ?? [];
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
}
