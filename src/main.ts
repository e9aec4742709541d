// Composition root: config → db → policy → scheduler → providers → slack → http. Nothing else builds adapters.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from './config.ts';
import { anchorAtBreakglass, createAnchorPoster } from './audit-anchor.ts';
import { auditStreamTarget, createAuditStreamer, type RetryBackoff } from './audit-stream.ts';
import { AccessService } from './core/access-service.ts';
import { ReasonEnds } from './core/reason-ended.ts';
import { UserBlocks } from './core/user-blocks.ts';
import { redactUrl } from './core/redact.ts';
import type { Clock } from './core/ports.ts';
import { DEFAULT_RETRY, errorMessage } from './core/retry.ts';
import { logFindings } from './doctor/log-findings.ts';
import { slackTokenSentence } from './doctor/slack-checks.ts';
import { loadOutbound } from './http/outbound.ts';
import { createHttpServer } from './http/server.ts';
import { logObserver } from './log-observer.ts';
import { createLogger } from './logger.ts';
import { createMetrics, fanOut, metricsObserver, type Metrics } from './metrics.ts';
import { formatProblem, loadPolicyFile } from './policy/load.ts';
import { createPolicyWatcher } from './policy-watcher.ts';
import { settlesWithin } from './settles-within.ts';
import { withDeadlines } from './providers/deadline.ts';
import { createProviders } from './providers/registry.ts';
import { sweepOrphans } from './core/orphan-sweep.ts';
import { createBullScheduler } from './scheduler/bullmq-scheduler.ts';
import { createReconciler, type ReconcileReport } from './scheduler/reconciler.ts';
import { localSerializer } from './scheduler/redis-lock.ts';
import { createReplicaCoordination, KEYED_WORK_DEADLINE_MS, streamWhileHolder, sweepWhileHolder } from './scheduler/replicas.ts';
import { boltLogger, createSlackApp } from './slack/app.ts';
import { createSlackDirectory } from './slack/directory.ts';
import { revokeAllCleared } from './slack/block-commands.ts';
import { createReplayGuard } from './slack/replay-guard.ts';
import { createSlackNotifier } from './slack/notifier.ts';
import { createUsergroupApi } from './slack/usergroup-api.ts';
import { countingCalls, createWebClient } from './slack/slack-api.ts';
import { InstanceLockError } from './store/db.ts';
import { openStore, type OpenedStore } from './store/open-store.ts';
import type { PgStore } from './store/pg/store.ts';
import type { SqliteStore } from './store/repositories.ts';

/** Of the 10 s `sesame start` allows for SIGTERM, how long acknowledged Slack work may still take. */
const ACKNOWLEDGED_WORK_GRACE_MS = 5_000;
/**
 * How long, at SIGTERM, a request already arriving has to be read and acknowledged before every connection is cut.
 * Slack sends a whole request at once and wants its answer within 3 s, so a connection still open after this is slow
 * or silent on purpose, and must not hold the stop past its deadline.
 */
const CONNECTION_DRAIN_MS = 1_000;
/** At SIGTERM, how long the last Slack messages may take to send, and then the last anchor: Slack may be slow to answer. */
const SLACK_FLUSH_MS = 2_000;
const LAST_ANCHOR_MS = 1_000;
/** How long a reconcile sweep in progress may take to finish at SIGTERM. */
const SWEEP_STOP_MS = 2_000;
/** How long the revocation workers and queues may take to close (each half has its own 2 s inside). */
const SCHEDULER_CLOSE_MS = 4_000;
/**
 * Of the 10 s `sesame start` allows for SIGTERM, what the waits above may take in all, each cut short when the total
 * runs out; the rest is for freeing the sweeper lease, the audit stream's last POST (1 s) and closing the database.
 */
