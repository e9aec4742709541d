// Environment → typed, nested Config (zod); one sentence per problem, never a stack trace.
import { z } from 'zod';
import { err, ok, type Result } from './core/result.ts';
import { durationSchema } from './policy/fields.ts';

const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const envSchema = z.object({
  SLACK_BOT_TOKEN: optional(z.string().regex(/^xoxb-/, 'must be a bot token starting with xoxb- (Slack app → OAuth & Permissions)')),
  SLACK_SIGNING_SECRET: optional(z.string().min(8, 'looks too short; copy the Signing Secret from Slack app → Basic Information')),
  SLACK_APP_TOKEN: optional(z.string().regex(/^xapp-/, 'must be an app-level token starting with xapp- (Slack app → Basic Information → App-Level Tokens)')),
  SLACK_API_URL: optional(z.url({ error: 'must be a URL ending in /api/, like https://slack.com/api/' }).refine((u) => u.endsWith('/'), 'must end with a slash, like https://slack.com/api/')),
  PORT: optional(z.coerce.number({ error: 'must be a port number' }).int().min(1).max(65535, 'must be a port number between 1 and 65535')).transform((p) => p ?? 3000),
  DATABASE_PATH: optional(z.string()).transform((p) => p ?? './data/sesame.db'),
  // The message never repeats the value: it may carry a password.
  DATABASE_URL: optional(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL, like postgres://db.example:5432/sesame (leave it empty to use SQLite at DATABASE_PATH)' }),
  ),
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL, like redis://127.0.0.1:6379' })).transform((u) => u ?? 'redis://127.0.0.1:6379'),
  POLICY_PATH: optional(z.string()).transform((p) => p ?? './policies/policy.yaml'),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' })).transform((l) => l ?? 'info'),
  RECONCILE_INTERVAL: optional(durationSchema).transform((ms) => ms ?? 30_000),
});

/** Every environment variable Sesame reads (SPEC §1); .env.example documents each. */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

export interface Config {
  slack: {
    botToken: string | undefined;
    signingSecret: string | undefined;
    /** Set: Socket Mode. */
    appToken: string | undefined;
    apiUrl: string | undefined;
  };
  /** @defaultValue 3000 */
  port: number;
  /** The SQLite file, used while `databaseUrl` is unset. @defaultValue ./data/sesame.db */
  databasePath: string;
  /** Set: the PostgreSQL store at this postgres:// URL (several replicas may share it); unset: SQLite at `databasePath`. */
  databaseUrl: string | undefined;
  /** @defaultValue redis://127.0.0.1:6379 */
  redisUrl: string;
  /** @defaultValue ./policies/policy.yaml */
  policyPath: string;
  /** @defaultValue info */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** @defaultValue 30s */
  reconcileIntervalMs: number;
  /** The whole environment, where provider secrets named by the policy (`secret_env`, `connection_env`) are read. */
  secrets: Readonly<Record<string, string | undefined>>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Result<Config, string[]> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) return err(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}.`));
  const e = parsed.data;
  return ok({
    slack: { botToken: e.SLACK_BOT_TOKEN, signingSecret: e.SLACK_SIGNING_SECRET, appToken: e.SLACK_APP_TOKEN, apiUrl: e.SLACK_API_URL },
    port: e.PORT,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    policyPath: e.POLICY_PATH,
    logLevel: e.LOG_LEVEL,
    reconcileIntervalMs: e.RECONCILE_INTERVAL,
    secrets: env,
  });
}

/** What the bot itself needs beyond the defaults; one sentence per missing piece. */
export function slackConfigProblems(config: Config): string[] {
  const problems: string[] = [];
  if (!config.slack.botToken) problems.push('SLACK_BOT_TOKEN is not set; copy the Bot User OAuth Token (xoxb-…) from your Slack app → OAuth & Permissions.');
  if (!config.slack.appToken && !config.slack.signingSecret) {
    problems.push('SLACK_SIGNING_SECRET is not set; copy it from your Slack app → Basic Information (or set SLACK_APP_TOKEN to use Socket Mode).');
  }
  return problems;
}
