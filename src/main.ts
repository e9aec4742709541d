// Composition root: config → db → policy → scheduler → providers → slack → http. Nothing else builds adapters.
import type { AddressInfo } from 'node:net';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from './config.ts';
import { createAnchorPoster } from './audit-anchor.ts';
import { AccessService } from './core/access-service.ts';
import type { Clock } from './core/ports.ts';
import { DEFAULT_RETRY } from './core/retry.ts';
import { createHttpServer } from './http/server.ts';
import { logObserver } from './log-observer.ts';
import { createLogger } from './logging.ts';
import { createMetrics, fanOut, metricsObserver, type Metrics } from './metrics.ts';
import { formatProblem, loadPolicyFile } from './policy/load.ts';
import { createPolicyWatcher } from './policy-watcher.ts';
import { createProviders } from './providers/registry.ts';
import { createBullScheduler } from './scheduler/bullmq-scheduler.ts';
import { createReconciler, type ReconcileReport } from './scheduler/reconciler.ts';
import { boltLogger, createSlackApp } from './slack/app.ts';
import { warnAboutUnknownChannels } from './slack/channel-check.ts';
import { createSlackDirectory } from './slack/directory.ts';
import { createSlackNotifier } from './slack/notifier.ts';
import { createUsergroupApi } from './slack/usergroup-api.ts';
import { countingCalls, createWebClient } from './slack/slack-api.ts';
import { checkpointInBackground } from './store/checkpointer.ts';
import { openDatabase } from './store/db.ts';
import { Store } from './store/repositories.ts';

export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Why Slack refused or could not be asked to verify the bot token, as one sentence. */
function slackInitProblem(error: unknown, apiUrl: string | undefined): string {
  const code = (error as { data?: { error?: string } } | null)?.data?.error;
  if (code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked') {
    return `Slack refused SLACK_BOT_TOKEN (${code}); copy the Bot User OAuth Token again from your Slack app → OAuth & Permissions.`;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return `Could not reach Slack at ${apiUrl ?? 'https://slack.com/api/'} to verify the bot token (${reason}); check the network, or SLACK_API_URL.`;
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
  const checkpoints = checkpointInBackground(db.$client, { onProblem: (problem) => log.warn({ problem }, 'background SQLite checkpoint failed') });
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
  // In the background: a slow Slack must not delay start-up, and an unknown channel is a warning, not a refusal.
  void warnAboutUnknownChannels(loaded.value.policy, directory, log);
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
  try {
    await slack.app.init();
  } catch (error) {
    await scheduler.close();
    watcher.close();
    await checkpoints.stop();
    db.$client.close();
    throw new StartupError([slackInitProblem(error, config.slack.apiUrl)]);
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '0.0.0.0', () => resolve());
  });
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
      await checkpoints.stop();
      db.$client.close();
    },
  };
}
