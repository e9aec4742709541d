// What a `sesame` subcommand is: its name, its help (kept here so `--help` loads nothing), and its code, loaded on use.
import type { Config } from '../config.ts';
import type { CliIo } from './io.ts';

export interface CommandContext {
  io: CliIo;
  config: Config;
}

export type CommandRun = (args: string[], context: CommandContext) => Promise<number> | number;

export interface Command {
  /** The words after `sesame`, e.g. "policy check"; the first word groups commands. */
  name: string;
  /** One line for the command listing. */
  summary: string;
  /** The usage line, then one line per flag; printed by `--help` and after a bad command line. */
  help: string;
  /** Imported only when the command runs, so each command pays only for the modules it needs. */
  load(): Promise<CommandRun>;
  /** Its output is JSON log lines (start), so configuration problems are written as JSON too. */
  json?: boolean;
  /** What of the environment its configuration is read from, when not all of it (the playground ignores Slack's). */
  environment?(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/** A command line the command cannot take; the dispatcher prints the message and the command's help, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
