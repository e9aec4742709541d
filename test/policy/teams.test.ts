// Team leads in the policy: the teams section, from: team_lead routing (and its fallback), review: and their checks.
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.ts';
import { parsePolicy } from '../../src/policy/load.ts';
import type { PolicyInput } from '../../src/policy/schema.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { describeSteps } from '../../src/policy/run-policy-tests.ts';
import { reviewersFor } from '../../src/policy/teams.ts';
import { aLoadedPolicy, aPolicyInput } from '../support/policy-fixtures.ts';

const LEAD_PAY = 'U0PAYLEAD';
const LEAD_WEB = 'U0WEBLEAD';
const PAYER = 'U0PAYER';
const BOTH = 'U0BOTH';
const NOBODY = 'U0NOTEAM';

const TEAMS = {
  teams: {
    payments: { members: [PAYER, BOTH], leads: [LEAD_PAY] },
    web: { slack_usergroup: 'S0WEB', leads: [LEAD_WEB] },
  },
  tiers: { high: { approvals: [{ from: 'team_lead', count: 1, fallback: 'security' }, { from: 'sre-leads', count: 1 }], review: 'team_lead' } },
} as Parameters<typeof aLoadedPolicy>[0];

const policy = aLoadedPolicy(TEAMS).policy;
const at = new Date('2026-11-23T09:00:00Z');
const ask = (user: string, teams: string[]) => decide(policy, { resource: 'prod-db', role: 'write', reason: 'INC-1' }, { groups: new Set(['engineering']), teams: new Set(teams), user }, at);
const problems = (changes: Parameters<typeof aPolicyInput>[0]) => {
  const parsed = parsePolicy(stringify(aPolicyInput(changes) satisfies PolicyInput), 'p.yaml');
  return parsed.ok ? [] : parsed.error.map((p) => p.message);
};

describe('team-lead routing', () => {
  it('sends a team_lead step to the leads of the requester\'s team, and says so', () => {
    const d = ask(PAYER, ['payments']);
    expect(d).toMatchObject({ kind: 'needs_approval', steps: [{ from: 'team_lead', count: 1, leads: [LEAD_PAY] }, { from: 'sre-leads', count: 1 }] });
    expect(d.rule.why).toContain(`step 1 goes to the leads of payments (${LEAD_PAY})`);
  });

  it('with several teams, the leads of all of them may decide', () => {
    expect(ask(BOTH, ['payments', 'web'])).toMatchObject({ steps: [{ from: 'team_lead', leads: [LEAD_PAY, LEAD_WEB] }, { from: 'sre-leads' }] });
  });

  it('sends a lead\'s own request to the fallback group, never to the lead', () => {
    const d = ask(LEAD_PAY, ['payments']);
    expect(d).toMatchObject({ kind: 'needs_approval', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads' }] });
    expect(d.kind === 'needs_approval' && d.steps[0]?.leads).toBeFalsy();
    expect(d.rule.why).toContain('step 1 goes to its fallback security: the requester leads payments');
  });

  it('leaves out leads an admin blocked, and falls back when too few are left to decide', () => {
    const blocked = (user: string, teams: string[], leads: string[]) => decide(policy, { resource: 'prod-db', role: 'write', reason: 'INC-1' }, { groups: new Set(['engineering']), teams: new Set(teams), user, blockedLeads: new Set(leads) }, at);
    expect(blocked(BOTH, ['payments', 'web'], [LEAD_PAY])).toMatchObject({ steps: [{ from: 'team_lead', leads: [LEAD_WEB], leads_blocked: [LEAD_PAY] }, { from: 'sre-leads' }] });
    const d = blocked(PAYER, ['payments'], [LEAD_PAY]);
    expect(d).toMatchObject({ kind: 'needs_approval', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads' }] });
    expect(d.rule.why).toContain('step 1 goes to its fallback security: fewer than 1 of the leads of payments can decide now');
    expect(d.rule.why).not.toContain('block');
    // Marked, so the requester never counts on it and it stands after an unblock; no other fallback is.
    expect(d.kind === 'needs_approval' && d.steps[0]).toEqual({ from: 'security', count: 1, leads_blocked: [LEAD_PAY] });
    const own = ask(LEAD_PAY, ['payments']);
    expect(own.kind === 'needs_approval' && own.steps).toEqual([{ from: 'security', count: 1 }, { from: 'sre-leads', count: 1 }]);
    const teamless = ask(NOBODY, []);
    expect(teamless.kind === 'needs_approval' && teamless.steps[0]).toEqual({ from: 'security', count: 1 });
    expect(reviewersFor(policy, 'team_lead', { teams: new Set(['payments']), user: PAYER, blockedLeads: new Set([LEAD_PAY]) })).toEqual({ group: policy.settings.admins });
  });

  it('keeps the mark when a bundle merges a step that fell back for a block with the same group\'s step', () => {
    const bundled = aLoadedPolicy({
      teams: { payments: { members: [PAYER], leads: [LEAD_PAY] } },
      bundles: { 'db-admin': ['prod-db:read', 'prod-db:write'] },
      tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }] }, medium: { approvals: [{ from: 'team_lead', count: 1, fallback: 'sre-leads' }] } },
    } as Parameters<typeof aLoadedPolicy>[0]).policy;
    const facts = { groups: new Set(['engineering']), teams: new Set(['payments']), user: PAYER };
    const d = decide(bundled, { resource: 'db-admin', duration: 3_600_000, reason: 'INC-1' }, { ...facts, blockedLeads: new Set([LEAD_PAY]) }, at);
    expect(d.kind === 'needs_approval' && d.steps).toEqual([{ from: 'sre-leads', count: 1, leads_blocked: [LEAD_PAY] }]);
    const unblocked = decide(bundled, { resource: 'db-admin', duration: 3_600_000, reason: 'INC-1' }, facts, at);
    expect(unblocked.kind === 'needs_approval' && unblocked.steps).toEqual([{ from: 'sre-leads', count: 1 }, { from: 'team_lead', count: 1, leads: [LEAD_PAY] }]);
  });

  it('sends someone in no team to the fallback group', () => {
    expect(ask(NOBODY, [])).toMatchObject({ steps: [{ from: 'security' }, { from: 'sre-leads' }] });
    expect(ask(NOBODY, []).rule.why).toContain('the requester is in no team');
  });

  it('policy test and explain find teams from the fixed lists', () => {
    const request = { user: PAYER, resource: 'prod-db', role: 'write', reason: 'x', breakglass: false, at };
    const { outcome } = evaluate(policy, request, new Set(['engineering']));
    expect(describeSteps(outcome.steps ?? [])).toBe('1 from team_lead, then 1 from sre-leads');
    expect(describeSteps(evaluate(policy, { ...request, user: LEAD_PAY }, new Set(['engineering'])).outcome.steps ?? [])).toBe('1 from security, then 1 from sre-leads');
  });
});

