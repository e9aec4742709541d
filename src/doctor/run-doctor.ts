// `sesame doctor`'s checks, in the order an operator fixes things: environment, policy, Slack, Redis, database, providers.
import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import { slackConfigProblems, type Config } from '../config.ts';
import { loadPolicyFile } from '../policy/load.ts';
import type { Policy } from '../policy/schema.ts';
import { doctorOf, type ProviderConfig } from '../providers/registry.ts';
import { databaseFindings } from './database-checks.ts';
import { errorText, failed, passed, type Finding } from './finding.ts';
import { redisFindings } from './redis-checks.ts';
import { channelFindings, tokenFinding, usergroupLister } from './slack-checks.ts';

const SLACK_TIMEOUT_MS = 10_000;

export async function runDoctor(config: Config): Promise<Finding[]> {
  const envProblems = slackConfigProblems(config);
  const environment = envProblems.length > 0 ? envProblems.map((p) => failed(p.replace(/\.$/, ''))) : [passed('the Slack variables Sesame needs are set')];
  const loaded = await loadPolicyFile(config.policyPath);
  if (!loaded.ok) {
    const n = loaded.error.length;
    const policyFinding = failed(`${config.policyPath} has ${n} problem${n === 1 ? '' : 's'}, so Sesame would not start`, `run \`sesame policy check ${config.policyPath}\` to see them`);
    const [redis, database] = await Promise.all([redisFindings(config.redisUrl), storeFindings(config)]);
    return [...environment, policyFinding, ...redis, ...database];
  }
  const { policy } = loaded.value;
  const slack = config.slack.botToken ? slackClient(config.slack.botToken, config.slack.apiUrl) : null;
  const usergroupIds = slack ? usergroupLister(slack) : () => Promise.reject(new Error('cannot be checked while SLACK_BOT_TOKEN is not set'));
  const [slackFindings, redis, database, providers] = await Promise.all([
    slack ? slackChecks(slack, config.slack.apiUrl, policy) : Promise.resolve([]),
    redisFindings(config.redisUrl),
    storeFindings(config),
    providerFindings(policy, config.secrets, usergroupIds),
  ]);
  return [...environment, passed(`${loaded.value.file} is a valid policy`), ...slackFindings, ...redis, ...database, ...providers];
}

/** The store the configuration selects: PostgreSQL at DATABASE_URL, else SQLite at DATABASE_PATH. */
async function storeFindings(config: Config): Promise<Finding[]> {
  const url = config.databaseUrl;
  if (url === undefined) return databaseFindings(config.databasePath);
  // Loaded only for PostgreSQL: `sesame start` runs these checks too, and a SQLite deployment never loads the driver.
  return (await import('./pg-database-checks.ts')).pgDatabaseFindings(url);
}

async function slackChecks(client: WebClient, apiUrl: string | undefined, policy: Policy): Promise<Finding[]> {
  const token = await tokenFinding(client, apiUrl);
  // Channel look-ups with a refused token would each fail for the same reason; the token's line says it once.
  return token.status === 'ok' ? [token, ...(await channelFindings(client, policy))] : [token];
}

/** Each distinct provider block once, its findings labelled with the resources that use it. */
async function providerFindings(policy: Policy, env: Config['secrets'], usergroupIds: () => Promise<Set<string>>): Promise<Finding[]> {
  const blocks = new Map<string, { config: ProviderConfig; resources: string[] }>();
  for (const [name, resource] of Object.entries(policy.resources)) {
    const key = JSON.stringify(resource.provider);
    const block = blocks.get(key) ?? { config: resource.provider, resources: [] };
    block.resources.push(name);
    blocks.set(key, block);
  }
  const perBlock = await Promise.all(
    [...blocks.values()].map(async ({ config, resources }) => {
      const label = `${resources.join(', ')} (${config.type})`;
      const findings = await doctorOf(config, { env, usergroupIds }).catch((error: unknown) => [failed(`its check failed unexpectedly (${errorText(error)})`)]);
      return findings.map((f) => ({ ...f, what: `${label}: ${f.what}` }));
    }),
  );
  return perBlock.flat();
}

const quiet: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

/** A client that fails fast: a doctor reports what it finds now rather than retrying. */
const slackClient = (token: string, apiUrl: string | undefined): WebClient =>
  new WebClient(token, { ...(apiUrl ? { slackApiUrl: apiUrl } : {}), retryConfig: { retries: 0 }, timeout: SLACK_TIMEOUT_MS, logger: quiet });
