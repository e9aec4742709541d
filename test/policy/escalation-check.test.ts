// `escalate_after` / `escalate_to` on an approval step: what policy check refuses (with line and column) and how steps read.
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderDecision } from '../../src/cli/policy-commands.ts';
import { diffAccess, renderText } from '../../src/policy/access-diff.ts';
import { decide } from '../../src/policy/decide.ts';
import { formatProblem, parsePolicy } from '../../src/policy/load.ts';
import { describeSteps } from '../../src/policy/run-policy-tests.ts';
import { describeDecision } from '../../src/slack/outcomes.ts';
import { aLoadedPolicy, aPolicyInput } from '../support/policy-fixtures.ts';

const problemsOf = (text: string) => {
  const result = parsePolicy(text, 'p.yaml');
  expect(result.ok).toBe(false);
  return (result.error ?? []).map(formatProblem);
};
const withSteps = (steps: unknown[], more: object = {}) => stringify(aPolicyInput({ tiers: { high: { approvals: steps as never } }, ...more }));

describe('escalation in the policy', () => {
  it('accepts a step that escalates to another existing group before the timeout', () => {
    const result = parsePolicy(withSteps([{ from: 'security', count: 1, escalate_after: '30m', escalate_to: 'sre-leads' }]), 'p.yaml');
    expect(result.error).toBeUndefined();
    expect(result.value?.policy.tiers.high?.approvals?.[0]).toEqual({ from: 'security', count: 1, escalate_after: 30 * 60_000, escalate_to: 'sre-leads' });
  });

  it.each([
    [[{ from: 'security', escalate_after: '30m', escalate_to: 'managers' }], 'tiers.high.approvals[0].escalate_to: unknown group "managers"; groups are "engineering", "sre-leads", "security", "oncall"'],
    [[{ from: 'security', escalate_after: '1h', escalate_to: 'sre-leads' }], 'tiers.high.approvals[0].escalate_after: escalate_after (1h) must be shorter than settings.request_timeout (1h), or the request times out before anyone is called'],
    [[{ from: 'security', escalate_after: '30m', escalate_to: 'security' }], 'tiers.high.approvals[0].escalate_to: escalate_to names "security", the group this step already waits for'],
    [[{ from: 'security', escalate_after: '30m' }], 'tiers.high.approvals[0].escalate_to: escalate_after and escalate_to go together'],
    [[{ from: 'security', escalate_to: 'sre-leads' }], 'tiers.high.approvals[0].escalate_to: escalate_after and escalate_to go together'],
    [[{ from: 'security', escalate_after: 'soon', escalate_to: 'sre-leads' }], 'tiers.high.approvals[0].escalate_after: must be a duration'],
    [[{ from: 'security', escalate_to: 'sre-leads', escalate_afterr: '30m' }], 'escalate_afterr'],
  ])('refuses %j, saying where', (steps, expected) => {
    const problems = problemsOf(withSteps(steps));
    expect(problems.some((p) => p.includes(expected)), problems.join('\n')).toBe(true);
    expect(problems.every((p) => /^p\.yaml:\d+:\d+ /.test(p))).toBe(true);
  });

  it('shows escalation wherever steps are listed: explain in Slack and the CLI, and policy test', () => {
    const loaded = aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'security', count: 1, escalate_after: '30m', escalate_to: 'sre-leads' }, { from: 'sre-leads', count: 2 }] as never } } });
    const decision = decide(loaded.policy, { resource: 'prod-db', role: 'write', reason: 'x' }, { groups: new Set(['engineering']) }, new Date('2026-11-23T10:00:00Z'));
    if (decision.kind !== 'needs_approval') throw new Error('expected approval');
    expect(describeDecision(decision)).toContain('from 1) 1 of `security`, escalating to sre-leads after 30m, then 2) 2 of `sre-leads`.');
    expect(renderDecision(decision, loaded)).toContain('steps:    1) 1 from security, escalating to sre-leads after 30m  2) 2 from sre-leads');
    expect(describeSteps(decision.steps)).toBe('1 from security, escalating to sre-leads after 30m, then 2 from sre-leads');
  });

  it('shows an escalation added to a step in policy diff: it changes who may approve', () => {
    const before = aLoadedPolicy().policy;
    const after = aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'security', count: 1, escalate_after: '30m', escalate_to: 'sre-leads' }, { from: 'sre-leads', count: 2 }] as never } } }).policy;
    const text = renderText(diffAccess(before, after)).join('\n');
    expect(text).toContain('1 from security, escalating to sre-leads after 30m, then 2 from sre-leads');
  });
});