const STOP_WAITS_MS = 8_000;
/** How long one rejected policy is announced once across replicas (each replica reloads the edited file itself). */
const ANNOUNCE_ONCE_MS = 10 * 60_000;
/** How often a PostgreSQL replica's audit stream looks for entries another replica wrote (no in-process wake for those). */
const SHARED_STREAM_POLL_MS = 1_000;

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
  /** The address to listen on. @defaultValue 0.0.0.0 (every interface, as Slack must reach it) */
  host?: string;
  clock?: Clock;
  /** Namespace for BullMQ keys in Redis. @defaultValue sesame */
  redisPrefix?: string;
  /** Provider retries. @defaultValue 3 attempts from 500 ms */
  retry?: typeof DEFAULT_RETRY;
  watchPolicyFile?: boolean;
  /** How long Slack look-ups are cached. @defaultValue 60 s */
  directoryTtlMs?: number;
  /** How often the audit chain head is anchored, overriding the policy's `anchor_every`. @defaultValue settings.anchor_every */
  anchorIntervalMs?: number;
  /** How long one HTTP call to Slack may take. @defaultValue 10 s */
  slackTimeoutMs?: number;
  /** How long one provider call may take before it fails (and is retried). @defaultValue 30 s */
  providerDeadlineMs?: number;
  /** Run `sesame doctor`'s checks after start and log what they find. @defaultValue true */
  startupChecks?: boolean;
  /** How long settings.audit_stream waits after a failed POST. @defaultValue 1 s, doubling to 60 s */
  auditStreamBackoff?: RetryBackoff;
}

