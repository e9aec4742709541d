// Security: a bundle's merged approval steps never let a group decide a member its own tier never lets it decide,
// and a bundle auto-approved because of group membership records every group that made it so.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const policy = aLoadedPolicy({
  tiers: {
    // prod-db:read's tier: one SRE lead, never anyone else.
    medium: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }], max_duration: '4h' },
    // A harmless tier whose step escalates to engineering after 10 minutes (smaller max_duration: it is the "strictest").
    quick: { approvals: [{ from: 'sre-leads', count: 1, escalate_after: '10m', escalate_to: 'engineering' }], max_duration: '1h' },
    slow: { approvals: [{ from: 'sre-leads', count: 1, escalate_after: '30m', escalate_to: 'engineering' }], max_duration: '2h' },
    other: { approvals: [{ from: 'sre-leads', count: 1, escalate_after: '5m', escalate_to: 'security' }], max_duration: '2h' },
  },
  resources: { sandbox: { tier: 'quick' }, 'staging-db': { tier: 'slow' }, deployers: { tier: 'other' } },
  bundles: { kit: ['prod-db:read', 'sandbox:admin'], 'same-way': ['sandbox:admin', 'staging-db:read'], 'two-ways': ['sandbox:admin', 'deployers:member'] },
} as Parameters<typeof aLoadedPolicy>[0]).policy;

const facts = { groups: new Set(['engineering']), standing: 'member' as const, user: 'U0ENG1' };
const now = new Date('2026-12-02T10:00:00Z');
const stepsOf = (resource: string, role?: string) => {
  const d = decide(policy, { resource, ...(role === undefined ? {} : { role }), duration: 3_600_000, reason: 'INC-1 look' }, facts, now);
  return d.kind === 'needs_approval' ? d.steps : null;
};

describe('bundle step merging', () => {
  it('prod-db:read alone never escalates to engineering', () => {
    expect(stepsOf('prod-db', 'read')).toEqual([{ from: 'sre-leads', count: 1 }]);
  });

  it('in a bundle, prod-db:read is still decided by sre-leads only (no escalation borrowed from another member)', () => {
    expect(stepsOf('kit')?.map((s) => s.escalate_to)).toEqual([undefined]);
  });

  it('merged steps that all escalate to the same group keep the escalation, after the longest wait', () => {
    expect(stepsOf('same-way')).toEqual([{ from: 'sre-leads', count: 1, escalate_after: 30 * 60_000, escalate_to: 'engineering' }]);
  });

  it('merged steps that escalate to different groups keep no escalation', () => {
    expect(stepsOf('two-ways')).toEqual([{ from: 'sre-leads', count: 1 }]);
  });
});

describe('bundle auto-approved by groups', () => {
  const byGroups = aLoadedPolicy({
    tiers: {
      medium: { auto_approve: { business_hours: undefined, ticket: undefined, max_duration: undefined, groups: ['oncall'] } },
      eng: { auto_approve: { groups: ['engineering'] }, max_duration: '4h' },
    },
    resources: { sandbox: { tier: 'eng' } },
    bundles: { 'oncall-kit': ['prod-db:read', 'deployers:member'], mixed: ['prod-db:read', 'sandbox:admin'], 'with-always': ['prod-db:read', 'staging-db:read'] },
  } as Parameters<typeof aLoadedPolicy>[0]).policy;
  const both = { groups: new Set(['engineering', 'oncall']), standing: 'member' as const, user: 'U0ONCALL' };
  const groupOf = (resource: string) => {
    const d = decide(byGroups, { resource, duration: 3_600_000, reason: 'INC-1 look' }, both, now);
    return d.kind === 'auto_approve' ? (d.group ?? null) : d.kind;
  };

  it('records the group when every member was automatic because of it', () => {
    expect(groupOf('oncall-kit')).toBe('oncall');
  });

  it('records every group when members were automatic because of different groups', () => {
    expect(groupOf('mixed')).toBe('oncall,engineering');
  });

  it('records the group of the members that needed one when others are always automatic', () => {
    expect(groupOf('with-always')).toBe('oncall');
  });
});
