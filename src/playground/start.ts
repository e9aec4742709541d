// Starts the real Sesame (startSesame: Bolt over HTTP, policy engine, BullMQ, SQLite) behind the Slack stand-in,
// and the page that shows the stand-in's workspace. No Slack variable is read: the stand-in is the Slack.
import { withoutSlackVariables } from './environment.ts';
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { loadConfig } from '../config.ts';
import { startSesame, StartupError, type RunningSesame } from '../main.ts';
import { formatProblem, loadPolicyFile } from '../policy/load.ts';
import { EventsSender } from './events-sender.ts';
import { FakeSlack } from './fake-slack.ts';
import { createPageServer } from './page-server.ts';
import { seedWorkspace } from './workspace.ts';

export const PLAYGROUND_POLICY = './policies/playground.yaml';
export const PLAYGROUND_DATABASE = './data/playground.db';

export interface PlaygroundOptions {
  /** The environment: REDIS_URL, PORT, LOG_LEVEL, POLICY_PATH, DATABASE_PATH and provider secrets are read from it. */
  env: NodeJS.ProcessEnv;
  /** Port of the page; 0 lets the OS choose. @defaultValue PORT, else 3000 */
  port?: number;
  log?: Logger;
  /** Namespace for BullMQ keys. @defaultValue one per database file (see redisPrefixFor) */
  redisPrefix?: string;
}

export interface RunningPlayground {
  /** Where the page is, e.g. http://127.0.0.1:3000/ */
  url: string;
  slack: FakeSlack;
  sesame: RunningSesame;
  stop(): Promise<void>;
}

/**
 * One BullMQ namespace per database file: a restarted playground finds its timers again, and two playgrounds
 * with different databases on one Redis never take each other's jobs.
 */
export function redisPrefixFor(databasePath: string): string {
  return `sesame-playground-${createHash('sha256').update(resolve(databasePath)).digest('hex').slice(0, 12)}`;
}

export async function startPlayground(options: PlaygroundOptions): Promise<RunningPlayground> {
  const env = withoutSlackVariables(options.env);
  const policyPath = env.POLICY_PATH || PLAYGROUND_POLICY;
  const databasePath = env.DATABASE_PATH || PLAYGROUND_DATABASE;
  const loaded = await loadPolicyFile(policyPath, { env });
  if (!loaded.ok) throw new StartupError(loaded.error.map(formatProblem));

  const slack = await new FakeSlack().start();
  seedWorkspace(slack, loaded.value.policy);
  const signingSecret = randomBytes(24).toString('hex');
  const config = loadConfig({
    ...env,
    SLACK_BOT_TOKEN: 'xoxb-playground',
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
    POLICY_PATH: policyPath,
    DATABASE_PATH: databasePath,
    // The playground keeps its own SQLite file, whatever store the real deployment uses.
    DATABASE_URL: '',
    LOG_LEVEL: env.LOG_LEVEL || 'warn',
  });
  if (!config.ok) {
    await slack.stop();
    throw new StartupError(config.error);
  }

  let sesame: RunningSesame;
  try {
    // Look-ups are not cached: switching people or editing a group in the playground shows at once.
    // Sesame's own port is private to the playground: only the stand-in talks to it.
    // The start-up findings judge a real deployment (Redis persistence, Slack channels); here they would only alarm a newcomer.
    sesame = await startSesame({ ...config.value, port: 0 }, { ...(options.log ? { log: options.log } : {}), redisPrefix: options.redisPrefix ?? redisPrefixFor(databasePath), directoryTtlMs: 0, host: '127.0.0.1', startupChecks: false });
  } catch (error) {
    await slack.stop();
    throw error;
  }
  const sender = new EventsSender(slack, `http://127.0.0.1:${sesame.port}/slack/events`, signingSecret);
  const page = createPageServer({ slack, sender, store: sesame.store });
  try {
    await new Promise<void>((resolve, reject) => {
      page.once('error', reject);
      page.listen(options.port ?? config.value.port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await sesame.stop();
    await slack.stop();
    const code = (error as NodeJS.ErrnoException).code;
    throw code === 'EADDRINUSE' ? new StartupError([`Port ${options.port ?? config.value.port} is in use; stop what uses it, or set PORT to another port.`]) : error;
  }
  const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;

  return {
    url,
    slack,
    sesame,
    async stop() {
      page.closeAllConnections();
      await new Promise<void>((resolve) => page.close(() => resolve()));
      await sesame.stop();
      await slack.stop();
    },
  };
}

export { withoutSlackVariables };
