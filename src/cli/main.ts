// The `sesame` command: start, policy check|explain, audit verify|export, migrate.
import { loadConfig, slackConfigProblems, type Config } from '../config.ts';
import { appliedMigrationCount, openDatabase } from '../store/db.ts';
import { auditExport, auditVerify } from './audit-commands.ts';
import { EXIT, line, processIo, type CliIo } from './io.ts';
import { policyCheck, policyExplain } from './policy-commands.ts';
import { playgroundCommand } from '../playground/command.ts';

const USAGE = `usage: sesame <command>

  start                         run the bot (what npm start does)
  playground                    try Sesame in the browser, no Slack needed (npm run playground)
  policy check [FILE]           validate a policy file
  policy explain --user U… --resource R [--role X] [--duration 1h] [--reason TEXT]
                 [--channel C…|NAME] [--breakglass] [--at ISO]
                                what the policy would decide, and which rule decides
  audit verify [--anchor ID:HASH]
                                recompute the audit log's hash chain
  audit export [--format jsonl|csv] [--since ISO] [--until ISO]
                                write the audit log to standard output
  migrate                       apply database migrations and exit

Configuration comes from the environment; see .env.example.`;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    line(command === undefined ? io.stderr : io.stdout, USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === 'playground') return playgroundCommand(io);
  const config = loadConfig(io.env);
  if (!config.ok) {
    for (const problem of config.error) line(io.stderr, problem);
    return EXIT.failed;
  }
  try {
    return await run(command, sub, rest, config.value, io);
  } catch (error) {
    line(io.stderr, `sesame ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}

async function run(command: string, sub: string | undefined, rest: string[], config: Config, io: CliIo): Promise<number> {
  switch (command) {
    case 'policy':
      if (sub === 'check') return policyCheck(rest, io, config.policyPath);
      if (sub === 'explain') return policyExplain(rest, io, config.policyPath, null);
      break;
    case 'audit':
      if (sub === 'verify') return auditVerify(rest, io, config.databasePath);
      if (sub === 'export') return auditExport(rest, io, config.databasePath);
      break;
    case 'migrate':
      return migrate(config, io);
    case 'start':
      return start(config, io);
  }
  line(io.stderr, `Unknown command "${[command, sub].filter(Boolean).join(' ')}".\n\n${USAGE}`);
  return EXIT.usage;
}

function migrate(config: Config, io: CliIo): number {
  const db = openDatabase(config.databasePath);
  const applied = appliedMigrationCount(db);
  db.$client.close();
  line(io.stdout, `${config.databasePath}: up to date (${applied} migrations applied)`);
  return EXIT.ok;
}

async function start(config: Config, io: CliIo): Promise<number> {
  const problems = slackConfigProblems(config);
  for (const problem of problems) line(io.stderr, problem);
  if (problems.length > 0) return EXIT.failed;
  // Loaded here, not at the top, so that `policy check` and friends never load Bolt and BullMQ.
  const { startSesame, StartupError } = await import('../main.ts');
  let running;
  try {
    running = await startSesame(config);
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    for (const problem of error.problems) line(io.stderr, problem);
    return EXIT.failed;
  }
  const sesame = running;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      line(io.stderr, `${signal}: finishing in-flight work and stopping…`);
      const forced = setTimeout(() => resolve(EXIT.failed), 10_000);
      forced.unref();
      void sesame.stop().then(
        () => resolve(EXIT.ok),
        () => resolve(EXIT.failed),
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
