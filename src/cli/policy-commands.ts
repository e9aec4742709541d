// `sesame policy check` and `sesame policy explain`: the policy's verdicts without Slack or the database.
import { parseArgs } from 'node:util';
import { describeError } from '../core/describe-error.ts';
import { groupsOf } from '../core/membership.ts';
import type { Directory } from '../core/ports.ts';
import { missingSecrets } from '../policy/cross-check.ts';
import type { Decision } from '../policy/decide.ts';
import { describeDurationError, formatDuration, parseDuration } from '../policy/duration.ts';
import { evaluate } from '../policy/evaluate.ts';
import { formatProblem, loadPolicyFile, type LoadedPolicy } from '../policy/load.ts';
import { EXIT, line, type CliIo } from './io.ts';

export async function policyCheck(args: string[], io: CliIo, defaultPath: string): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const file = positionals[0] ?? defaultPath;
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

function summarize({ policy, file, sha256 }: LoadedPolicy): string {
  const n = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
  const breakglass = policy.breakglass ? 'break-glass on' : 'break-glass off';
  return `${file}: ok — ${n(Object.keys(policy.resources).length, 'resource')}, ${n(Object.keys(policy.tiers).length, 'tier')}, ${n(Object.keys(policy.groups).length, 'group')}, ${breakglass} (sha256 ${sha256.slice(0, 12)})`;
}

export const EXPLAIN_USAGE =
  'usage: sesame policy explain --user U… --resource NAME [--role ROLE] [--duration 1h] [--reason "INC-42 …"] [--channel C…|NAME] [--breakglass] [--at ISO] [--policy FILE]';

/** Explains with group membership from explicit `users:` lists; Slack user groups need a live directory. */
export async function policyExplain(args: string[], io: CliIo, defaultPath: string, directory: Directory | null): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
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
      },
    }));
  } catch (error) {
    line(io.stderr, `${(error as Error).message}\n${EXPLAIN_USAGE}`);
    return EXIT.usage;
  }
  if (!values.user || !values.resource) {
    line(io.stderr, `--user and --resource are required.\n${EXPLAIN_USAGE}`);
    return EXIT.usage;
  }
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
  const loaded = await loadPolicyFile(values.policy ?? defaultPath);
  if (!loaded.ok) {
    for (const problem of loaded.error) line(io.stderr, formatProblem(problem));
    return EXIT.failed;
  }
  const { policy } = loaded.value;
  const lookups = directory ?? offlineDirectory;
  const groups = await groupsOf(policy, values.user, lookups);
  const channelName = values.channel === undefined ? null : /^[CGD][A-Z0-9]{2,}$/.test(values.channel) ? await lookups.channelName(values.channel) : values.channel;
  const { decision } = evaluate(policy, { user: values.user, resource: values.resource, role: values.role, duration, reason: values.reason, breakglass: values.breakglass, channelName, at }, groups);

  for (const text of renderDecision(decision, loaded.value)) line(io.stdout, text);
  line(io.stdout, `groups:   ${groups.size > 0 ? [...groups].join(', ') : '(none)'} (as of ${at.toISOString()})`);
  const unresolved = Object.entries(policy.groups).filter(([, g]) => g.slack_usergroup !== undefined && g.users === undefined);
  if (directory === null && unresolved.length > 0) {
    line(io.stdout, `note:     Slack user groups were not looked up (${unresolved.map(([n]) => n).join(', ')}); set SLACK_BOT_TOKEN to include them.`);
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
  if (decision.kind === 'needs_approval') {
    lines.push(`steps:    ${decision.steps.map((s, i) => `${i + 1}) ${s.count} from ${s.from}`).join('  ')}`);
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
