// `sesame policy check` and `sesame policy explain`: the policy's verdicts without Slack or the database.
import { parseArgs } from 'node:util';
import { describeError } from '../core/describe-error.ts';
import { groupsOf, teamsOf } from '../core/membership.ts';
import type { Directory } from '../core/ports.ts';
import { missingSecrets } from '../policy/cross-check.ts';
import type { Decision } from '../policy/decide.ts';
import { escalationSuffix } from '../policy/escalation-check.ts';
import { describeDurationError, formatDuration, parseDuration } from '../policy/duration.ts';
import { evaluate } from '../policy/evaluate.ts';
import { formatProblem, loadPolicyFile, type LoadedPolicy } from '../policy/load.ts';
import { UsageError, type CommandContext } from './command.ts';
import { EXIT, line } from './io.ts';

export async function policyCheck(args: string[], { io, config }: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError(`sesame policy check takes one file, not ${positionals.length}.`);
  const file = positionals[0] ?? config.policyPath;
  const loaded = await loadPolicyFile(file);
  if (!loaded.ok) {
    for (const problem of loaded.error) line(io.stderr, formatProblem(problem));
    line(io.stderr, `${loaded.error.length} problem${loaded.error.length === 1 ? '' : 's'} in ${file}; the policy was not accepted.`);
    return EXIT.failed;
  }
  line(io.stdout, summarize(loaded.value));
  // Secrets often live only where Sesame runs, not where the policy is reviewed: a note here, an error at start.
  for (const issue of missingSecrets(loaded.value.policy, io.env)) {
    const at = loaded.value.locate(issue.path);
    line(io.stderr, `${file}:${at.line}:${at.col} note: ${issue.message} (fine for a check, but \`sesame start\` refuses to run without it)`);
  }
  return EXIT.ok;
}

function summarize({ policy, file, sha256, identities }: LoadedPolicy): string {
  const n = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
  const breakglass = policy.breakglass ? 'break-glass on' : 'break-glass off';
  const mapped = identities ? `, identities from ${identities.file} (${n(Object.keys(policy.settings.identities).length, 'user')} mapped)` : '';
  return `${file}: ok — ${n(Object.keys(policy.resources).length, 'resource')}, ${n(Object.keys(policy.tiers).length, 'tier')}, ${n(Object.keys(policy.groups).length, 'group')}, ${breakglass}${mapped} (sha256 ${sha256.slice(0, 12)})`;
}