export interface RunningSesame {
  port: number;
  access: AccessService;
  /** SqliteStore without DATABASE_URL, PgStore with it. */
  store: SqliteStore | PgStore;
  metrics: Metrics;
  reconcile(): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

export async function startSesame(config: Config, options: StartOptions = {}): Promise<RunningSesame> {
  // Loaded beside the policy and the database, so the start-up's auth.test goes through it too: fetch would first have
  // Node compile its own copy of undici, some 50 ms more on the way to ready.
  loadOutbound().catch(() => undefined); // a failure is the first caller's to report
  const log = options.log ?? createLogger(config.logLevel);
  const botToken = config.slack.botToken;
  if (!botToken) throw new StartupError(['SLACK_BOT_TOKEN is not set.']);
  const loaded = await loadPolicyFile(config.policyPath, { env: config.secrets });
  if (!loaded.ok) throw new StartupError(loaded.error.map(formatProblem));

  let policy = () => loaded.value;
  let opened: OpenedStore;
  try {
    opened = await openStore(config, () => policy().sha256, log);
  } catch (error) {
    // PgDatabaseError by name: its module (and the pg driver) is loaded only for a PostgreSQL deployment.
    if (error instanceof InstanceLockError || (error instanceof Error && error.name === 'PgDatabaseError')) throw new StartupError([error.message]);
    throw error;
  }
  const { store } = opened;
  const metrics = createMetrics(() => store.countGrants('active'), async () => (await auditStream.lag()) ?? 0, () => store.reviews.countPending());
  const clock = options.clock ?? { now: () => new Date() };
  const scheduler = createBullScheduler({ redisUrl: config.redisUrl, prefix: options.redisPrefix ?? 'sesame', log, warnHorizonMs: Math.max(3_600_000, 2 * config.reconcileIntervalMs) });
  const replicas = createReplicaCoordination({ redisUrl: config.redisUrl, prefix: options.redisPrefix ?? 'sesame', log });
  // A SQLite database has one Sesame (the instance lock), so its keyed work takes turns in-process: no Redis round trips.
  const serializer = opened.shared ? replicas.serializer : localSerializer(KEYED_WORK_DEADLINE_MS);

  const client = createWebClient(botToken, config.slack.apiUrl, boltLogger(log.child({ component: 'web-api' })), options.slackTimeoutMs);
  const call = countingCalls(metrics, log);
  const watcher = await createPolicyWatcher({
    initial: loaded.value,
    store,
    log,
    watchFile: options.watchPolicyFile ?? true,
    env: config.secrets,
    announce: async (text) => {
      const channel = watcher.current().policy.settings.audit_channel;
      if (!channel) return;
      // Every replica reloads the edited file and finds the same problems: the first to ask in the slot says it.
      if (opened.shared && !(await replicas.firstInSlot(`policy-announce:${createHash('sha256').update(text).digest('hex')}`, ANNOUNCE_ONCE_MS))) return;
      await call('chat.postMessage', () => client.chat.postMessage({ channel, text }));
    },
  });
  policy = () => watcher.current();

  const directory = createSlackDirectory(client, call, Date.now, options.directoryTtlMs);
  const providers = withDeadlines(createProviders({ env: config.secrets, usergroups: createUsergroupApi(client, call), serializer }), options.providerDeadlineMs);
  const anchors = createAnchorPoster({
    auditLog: opened.chainHead,
    log,
    intervalMs: () => options.anchorIntervalMs ?? watcher.current().policy.settings.anchor_every,
    claimInterval: (intervalMs) => replicas.firstInSlot('anchor', intervalMs),
    target: () => {
      const { anchor_url: url, anchor_secret_env: secretEnv } = watcher.current().policy.settings;
      const secret = secretEnv === undefined ? undefined : config.secrets[secretEnv];
      return url === undefined || !secret ? null : { url, secret };
    },
    post: async (text) => {
      const channel = watcher.current().policy.settings.audit_channel;
      if (!channel) return false;
      await call('chat.postMessage', () => client.chat.postMessage({ channel, text }));
      return true;
    },
  });
  const auditStream = createAuditStreamer({
    cursor: opened.streamCursor,
    onAppend: (listener) => opened.onAppend(listener),
    ...(opened.shared ? { pollMs: SHARED_STREAM_POLL_MS } : {}),
    target: () => auditStreamTarget(watcher.current().policy.settings, config.secrets),
    log,
    ...(options.auditStreamBackoff ? { backoff: options.auditStreamBackoff } : {}),
  });
  const notifier = fanOut(createSlackNotifier({ client, call, store, policy, log }), metricsObserver(metrics), logObserver(log.child({ component: 'access' })), anchorAtBreakglass(anchors, log));
  const accessDeps = { store, policy, providers, scheduler, notifier, directory, clock, log, retry: options.retry ?? DEFAULT_RETRY, serializer };
  const access = new AccessService(accessDeps);
  const blocks = new UserBlocks(accessDeps, access.grants);
  const reasons = new ReasonEnds(accessDeps, access.grants, async (user, grantIds) => {
    const channel = watcher.current().policy.settings.audit_channel;
    const text = revokeAllCleared(user, grantIds);
    if (channel) await call('chat.postMessage', () => client.chat.postMessage({ channel, text }));
  });
  scheduler.startWorkers(access);
  const reconciler = createReconciler({ store, access, scheduler, clock, log, intervalMs: config.reconcileIntervalMs, ...(opened.shared ? {} : { aloneSince: clock.now().getTime() }), sweepOrphans: () => sweepOrphans({ store, policy, providers, log }), sweepReasons: async () => { await blocks.reopenReviews('sesame', 'an admin blocked its reviewer (/access revoke-all)'); return reasons.sweep(); } });
  const sweeper = sweepWhileHolder({ lease: replicas.sweeperLease, sweep: () => reconciler.runOnce(), intervalMs: config.reconcileIntervalMs, log });
  // On PostgreSQL only the sweeper-lease holder streams; the cursor in the database lets the next holder continue.
  const streamer = opened.shared ? streamWhileHolder({ lease: replicas.sweeperLease, streamer: auditStream, log }) : { start: () => auditStream.start(), stop: () => auditStream.stop() };
  const replayGuard = createReplayGuard({ redisUrl: config.redisUrl, prefix: options.redisPrefix ?? 'sesame', log });
  const slack = createSlackApp({ botToken, signingSecret: config.slack.signingSecret, appToken: config.slack.appToken, apiUrl: config.slack.apiUrl, timeoutMs: options.slackTimeoutMs, log, replayGuard }, { access, blocks, reasons, policy, log });
  /** Undoes what started so far and stops with `problem` alone, so the fatal cause is the first and only thing said. */
  const abandon = async (problem: string): Promise<never> => {
    await replayGuard.close();
    await replicas.close();
    await scheduler.close();
    watcher.close();
    await providers.close?.();
    await opened.close();
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
        [opened.kind]: await opened.readiness(),
        redis: (await scheduler.available()) ? 'ok' : `Redis at ${redactUrl(config.redisUrl)} is unreachable`,
        policy: 'ok',
      };
      // A SIEM that is down must not take Sesame out of service: a warning, not a failed check.
      const streamWarning = await auditStream.warning();
      return { ready: Object.values(checks).every((c) => c === 'ok'), checks, ...(streamWarning === null ? {} : { warnings: { audit_stream: streamWarning } }) };
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, options.host ?? '0.0.0.0', () => resolve());
    });
  } catch (error) {
    await abandon(listenProblem(error, config.port));
  }
  if (!slack.requestListener) await slack.app.start();
  // Without this the first sweep may run while Redis is still connecting, skip rescheduling, and leave it to the next one.
  if (!(await scheduler.connected(3_000))) log.error({ redis: redactUrl(config.redisUrl) }, 'Redis does not answer; routine requests are refused until it does');
  sweeper.start();
  anchors.start();
  streamer.start();
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
      // No new Slack requests; then what was already acknowledged finishes (a grant in flight is recorded and answered).
      const waitsEnd = Date.now() + STOP_WAITS_MS;
      const upTo = (capMs: number) => Math.max(0, Math.min(capMs, waitsEnd - Date.now()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (!slack.requestListener) await slack.app.stop();
      // Requests still arriving get a moment; then connections without a whole request are cut, so no more come.
      const connectionsCut = settlesWithin(closed, CONNECTION_DRAIN_MS).then((drained) => (drained ? 0 : server.cutUnreceived()));
      const idle = slack.idle(upTo(ACKNOWLEDGED_WORK_GRACE_MS), { received: connectionsCut, requests: server });
      const cut = await connectionsCut;
      if (cut > 0) log.warn({ connections: cut, afterMs: CONNECTION_DRAIN_MS }, 'connections with no whole request on them (a client slow to send, or silent) were cut at shutdown; nothing on them was acted on, and Slack reports such a request failed');
      if (!(await idle)) log.warn({ afterMs: ACKNOWLEDGED_WORK_GRACE_MS }, 'Slack work still running at shutdown was cut off; the reconciler undoes any grant it left half-done');
      server.closeAllConnections();
      await closed;
      // A sweep in progress (a slow provider or Slack in it) must not take the time the rest needs.
      const sweepsStopped = (async () => {
        await sweeper.stop();
        await reconciler.stop();
      })();
      if (!(await settlesWithin(sweepsStopped, upTo(SWEEP_STOP_MS)))) log.warn('a reconcile sweep was still running when the time for stopping ran out; the next sweep, here or on another replica, finishes its work');
      // Workers finish their jobs first; then what they and earlier work still have to tell Slack is sent.
      if (!(await settlesWithin(scheduler.close(), upTo(SCHEDULER_CLOSE_MS)))) log.warn('revocation workers were still closing when the time for stopping ran out; BullMQ retries any job they held after the restart');
      await replayGuard.close();
      const flushed = (notifier.close?.() ?? Promise.resolve()).catch((error: unknown) => log.warn({ problem: errorMessage(error) }, 'could not send the last Slack messages at shutdown'));
      if (!(await settlesWithin(flushed, upTo(SLACK_FLUSH_MS)))) log.warn('Slack messages still queued at shutdown were not sent (Slack is slow); the audit log has every event they told of');
      // The last thing recorded: the head at shutdown, so nothing written before it can be cut off unnoticed. It is
      // logged before it is posted, so a Slack or anchor_url too slow to take it in time loses no anchor.
      const anchored = anchors.stop().catch((error: unknown) => log.warn({ problem: errorMessage(error) }, 'could not take the audit anchor at shutdown'));
      if (!(await settlesWithin(anchored, upTo(LAST_ANCHOR_MS)))) log.warn('the shutdown anchor did not finish in time (Slack or anchor_url is slow); it is in this log if it was taken');
      // After the workers and the last anchor, which may still take locks; frees the sweeper lease for another replica.
      await replicas.close();
      // After everything that writes audit entries; what it has not delivered is sent from the cursor at the next start.
      await streamer.stop();
      watcher.close();
      await providers.close?.();
      await opened.close();
    },
  };
}
