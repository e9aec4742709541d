// The command table: adding a subcommand is one entry here (its help and a lazy import of the file that runs it).
import { withoutSlackVariables } from '../playground/environment.ts';
import type { Command } from './command.ts';

export const COMMANDS: readonly Command[] = [
  {
    name: 'start',
    summary: 'run the bot (what npm start does)',
    help: 'usage: sesame start\n\nRuns Sesame with the configuration in the environment (and ./.env); logs JSON lines to standard output.',
    load: async () => (await import('./start-command.ts')).start,
    json: true,
  },
  {
    name: 'playground',
    summary: 'try Sesame in the browser, no Slack needed (npm run playground)',
    help: [
      'usage: sesame playground',
      '',
      'Runs the real Sesame behind a local Slack stand-in and prints its address (http://127.0.0.1:3000/, or PORT).',
      'Needs only Redis (REDIS_URL). Uses ./data/playground.db and policies/playground.yaml unless DATABASE_PATH or',
      'POLICY_PATH are set; reads no Slack variable.',
    ].join('\n'),
    environment: withoutSlackVariables,
    load: async () => (await import('../playground/command.ts')).playgroundCommand,
  },
  {
    name: 'doctor',
    summary: 'check the environment, Slack, Redis, the database and every provider',
    help: 'usage: sesame doctor\n\nOne line per check, ✓ or ✗ with what to do; exits 1 when any check fails.',
    load: async () => (await import('./doctor-command.ts')).doctor,
  },
  {
    name: 'policy check',
    summary: 'validate a policy file',
    help: 'usage: sesame policy check [FILE]\n\nFILE defaults to POLICY_PATH (./policies/policy.yaml). Exits 1 listing every problem as FILE:LINE:COL message.',
    load: async () => (await import('./policy-commands.ts')).policyCheck,
  },
  {
    name: 'policy explain',
    summary: 'what the policy would decide for a request, and which rule decides',
    help: [
      'usage: sesame policy explain --user U… --resource NAME [flags]',
      '',
      '  --user U…              the requester (Slack user ID)',
      '  --resource NAME        the resource requested',
      '  --role ROLE            the role asked for',
      '  --duration 1h          the length asked for',
      '  --reason TEXT          the reason given',
      '  --channel C…|NAME      the channel asked from (break-glass needs an incident channel)',
      '  --breakglass           a break-glass request',
      '  --at ISO               decide as at this time (default: now)',
      '  --policy FILE          the policy (default: POLICY_PATH)',
      '  --no-slack             do not ask Slack for user-group membership even when SLACK_BOT_TOKEN is set',
    ].join('\n'),
    load: async () => (await import('./policy-commands.ts')).policyExplain,
  },
  {
    name: 'policy test',
    summary: 'run policy test files (*.test.yaml) against a policy',
    help: [
      'usage: sesame policy test [PATH…] [--policy FILE]',
      '',
      '  PATH…                  test files or folders of *.test.yaml (default: policies/tests/)',
      '  --policy FILE          the policy, when a test file names none (default: POLICY_PATH)',
      '',
      'Prints ✓ or ✗ per case, then "N passed, M failed"; exits 1 when a case fails, 2 when a test file is malformed.',
    ].join('\n'),
    load: async () => {
      const { policyTest } = await import('./policy-test.ts');
      return (args, { io, config }) => policyTest(args, io, config.policyPath);
    },
  },
  {
    name: 'policy replay',
    summary: 'what a new policy would have decided for the requests already made',
    help: [
      'usage: sesame policy replay NEW_POLICY [--since 30d|ISO] [--until ISO] [--format table|jsonl] [--fail-on-change]',
      '',
      '  --since 30d|ISO        from when (default: 30d ago)',
      '  --until ISO            until when (default: now)',
      '  --format table|jsonl   one row or one JSON line per changed decision (default: table)',
      '  --fail-on-change       exit 1 when any decision would change (for CI)',
      '',
      'Reads the database (DATABASE_URL, else DATABASE_PATH) and never writes to it. Entries older than the recording of groups are replayed',
      "with today's groups: Slack user groups too when SLACK_BOT_TOKEN is set.",
    ].join('\n'),
    load: async () => {
      const { policyReplay } = await import('./policy-replay.ts');
      return (args, context) => policyReplay(args, context.io, { databasePath: context.config.databasePath, databaseUrl: context.config.databaseUrl }, new Date(), context.config.slack);
    },
  },
  {
    name: 'policy diff',
    summary: 'the change in access between two policies',
    help: 'usage: sesame policy diff OLD NEW [--format text|markdown]\n\nShows, per resource and role, who may request it, what auto-approves, the approval steps, the maximum durations and break-glass, where they differ.',
    load: async () => {
      const { policyDiff } = await import('./policy-diff.ts');
      return (args, { io }) => policyDiff(args, io);
    },
  },
  {
    name: 'audit verify',
    summary: "recompute the audit log's hash chain",
    help: 'usage: sesame audit verify [--anchor ID:HASH]\n\n  --anchor ID:HASH       also check the chain against a head posted to the audit channel',
    load: async () => (await import('./audit-commands.ts')).auditVerify,
  },
  {
    name: 'audit export',
    summary: 'write the audit log to standard output',
    help: 'usage: sesame audit export [--format jsonl|csv] [--since ISO] [--until ISO]',
    load: async () => (await import('./audit-commands.ts')).auditExport,
  },
  {
    name: 'report',
    summary: 'the numbers: time to grant and revoke, automation, audit completeness, refusals, break-glass',
    help: [
      'usage: sesame report [--since 30d|ISO] [--until 1d|ISO] [--format table|json|markdown]',
      '',
      '  --since 30d|ISO        requests made from when (default: 30d ago)',
      '  --until 1d|ISO         until when (default: now)',
      '  --format FORMAT        table, json or markdown (default: table)',
      '',
      'Overall, per tier and per resource. Reads the database (DATABASE_URL, else DATABASE_PATH) and never writes to it.',
    ].join('\n'),
    load: async () => (await import('./report-command.ts')).report,
  },
  {
    name: 'migrate',
    summary: 'create the database or apply pending migrations, and exit; or copy SQLite into PostgreSQL',
    help: [
      'usage: sesame migrate',
      '       sesame migrate --from sqlite:PATH --to postgres://URL',
      '',
      'Without flags: creates the database at DATABASE_PATH (or, with DATABASE_URL set, the tables in that PostgreSQL',
       'database), or applies the migrations it lacks, and says which it did.',
      '',
      '  --from sqlite:PATH     the SQLite database to copy (read only; no Sesame may be running on it)',
      '  --to postgres://URL    an empty PostgreSQL database; migrated, then filled in one transaction',
      '                         (default: DATABASE_URL, which keeps the password off the command line)',
      '',
      'The copy keeps every id and audit hash, and is kept only when it verifies: same rows per table, the audit',
      "chain recomputes and ends at SQLite's head. Exits 1, changing nothing, when the target already holds data.",
    ].join('\n'),
    load: async () => (await import('./migrate-command.ts')).migrate,
  },
];
