// Composition root: config → db → policy → scheduler → providers → slack → http. Nothing else builds adapters.
import type { AddressInfo } from 'node:net';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from './config.ts';
import { createAnchorPoster } from './audit-anchor.ts';
import { AccessService } from './core/access-service.ts';
import type { Clock } from './core/ports.ts';
import { DEFAULT_RETRY } from './core/retry.ts';
import { logFindings } from './doctor/log-findings.ts';
import { slackTokenSentence } from './doctor/slack-checks.ts';
import { createHttpServer } from './http/server.ts';
import { logObserver } from './log-observer.ts';
import { createLogger } from './logger.ts';
import { createMetrics, fanOut, metricsObserver, type Metrics } from './metrics.ts';
import { formatProblem, loadPolicyFile } from './policy/load.ts';
import { createPolicyWatcher } from './policy-watcher.ts';
import { createProviders } from './providers/registry.ts';
import { createBullScheduler } from './scheduler/bullmq-scheduler.ts';
import { createReconciler, type ReconcileReport } from './scheduler/reconciler.ts';
import { boltLogger, createSlackApp } from './slack/app.ts';
import { createSlackDirectory } from './slack/directory.ts';
import { createSlackNotifier } from './slack/notifier.ts';
import { createUsergroupApi } from './slack/usergroup-api.ts';
import { countingCalls, createWebClient } from './slack/slack-api.ts';
import { openDatabase } from './store/db.ts';
import { Store } from './store/repositories.ts';

export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Why the HTTP server could not listen, and what to do. */
function listenProblem(error: unknown, port: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return `Port ${port} is already in use (another Sesame, or another program, listens on it); stop that, or set PORT to a free port.`;
  if (code === 'EACCES') return `Port ${port} needs privileges this user does not have; set PORT to 1024 or above.`;
  return `Could not listen on port ${port} (${error instanceof Error ? error.message : String(error)}); set PORT to a free port.`;
}

export interface StartOptions {
  log?: PinoLogger;
  clock?: Clock;
  /** Namespace for BullMQ keys in Redis. @defaultValue sesame */
  redisPrefix?: string;
  /** Provider retries. @defaultValue 3 attempts from 500 ms */
  retry?: typeof DEFAULT_RETRY;
  watchPolicyFile?: boolean;
  /** How long Slack look-ups are cached. @defaultValue 60 s */
  directoryTtlMs?: number;
  /** How often the audit chain head is posted. @defaultValue 1 h */
  anchorIntervalMs?: number;
  /** Run `sesame doctor`'s checks after start and log what they find. @defaultValue true */
  startupChecks?: boolean;
}

export interface RunningSesame {
  port: number;
  access: AccessService;
  store: Store;
  metrics: Metrics;
  reconcile(): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

export async function startSesame(config: Config, options: StartOptions = {}): Promise<RunningSesame> {
  const log = options.log ?? createLogger(config.logLevel);
  const botToken = config.slack.botToken;
  if (!botToken) throw new StartupError(['SLACK_BOT_TOKEN is not set.']);
  const loaded = await loadPolicyFile(config.policyPath, { env: config.secrets });
  if (!loaded.ok) throw new StartupError(loaded.error.map(formatProblem));

  const db = openDatabase(config.databasePath);
  let policy = () => loaded.value;
  const store = new Store(db, () => policy().sha256);
  const metrics = createMetrics(() => store.countGrants('active'));
  const clock = options.clock ?? { now: () => new Date() };
  const scheduler = createBullScheduler({ redisUrl: config.redisUrl, prefix: options.redisPrefix ?? 'sesame', log, warnHorizonMs: Math.max(3_600_000, 2 * config.reconcileIntervalMs) });

  const client = createWebClient(botToken, config.slack.apiUrl, boltLogger(log.child({ component: 'web-api' })));
  const call = countingCalls(metrics, log);
  const watcher = createPolicyWatcher({
    initial: loaded.value,
    store,
    log,
    watchFile: options.watchPolicyFile ?? true,
    env: config.secrets,
    announce: async (text) => {
      const channel = watcher.current().policy.settings.audit_channel;
      if (channel) await call('chat.postMessage', () => client.chat.postMessage({ channel, text }));
    },
  });
  policy = () => watcher.current();

  const directory = createSlackDirectory(client, call, Date.now, options.directoryTtlMs);
  const providers = createProviders({ env: config.secrets, usergroups: createUsergroupApi(client, call) });
  const notifier = fanOut(createSlackNotifier({ client, call, store, policy, log }), metricsObserver(metrics), logObserver(log.child({ component: 'access' })));
  const access = new AccessService({
    store,
    policy,
    providers,
    scheduler,
    notifier,
    directory,
    clock,
    log,
    retry: options.retry ?? DEFAULT_RETRY,
  });
  scheduler.startWorkers(access);
  const reconciler = createReconciler({ store, access, scheduler, clock, log, intervalMs: config.reconcileIntervalMs });
  const slack = createSlackApp({ botToken, signingSecret: config.slack.signingSecret, appToken: config.slack.appToken, apiUrl: config.slack.apiUrl, log }, { access, policy, log });
  /** Undoes what started so far and stops with `problem` alone, so the fatal cause is the first and only thing said. */
  const abandon = async (problem: string): Promise<never> => {
    await scheduler.close();
    watcher.close();
    await providers.close?.();
    db.$client.close();
    throw new StartupError([problem]);
  };
  try {
    await slack.app.init();
  } catch (error) {
    await abandon(slackTokenSentence(error, config.slack.apiUrl));
  }

  const server = createHttpServer({
    slack: slack.requestListener,
    metrics: metrics.registry,
    readiness: async () => {
      const checks = {
        sqlite: store.ping() ? 'ok' : 'the database does not answer',
        redis: (await scheduler.available()) ? 'ok' : `Redis at ${config.redisUrl} is unreachable`,
        policy: 'ok',
      };
      return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, '0.0.0.0', () => resolve());
    });
  } catch (error) {
    await abandon(listenProblem(error, config.port));
  }
  if (!slack.requestListener) await slack.app.start();
  // Without this the first sweep may run while Redis is still connecting, skip rescheduling, and leave it to the next one.
  if (!(await scheduler.connected(3_000))) log.error({ redis: config.redisUrl }, 'Redis does not answer; routine requests are refused until it does');
  reconciler.start();
  const anchors = createAnchorPoster({
    auditLog: store.auditLog,
    log,
    intervalMs: options.anchorIntervalMs,
    post: async (text) => {
      const channel = watcher.current().policy.settings.audit_channel;
      if (!channel) return false;
      await call('chat.postMessage', () => client.chat.postMessage({ channel, text }));
      return true;
    },
  });
  anchors.start();
  const port = (server.address() as AddressInfo).port;
  log.info({ port, mode: slack.requestListener ? 'http' : 'socket', policy: loaded.value.file }, 'Sesame is running');
  // The same checks as `sesame doctor`, in the background: what they find is logged, never a reason to stop (nor to
  // wait for at shutdown: a Slack that does not answer must not hold up a SIGTERM).
  if (options.startupChecks !== false) void logFindings(config, log);

  return {
    port,
    access,
    store,
    metrics,
    reconcile: () => reconciler.runOnce(),
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!slack.requestListener) await slack.app.stop();
      await reconciler.stop();
      // Workers finish their jobs first; then what they and earlier work still have to tell Slack is sent.
      await scheduler.close();
      await notifier.close?.();
      // The last thing recorded: the head at shutdown, so nothing written before it can be cut off unnoticed.
      await anchors.stop();
      watcher.close();
      await providers.close?.();
      db.$client.close();
    },
  };
}
