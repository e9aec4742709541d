// Runs the cases of a policy test file against a loaded policy: each case passes, or says what differed and which rule decided.
import { groupsOf } from '../core/membership.ts';
import type { Directory } from '../core/ports.ts';
import { formatDuration } from './duration.ts';
import { escalationSuffix } from './escalation-check.ts';
import { evaluate, type Outcome } from './evaluate.ts';
import type { LoadedPolicy } from './load.ts';
import type { RoutedStep } from './teams.ts';
import type { Expectation, ParsedTestFile } from './test-file.ts';
import type { PolicyProblem } from './yaml-source.ts';

export interface CaseResult {
  name: string;
  /** Empty when the case passed. */
  mismatches: { key: keyof Expectation; expected: string; got: string }[];
  /** Where the deciding rule is written, as FILE:LINE:COL. */
  rule: string;
}

/** `groups:` of a test file may only fill the policy's Slack-backed groups; anything else is a mistake in the test. */
export function checkTestGroups(parsed: ParsedTestFile, loaded: LoadedPolicy): PolicyProblem[] {
  const { policy } = loaded;
  return Object.keys(parsed.tests.groups).flatMap((name) => {
    const at = { file: parsed.file, ...parsed.locate(['groups', name]) };
    const group = Object.hasOwn(policy.groups, name) ? policy.groups[name] : undefined;
    if (group === undefined) {
      return [{ ...at, message: `groups.${name}: the policy (${loaded.file}) has no group "${name}"; its groups are ${Object.keys(policy.groups).join(', ') || '(none)'}` }];
    }
    if (group.slack_usergroup === undefined) {
      return [{ ...at, message: `groups.${name}: "${name}" lists its users in the policy; a test can only fill groups backed by a Slack user group` }];
    }
    return [];
  });
}

export async function runPolicyTests(parsed: ParsedTestFile, loaded: LoadedPolicy, now: Date): Promise<CaseResult[]> {
  const { policy } = loaded;
  const directory = testDirectory(parsed, loaded);
  const results: CaseResult[] = [];
  for (const testCase of parsed.tests.cases) {
    const { request } = testCase;
    const groups = await groupsOf(policy, request.user, directory);
    const { decision, outcome } = evaluate(
      policy,
      { user: request.user, resource: request.resource, role: request.role, duration: request.duration, reason: request.reason, breakglass: request.breakglass, channelName: request.channel, at: request.at ?? now },
      groups,
    );
    const pos = loaded.locate(decision.rule.path);
    results.push({ name: testCase.name, mismatches: compare(testCase.expect, outcome), rule: `${loaded.file}:${pos.line}:${pos.col}` });
  }
  return results;
}

/** Members of Slack-backed groups as the test file states them; the tests never ask Slack. */
function testDirectory(parsed: ParsedTestFile, loaded: LoadedPolicy): Directory {
  const byUsergroup = new Map<string, string[]>();
  for (const [name, members] of Object.entries(parsed.tests.groups)) {
    const usergroup = loaded.policy.groups[name]?.slack_usergroup;
    if (usergroup !== undefined) byUsergroup.set(usergroup, [...(byUsergroup.get(usergroup) ?? []), ...members]);
  }
  return {
    usergroupMembers: async (id) => byUsergroup.get(id) ?? [],
    channelName: async () => null,
    userEmail: async () => null,
    // Test cases are about the policy, so every person is a full member of the workspace.
    standing: async () => 'member',
  };
}

function compare(expected: Expectation, got: Outcome): CaseResult['mismatches'] {
  const mismatches: CaseResult['mismatches'] = [];
  const check = (key: keyof Expectation, want: string | undefined, have: string) => {
    if (want !== undefined && want !== have) mismatches.push({ key, expected: want, got: have });
  };
  check('decision', expected.decision, got.decision);
  check('tier', expected.tier, got.tier ?? 'none');
  check('error', expected.error, got.error ?? 'none');
  check('duration', expected.duration === undefined ? undefined : formatDuration(expected.duration), got.duration === null ? 'none' : formatDuration(got.duration));
  check('steps', expected.steps === undefined ? undefined : describeSteps(expected.steps), got.steps === null ? 'none' : describeSteps(got.steps));
  return mismatches;
}

export function describeSteps(steps: readonly RoutedStep[]): string {
  return steps.length === 0 ? 'none' : steps.map((s) => `${s.count} from ${s.from}${escalationSuffix(s)}`).join(', then ');
}

export function formatCaseResult(result: CaseResult): string {
  if (result.mismatches.length === 0) return `✓ ${result.name}`;
  const differences = result.mismatches.map((m) => `expected ${m.key} ${m.expected}, got ${m.got}`).join('; ');
  return `✗ ${result.name}: ${differences} (rule ${result.rule})`;
}
