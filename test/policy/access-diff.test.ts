// diffAccess: the effective change in access between two policies, per resource/role, break-glass and groups.
import { describe, expect, it } from 'vitest';
import { diffAccess, renderMarkdown, renderText } from '../../src/policy/access-diff.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const base = aLoadedPolicy().policy;

describe('diffAccess', () => {
  it('finds no change between a policy and itself, whatever its text looks like', () => {
    expect(diffAccess(base, aLoadedPolicy({ resources: { 'staging-db': { roles: { read: {}, write: null } as never } } }).policy)).toEqual([]);
    expect(renderText([])).toEqual(['No change in access.']);
  });

  it('shows only what differs: who may request, auto-approve conditions, steps, durations, break-glass, members', () => {
    const after = aLoadedPolicy({
      groups: { 'sre-leads': { users: ['U0LEAD1', 'U0LEAD3'] } },
      tiers: {
        medium: { auto_approve: { groups: undefined } },
        high: { approvals: [{ from: 'security', count: 1 }], max_duration: '4h' },
      },
      breakglass: { max_duration: '2h' },
      resources: { 'prod-db': { eligible: ['engineering', 'oncall'] } },
    }).policy;
    expect(renderText(diffAccess(base, after))).toEqual([
      'prod-db/read',
      '  who may request: engineering → engineering, oncall',
      '  auto-approve: when in business hours (mon/tue/wed/thu/fri 09:00–18:00 Europe/Berlin), with a ticket matching [A-Z][A-Z0-9]+-[0-9]+, for at most 2h, for members of oncall → when in business hours (mon/tue/wed/thu/fri 09:00–18:00 Europe/Berlin), with a ticket matching [A-Z][A-Z0-9]+-[0-9]+, for at most 2h',
      'prod-db/write',
      '  who may request: engineering → engineering, oncall',
      '  approval steps: 1 from security, then 2 from sre-leads → 1 from security',
      '  max duration: 2h → 4h',
      'deployers/member',
      '  auto-approve: when in business hours (mon/tue/wed/thu/fri 09:00–18:00 Europe/Berlin), with a ticket matching [A-Z][A-Z0-9]+-[0-9]+, for at most 2h, for members of oncall → when in business hours (mon/tue/wed/thu/fri 09:00–18:00 Europe/Berlin), with a ticket matching [A-Z][A-Z0-9]+-[0-9]+, for at most 2h',
      'break-glass',
      '  max duration: 1h → 2h',
      'group sre-leads',
      '  members: U0LEAD1, U0LEAD2 → U0LEAD1, U0LEAD3',
    ]);
  });

  it('knows break-glass is reviewed by the admins when review_by is not set', () => {
    const after = aLoadedPolicy({ breakglass: { review_by: undefined }, settings: { admins: 'sre-leads' } }).policy;
    expect(diffAccess(base, after).filter((c) => c.aspect === 'reviewed by')).toEqual([{ subject: 'break-glass', aspect: 'reviewed by', before: 'security', after: 'sre-leads' }]);
  });

  it('counts a change of settings where it changes access: business hours change every conditional auto-approve', () => {
    const after = aLoadedPolicy({ settings: { timezone: 'America/New_York' } }).policy;
    expect(diffAccess(base, after).map((c) => `${c.subject}: ${c.aspect}`)).toEqual(['prod-db/read: auto-approve', 'deployers/member: auto-approve']);
  });

  it('lists a new and a removed resource/role whole, marked as such', () => {
    const after = aLoadedPolicy({ resources: { sandbox: undefined, wiki: { tier: 'low', roles: ['edit'], provider: { type: 'noop' } } } }).policy;
    const text = renderText(diffAccess(base, after));
    expect(text).toContain('sandbox/admin (removed)');
    expect(text).toContain('wiki/edit (new)');
    expect(text[text.indexOf('wiki/edit (new)') + 1]).toBe('  who may request: everyone');
  });

  it('renders a markdown table for a pull-request comment', () => {
    const after = aLoadedPolicy({ breakglass: undefined, resources: { 'prod-db': { eligible: ['oncall'] } } }).policy;
    const markdown = renderMarkdown(diffAccess(base, after));
    expect(markdown.slice(0, 4)).toEqual(['### Sesame policy: change in access', '', '| Resource / role | What | Before | After |', '| --- | --- | --- | --- |']);
    expect(markdown).toContain('| `prod-db/read` | who may request | engineering | oncall |');
    expect(markdown).toContain('| break-glass | enabled | yes | no |');
    expect(markdown.filter((l) => l.startsWith('| break-glass'))).toHaveLength(1);
  });
});
