// The Bolt app: HTTP mode behind our own server, or Socket Mode; listeners wired; one error handler with a ref.
import { randomBytes } from 'node:crypto';
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger as PinoLogger } from 'pino';
import { registerActions } from './actions.ts';
import { registerCommands } from './commands.ts';
import { registerReasonEvents } from './reason-events.ts';
import type { ListenerDeps } from './listener-deps.ts';
import { guardReplays, type ReplayGuard } from './replay-guard.ts';
import { SLACK_UNAVAILABLE, SOMETHING_WENT_WRONG } from './messages.ts';
import { send } from '../http/outbound.ts';
import { settlesWithin } from '../settles-within.ts';
import { SLACK_TIMEOUT_MS, SlackUnavailableError, webClientOptions } from './slack-api.ts';

/** The last overload of `app.error`: the handler that also receives the payload (Bolt does not export the type). */
type ExtendedErrorHandler = Parameters<App['error']>[0];

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string | undefined;
  /** Set: Socket Mode (no public URL needed). */
  appToken?: string | undefined;
  apiUrl?: string | undefined;
  /** One Slack HTTP call's deadline. @defaultValue SLACK_TIMEOUT_MS */
  timeoutMs?: number | undefined;
  log: PinoLogger;
  /** HTTP mode: remembers signed requests so a replay or a retry of a handled event acts only once. */
  replayGuard?: ReplayGuard;
}

export interface SlackApp {
  /** Call `init()` before serving: it verifies the bot token with Slack (deferred so a failure can be reported). */
  app: App;
  /** In HTTP mode, the listener for POST /slack/events; null in Socket Mode. */
  requestListener: HTTPReceiver['requestListener'] | null;
  /**
   * For shutdown: commands still waiting for their turn are not started (their requesters are told), and it resolves
   * once `received` has settled (no more requests come), every request received has been answered and every
   * listener has finished (work goes on after the ack), however late it started; or after `timeoutMs` with false.
   * From then on no listener starts, since shutdown cuts the connections left and what reaches Bolt can no longer be
   * acknowledged. So a grant Slack was told about is finished, recorded and answered, and none starts unannounced.
   */
  idle(timeoutMs: number, http?: { received: Promise<unknown>; requests: UnansweredRequests }): Promise<boolean>;
}

/** Requests received over HTTP and not yet answered, which shutdown waits for as for the work they start. */
export interface UnansweredRequests {
  unansweredCount(): number;
  allAnswered(): Promise<void>;
}

export function createSlackApp(options: SlackAppOptions, deps: ListenerDeps): SlackApp {
  const logger = boltLogger(options.log.child({ component: 'bolt' }));
  const clientOptions = { ...webClientOptions(options.apiUrl, options.timeoutMs), logger };
  // Sesame keeps no conversation state in Bolt; its default store was read on every request for nothing.
  const convoStore = false;
  let app: App;
  let requestListener: SlackApp['requestListener'] = null;
  if (options.appToken) {
    app = new App({ token: options.botToken, appToken: options.appToken, socketMode: true, clientOptions, convoStore, logger, extendedErrorHandler: true, deferInitialization: true });
  } else {
    const signingSecret = options.signingSecret ?? '';
    const bodyLimit = 1024 * 1024;
    // With the replay guard in front, signatures are checked there, once.
    const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', logger, bodyLimit, signatureVerification: !options.replayGuard });
    app = new App({ token: options.botToken, receiver, clientOptions, convoStore, logger, extendedErrorHandler: true, deferInitialization: true });
    requestListener = options.replayGuard ? guardReplays(receiver.requestListener, { signingSecret, guard: options.replayGuard, log: options.log, bodyLimit, refusing: () => stopping }) : receiver.requestListener;
  }

  // Outermost middleware: its promise covers the whole listener, including what it does after ack().
  const running = new Set<Promise<unknown>>();
  /** Shutdown no longer waits for Slack work: nothing starts. */
  let stopping = false;
  app.use(async ({ next, logger: boltLog }) => {
    if (stopping) {
      boltLog.warn('a Slack request reached Sesame after shutdown stopped waiting for Slack work; not acted on (Slack reports a failure, or retries an event elsewhere)');
      return;
    }
    const listener = next();
    running.add(listener);
    try {
      await listener;
    } finally {
      running.delete(listener);
    }
  });
  const commands = registerCommands(app, deps);
  registerActions(app, deps);
  registerReasonEvents(app, deps);

  const idle = async (timeoutMs: number, http?: { received: Promise<unknown>; requests: UnansweredRequests }): Promise<boolean> => {
    commands.refuseWaiting();
    const deadline = Date.now() + timeoutMs;
    try {
      if (http && !(await settlesWithin(http.received, timeoutMs))) return false;
      // Again until none is left: a request answered meanwhile may have started work of its own.
      while (running.size > 0 || (http?.requests.unansweredCount() ?? 0) > 0) {
        const left = deadline - Date.now();
        if (left <= 0 || !(await settlesWithin(Promise.all([Promise.allSettled([...running]), http?.requests.allAnswered()]), left))) return false;
      }
      return true;
    } finally {
      stopping = true;
    }
  };

  const onError: ExtendedErrorHandler = async ({ error, body }) => {
    const ref = randomBytes(4).toString('hex');
    const cause = 'original' in error && error.original instanceof Error ? error.original : error;
    const outage = cause instanceof SlackUnavailableError;
    if (outage) options.log.warn({ ref, method: cause.method }, 'Slack look-up failed; the user was asked to retry');
    else options.log.error({ ref, err: cause }, 'Slack listener failed');
    const responseUrl = typeof body === 'object' && body !== null && 'response_url' in body && typeof body.response_url === 'string' ? body.response_url : null;
    if (responseUrl) {
      await send(responseUrl, {
        method: 'POST',
        timeoutMs: options.timeoutMs ?? SLACK_TIMEOUT_MS,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: outage ? SLACK_UNAVAILABLE : SOMETHING_WENT_WRONG(ref) }),
      }).catch(() => undefined);
    }
  };
  app.error(onError);
  return { app, requestListener, idle };
}

/** Bolt and the Web API client log through pino, as JSON like everything else. */
export function boltLogger(log: PinoLogger): BoltLogger {
  const join = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  let level: LogLevel = LogLevel.INFO;
  return {
    // Bolt and the Web API client log whole request and response bodies at debug: DMs carrying credentials,
    // signed payloads. Those never reach Sesame's log, whatever LOG_LEVEL says.
    debug: () => undefined,
    info: (...msg) => log.info(join(msg)),
    warn: (...msg) => log.warn(join(msg)),
    error: (...msg) => log.error(join(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
