// `sesame playground` (npm run playground): the real Sesame behind a local Slack stand-in, in the browser.
import { EXIT, line, type CliIo } from '../cli/io.ts';
import { loadConfig } from '../config.ts';
import { withoutSlackVariables } from './start.ts';

export async function playgroundCommand(io: CliIo): Promise<number> {
  const config = loadConfig(withoutSlackVariables(io.env));
  if (!config.ok) {
    for (const problem of config.error) line(io.stderr, problem);
    return EXIT.failed;
  }
  // Loaded here, so that other commands never load Bolt and BullMQ.
  const { startPlayground } = await import('./start.ts');
  const { StartupError } = await import('../main.ts');
  let running;
  try {
    running = await startPlayground({ env: io.env, port: config.value.port });
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