/** Explains with membership from `users:` lists, and from Slack user groups when SLACK_BOT_TOKEN is set (unless --no-slack). */
export async function policyExplain(args: string[], { io, config }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      resource: { type: 'string' },
      role: { type: 'string' },
      duration: { type: 'string' },
      reason: { type: 'string', default: '' },
      channel: { type: 'string' },
      breakglass: { type: 'boolean', default: false },
      at: { type: 'string' },
      policy: { type: 'string' },
      'no-slack': { type: 'boolean', default: false },
    },
  });
  if (!values.user || !values.resource) throw new UsageError('--user and --resource are required.');
  let duration: number | undefined;
  if (values.duration !== undefined) {
    const parsed = parseDuration(values.duration);
    if (!parsed.ok) {
      line(io.stderr, `--duration: ${describeDurationError(parsed.error)}`);
      return EXIT.usage;
    }
    duration = parsed.value;
  }
  const at = values.at === undefined ? new Date() : new Date(values.at);
  if (Number.isNaN(at.getTime())) {
    line(io.stderr, `--at "${values.at}" is not a date; write it like 2026-11-23T10:00:00Z.`);
    return EXIT.usage;
  }
  const loaded = await loadPolicyFile(values.policy ?? config.policyPath);
  if (!loaded.ok) {
    for (const problem of loaded.error) line(io.stderr, formatProblem(problem));
    return EXIT.failed;
  }
  const { policy } = loaded.value;
  let directory: Directory | null = null;
  let groups: Set<string>;
  let teams: Set<string>;
  let channelName: string | null;
  try {
    if (!values['no-slack'] && config.slack.botToken) directory = await slackDirectory(config.slack.botToken, config.slack.apiUrl);
    const lookups = directory ?? offlineDirectory;
    groups = await groupsOf(policy, values.user, lookups);
    teams = await teamsOf(policy, values.user, lookups);
    channelName = values.channel === undefined ? null : /^[CGD][A-Z0-9]{2,}$/.test(values.channel) ? await lookups.channelName(values.channel) : values.channel;
  } catch (error) {
    line(io.stderr, `Could not ask Slack for user groups and channels (${error instanceof Error ? error.message : String(error)}); check SLACK_BOT_TOKEN and SLACK_API_URL, or pass --no-slack.`);
    return EXIT.failed;
  }
  const { decision } = evaluate(policy, { user: values.user, resource: values.resource, role: values.role, duration, reason: values.reason, breakglass: values.breakglass, channelName, at }, groups, 0, teams);

  for (const text of renderDecision(decision, loaded.value)) line(io.stdout, text);
  line(io.stdout, `groups:   ${groups.size > 0 ? [...groups].join(', ') : '(none)'} (as of ${at.toISOString()})`);
  if (Object.keys(policy.teams).length > 0) line(io.stdout, `teams:    ${teams.size > 0 ? [...teams].join(', ') : '(none)'}`);
  const unresolved = Object.entries(policy.groups).filter(([, g]) => g.slack_usergroup !== undefined && g.users === undefined);
  if (directory === null && unresolved.length > 0) {
    const how = values['no-slack'] ? 'drop --no-slack to include them' : 'set SLACK_BOT_TOKEN to include them';
    line(io.stdout, `note:     Slack user groups were not looked up (${unresolved.map(([n]) => n).join(', ')}); ${how}.`);
  }
  return EXIT.ok;
}

export function renderDecision(decision: Decision, loaded: LoadedPolicy): string[] {
  const where = (path: (string | number)[]) => {
    const pos = loaded.locate(path);
    return `${path.join('.')} (${loaded.file}:${pos.line}:${pos.col})`;
  };
  if (decision.kind === 'refuse') {
    return [`decision: refuse — ${describeError(decision.error)}`, `rule:     ${where(decision.rule.path)}`, `why:      ${decision.rule.why}`];
  }
  const r = decision.request;
  const lines = [
    `decision: ${decision.kind === 'auto_approve' ? 'auto-approve' : 'needs approval'}`,
    `request:  ${r.resource} ${r.role} for ${formatDuration(r.duration)} (tier ${r.tier})${r.capped ? `, capped from ${formatDuration(r.capped.requested)}` : ''}`,
  ];
  if (r.members !== undefined) lines.push(`members:  ${r.members.map((m) => `${m.resource}:${m.role}`).join(', ')}`);
  if (decision.kind === 'needs_approval') {
    lines.push(`steps:    ${decision.steps.map((s, i) => `${i + 1}) ${s.count} from ${s.from}${s.leads ? ` (${s.leads.join(', ')})` : ''}${escalationSuffix(s)}`).join('  ')}`);
  }
  if (r.tickets.length > 0) lines.push(`tickets:  ${r.tickets.join(', ')}`);
  lines.push(`rule:     ${where(decision.rule.path)}`, `why:      ${decision.rule.why}`);
  return lines;
}

export const offlineDirectory: Directory = {
  usergroupMembers: async () => null,
  channelName: async () => null,
  userEmail: async () => null,
  // Offline there is no Slack to ask; `explain` then answers for a full member.
  standing: async () => 'member',
};

/**
 * A live, uncached directory over Slack's Web API, after checking the token (a refused token would otherwise read as
 * "in no user group"); loaded only when asked for, so an offline explain stays fast.
 */
export async function slackDirectory(token: string, apiUrl: string | undefined): Promise<Directory> {
  const [{ createWebClient }, { createSlackDirectory }] = await Promise.all([import('../slack/slack-api.ts'), import('../slack/directory.ts')]);
  const client = createWebClient(token, apiUrl);
  await client.auth.test();
  return createSlackDirectory(client, (_method, call) => call(), Date.now, 0);
}
