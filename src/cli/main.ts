// The `sesame` dispatcher: finds the command in the table, answers --help and --version, and maps failures to exit codes.
import { readFileSync } from 'node:fs';
import { redactCredentials } from '../core/redact.ts';
import { closestNames } from '../policy/closest.ts';
import { UsageError, type Command } from './command.ts';
import { COMMANDS } from './commands.ts';
import { loadDotEnv } from './env-file.ts';
import { EXIT, line, processIo, type CliIo } from './io.ts';

const HELP_FLAGS = new Set(['--help', '-h']);

/** The process entry point (bin/sesame.js): reads ./.env, runs the command, sets the exit code. */
export async function run(argv: string[]): Promise<void> {
  const io = processIo();
  const envProblem = loadDotEnv(process.cwd());
  if (envProblem) {
    line(io.stderr, envProblem);
    process.exitCode = EXIT.failed;
    return;
  }
  const code = await main(argv, io);
  // After `start` stops, connection pools may linger; other commands exit naturally so piped output is never cut.
  if (argv[0] === 'start') process.exit(code);
  process.exitCode = code;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-V' || first === 'version') {
    line(io.stdout, `sesame ${version()}`);
    return EXIT.ok;
  }
  if (first === 'help') return help(argv.slice(1), io);
  if (first === undefined || HELP_FLAGS.has(first)) {
    line(first === undefined ? io.stderr : io.stdout, listing(COMMANDS, 'usage: sesame <command> [--help]'));
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commandOf(argv);
  if (!command) return unknown(argv, io);
  const args = argv.slice(command.name.split(' ').length);
  const end = args.indexOf('--');
  if ((end === -1 ? args : args.slice(0, end)).some((a) => HELP_FLAGS.has(a))) {
    line(io.stdout, command.help);
    return EXIT.ok;
  }
  return execute(command, args, io);
}

async function execute(command: Command, args: string[], io: CliIo): Promise<number> {
  const { loadConfig } = await import('../config.ts');
  const config = loadConfig(command.environment?.(io.env) ?? io.env);
  if (!config.ok) {
    if (command.json) {
      const { createLogger, flushed } = await import('../logger.ts');
      const log = createLogger('info', io.stdout);
      for (const problem of config.error) log.fatal(problem);
      await flushed(log);
    } else {
      for (const problem of config.error) line(io.stderr, problem);
    }
    return EXIT.failed;
  }
  try {
    const runCommand = await command.load();
    return await runCommand(args, { io, config: config.value });
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      line(io.stderr, `${(error as Error).message}\n\n${command.help}`);
      return EXIT.usage;
    }
    line(io.stderr, `sesame ${command.name} failed: ${redactCredentials(error instanceof Error ? error.message : String(error))}`);
    return EXIT.failed;
  }
}

/** The longest command whose words begin the command line. */
function commandOf(argv: string[]): Command | undefined {
  return COMMANDS.filter((c) => c.name.split(' ').every((word, i) => argv[i] === word)).sort((a, b) => b.name.length - a.name.length)[0];
}

function help(words: string[], io: CliIo): number {
  const name = words.join(' ');
  const command = COMMANDS.find((c) => c.name === name);
  const group = COMMANDS.filter((c) => words.length === 0 || c.name.startsWith(`${name} `));
  if (command) line(io.stdout, command.help);
  else if (group.length > 0) line(io.stdout, listing(group, `usage: sesame ${words.length === 0 ? '' : `${name} `}<command> [--help]`));
  else return unknown(words, io);
  return EXIT.ok;
}

/** A group alone (`sesame policy`) lists its commands; anything else unknown says so, with the nearest names. */
function unknown(argv: string[], io: CliIo): number {
  const [group, sub] = argv;
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  if (members.length > 0) {
    const usage = listing(members, `usage: sesame ${group} <command> [--help]`);
    if (sub !== undefined && HELP_FLAGS.has(sub)) {
      line(io.stdout, usage);
      return EXIT.ok;
    }
    const what = sub === undefined || sub.startsWith('-') ? '' : `Unknown command "${group} ${sub}".${suggestion(`${group} ${sub}`, members)}\n\n`;
    line(io.stderr, `${what}${usage}`);
    return EXIT.usage;
  }
  const typed = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ') || String(group);
  line(io.stderr, `Unknown command "${typed}".${suggestion(typed, COMMANDS)}\n\n${listing(COMMANDS, 'usage: sesame <command> [--help]')}`);
  return EXIT.usage;
}

function suggestion(typed: string, among: readonly Command[]): string {
  // Compare like with like: "policy chek" with whole command names, "polcy" with their first words.
  const names = new Set(among.map((c) => (typed.includes(' ') ? c.name : (c.name.split(' ')[0] as string))));
  const [best] = closestNames(typed, names, 1);
  return best === undefined ? '' : ` Did you mean "sesame ${best}"?`;
}

function listing(commands: readonly Command[], usage: string): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [usage, '', ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), '', 'Run `sesame <command> --help` for its flags. Configuration comes from the environment and ./.env; see .env.example.'].join('\n');
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

const isParseArgsError = (error: unknown): boolean => String((error as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
