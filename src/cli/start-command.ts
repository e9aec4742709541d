// `sesame start`: runs the bot until SIGTERM/SIGINT; everything it says, fatal causes included, is a JSON log line.
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { slackConfigProblems } from '../config.ts';
import { createLogger, flushed } from '../logger.ts';
import { startSesame, StartupError } from '../main.ts';
import type { Config } from '../config.ts';
import { UsageError, type CommandContext } from './command.ts';
import { EXIT } from './io.ts';

/**
 * V8 lets the heap grow to several times what survived its last full collection before collecting again, so a bot
 * whose live objects take ~50 MiB sat at 250-340 MiB under load. Growing by half at a time keeps the peak near the
 * live set; 30 % held it no lower under the bench and cost more full collections (docs/benchmark.md). A setting in
 * NODE_OPTIONS or on the command line wins.
 */
const HEAP_GROWING_FLAG = '--heap-growing-percent=50';

/** How long in-flight work may take after SIGTERM before the process gives up waiting. */
const STOP_TIMEOUT_MS = 10_000;

export async function start(args: string[], { io, config }: CommandContext): Promise<number> {
  if (args.length > 0) throw new UsageError(`sesame start takes no arguments (configuration comes from the environment), not "${args.join(' ')}".`);
  if (![process.env.NODE_OPTIONS ?? '', ...process.execArgv].some((flag) => flag.includes('heap-growing-percent'))) setFlagsFromString(HEAP_GROWING_FLAG);
  const log = createLogger(config.logLevel, io.stdout);
  const code = await runUntilStopped(config, log);
  // The process exits right after; what is still queued is written first, in order.
  await flushed(log);
  return code;
}

async function runUntilStopped(config: Config, log: Logger): Promise<number> {
  const problems = slackConfigProblems(config);
  for (const problem of problems) log.fatal(problem);
  if (problems.length > 0) return EXIT.failed;
  // Listening before start-up: without a listener the OS's default action kills the process outright, so a SIGTERM
  // right after "Sesame is running" would skip the graceful stop. One that comes during start-up stops it once up.
  let up = false;
  const stopSignal = new Promise<string>((resolve) => {
    const during = (signal: string) => () => {
      if (!up) log.info({ signal }, 'stopping as soon as start-up has finished');
      resolve(signal);
    };
    process.once('SIGTERM', during('SIGTERM'));
    process.once('SIGINT', during('SIGINT'));
  });
  let sesame;
  try {
    sesame = await startSesame(config, { log });
  } catch (error) {
    if (error instanceof StartupError) for (const problem of error.problems) log.fatal(problem);
    else log.fatal({ problem: error instanceof Error ? error.message : String(error) }, 'Sesame could not start');
    return EXIT.failed;
  }
  const running = sesame;
  up = true;
  const signal = await stopSignal;
  log.info({ signal }, 'finishing in-flight work and stopping');
  return new Promise<number>((resolve) => {
    const forced = setTimeout(() => {
      log.error({ signal }, `in-flight work did not finish within ${STOP_TIMEOUT_MS / 1000} s; stopping anyway (the reconciler picks up what was cut off)`);
      resolve(EXIT.failed);
    }, STOP_TIMEOUT_MS);
    forced.unref();
    void running.stop().then(
      () => {
        log.info({ signal }, 'stopped');
        resolve(EXIT.ok);
      },
      (error: unknown) => {
        log.error({ signal, problem: error instanceof Error ? error.message : String(error) }, 'stopping failed');
        resolve(EXIT.failed);
      },
    );
  });
}
