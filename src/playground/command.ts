// `sesame playground` (npm run playground): the real Sesame behind a local Slack stand-in, in the browser.
import type { CommandContext } from '../cli/command.ts';
import { UsageError } from '../cli/command.ts';
import { EXIT, line } from '../cli/io.ts';

/** `config` was read without the Slack variables (the command table's `environment`), so none of them can stop it. */
export async function playgroundCommand(args: string[], { io, config }: CommandContext): Promise<number> {
  if (args.length > 0) throw new UsageError(`sesame playground takes no arguments (PORT, REDIS_URL, POLICY_PATH and DATABASE_PATH come from the environment), not "${args.join(' ')}".`);
  // Loaded here, so that other commands never load Bolt and BullMQ.
  const { startPlayground } = await import('./start.ts');
  const { StartupError } = await import('../main.ts');
  let running;
  try {
    running = await startPlayground({ env: io.env, port: config.port });
  } catch (error) {
    const problems = error instanceof StartupError ? error.problems : [`The playground could not start: ${error instanceof Error ? error.message : String(error)}.`];
    for (const problem of problems) line(io.stderr, problem);
    return EXIT.failed;
  }
  const playground = running;
  line(io.stdout, `Sesame playground: ${playground.url}`);
  line(io.stdout, `Open it in a browser, pick who you act as, and type /access help. Ctrl-C stops it.`);
  return new Promise<number>((resolve) => {
    const shutdown = () => {
      const forced = setTimeout(() => resolve(EXIT.failed), 10_000);
      forced.unref();
      void playground.stop().then(
        () => resolve(EXIT.ok),
        () => resolve(EXIT.failed),
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