describe('review: team_lead', () => {
  it('goes to the grantee\'s leads, and to the admins for a lead or someone in no team', () => {
    expect(reviewersFor(policy, 'team_lead', { teams: new Set(['payments']), user: PAYER })).toEqual({ leads: [LEAD_PAY] });
    expect(reviewersFor(policy, 'team_lead', { teams: new Set(['payments']), user: LEAD_PAY })).toEqual({ group: 'security' });
    expect(reviewersFor(policy, 'team_lead', { teams: new Set(), user: NOBODY })).toEqual({ group: 'security' });
    expect(reviewersFor(policy, 'sre-leads', { teams: new Set(), user: NOBODY })).toEqual({ group: 'sre-leads' });
  });
});

describe('policy check', () => {
  it('accepts teams, team_lead steps with a fallback and review', () => {
    expect(problems(TEAMS)).toEqual([]);
  });

  it('requires a fallback for from: team_lead', () => {
    expect(problems({ ...TEAMS, tiers: { high: { approvals: [{ from: 'team_lead', count: 1 }] } } })).toEqual([expect.stringContaining('from: team_lead needs fallback: GROUP')]);
  });

  it('checks the fallback and review groups exist', () => {
    const found = problems({ ...TEAMS, tiers: { high: { approvals: [{ from: 'team_lead', count: 1, fallback: 'nobody' }], review: 'ghosts' } } });
    expect(found).toHaveLength(2);
    expect(found).toEqual(expect.arrayContaining([expect.stringContaining('unknown group "ghosts"'), expect.stringContaining('unknown group "nobody"')]));
  });

  it('refuses leads and members that are not user ids, and a team with no members', () => {
    expect(problems({ teams: { payments: { members: ['alice'], leads: ['U0LEAD1'] } } })).toEqual([expect.stringContaining('must be a Slack user ID')]);
    expect(problems({ teams: { payments: { members: ['U0A1'], leads: ['#bob'] } } })).toEqual([expect.stringContaining('must be a Slack user ID')]);
    expect(problems({ teams: { payments: { leads: ['U0LEAD1'] } } })).toEqual([expect.stringContaining('a team needs members')]);
    expect(problems({ teams: { payments: { slack_usergroup: 'payments', leads: ['U0LEAD1'] } } })).toEqual([expect.stringContaining('Slack user group ID')]);
  });

  it('needs admins for review: team_lead, and keeps the name team_lead for the leads', () => {
    expect(problems({ ...TEAMS, settings: { admins: undefined } })).toEqual([expect.stringContaining('review: team_lead needs settings.admins')]);
    expect(problems({ groups: { team_lead: { users: ['U0A1'] } } })).toEqual([expect.stringContaining('"team_lead" is reserved')]);
  });
});
