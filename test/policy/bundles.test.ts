// Bundles in the policy: checked at load, decided member by member, explained and tested like a resource.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { renderDecision } from '../../src/cli/policy-commands.ts';
import { policyTest } from '../../src/cli/policy-test.ts';
import { whyNoLongerAllowed } from '../../src/core/redecide.ts';
import { decide, type AccessQuery } from '../../src/policy/decide.ts';
import { formatProblem, parsePolicy } from '../../src/policy/load.ts';
import type { RequestRow } from '../../src/store/schema.ts';
import { captureIo } from '../support/capture-io.ts';
import { aLoadedPolicy, aPolicyInput } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;
/** Monday 2026-11-23, 10:00 in Berlin. */
const MONDAY_10 = new Date('2026-11-23T09:00:00Z');
const BUNDLES = {
  'incident-responder': ['prod-db:read', 'deployers:member', 'sandbox:admin'],
  'quick-look': ['sandbox:admin', 'staging-db:read'],
  'db-admin': ['prod-db:read', 'prod-db:write'],
};
const loaded = aLoadedPolicy({ bundles: BUNDLES });
const policy = loaded.policy;
const ask = (query: Partial<AccessQuery> & { resource: string }, groups: string[] = ['engineering']) =>
  decide(policy, { reason: 'fixing INC-42', ...query }, { groups: new Set(groups) }, MONDAY_10);

const problemsOf = (bundles: Record<string, string[]>) => {
  const result = parsePolicy(stringify(aPolicyInput({ bundles })), 'p.yaml');
  expect(result.ok).toBe(false);
  return (result.error ?? []).map((p) => formatProblem(p).replace(/^p\.yaml:\d+:\d+ /, ''));
};

describe('policy check of bundles', () => {
  it('accepts bundles of existing resource:role pairs', () => {
    expect(policy.bundles['incident-responder']).toEqual(BUNDLES['incident-responder']);
  });

  it.each([
    [{ kit: ['prod-db:admin'] }, 'bundles.kit[0]: resource "prod-db" has no role "admin"; its roles are "read", "write"'],
    [{ kit: ['prod-dbx:read'] }, 'bundles.kit[0]: unknown resource "prod-dbx"; bundle members are resource:role pairs from the resources section'],
    [{ kit: ['sandbox:admin'], outer: ['kit:bundle'] }, 'bundles.outer[0]: "kit" is a bundle; bundles cannot contain bundles, so list its members here instead'],
    [{ sandbox: ['staging-db:read'] }, 'bundles.sandbox: bundle "sandbox" has the name of a resource; rename one of them, or a request for "sandbox" would be ambiguous'],
    [{ kit: ['sandbox:admin', 'sandbox:admin'] }, 'bundles.kit[1]: "sandbox:admin" is listed twice; list each resource:role once'],
    [{ kit: ['sandbox'] }, 'bundles.kit[0]: bundle members are written resource:role, like prod-db:read'],
    [{ kit: [] }, 'bundles.kit: list at least one resource:role'],
  ])('refuses %j', (bundles, problem) => {
    expect(problemsOf(bundles)).toEqual([problem]);
  });
});

describe('deciding a bundle', () => {
  it('auto-approves when every member is auto-approved, with the smallest default duration of its members', () => {
    const d = ask({ resource: 'quick-look' });
    expect(d).toMatchObject({ kind: 'auto_approve', request: { resource: 'quick-look', role: 'bundle', duration: 2 * HOUR, members: [{ resource: 'sandbox', role: 'admin' }, { resource: 'staging-db', role: 'read' }] }, rule: { path: ['bundles', 'quick-look'] } });
  });

  it("takes the strictest member's tier and needs every member's approvers", () => {
    const d = ask({ resource: 'db-admin', duration: HOUR });
    expect(d).toMatchObject({ kind: 'needs_approval', request: { tier: 'high', selfApproval: false }, steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }] });
  });

  it('merges steps from different members per group, keeping the higher count', () => {
    // prod-db read and deployers (medium: 1 of sre-leads, as the requester is not on call) and prod-db write (high:
    // security, then 2 sre-leads): the strictest tier's steps lead, and sre-leads is asked once, for the higher count.
    const mixed = aLoadedPolicy({ bundles: { both: ['prod-db:read', 'prod-db:write', 'deployers:member'] } }).policy;
    const d = decide(mixed, { resource: 'both', duration: HOUR, reason: 'INC-1' }, { groups: new Set(['engineering']) }, MONDAY_10);
    expect(d).toMatchObject({ kind: 'needs_approval', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }], request: { tier: 'high' } });
  });

  it('refuses the whole bundle when one member is refused, naming the member and its rule', () => {
    const d = ask({ resource: 'incident-responder', duration: HOUR }, []);
    expect(d).toMatchObject({ kind: 'refuse', error: { code: 'bundle_member_refused', bundle: 'incident-responder', member: 'prod-db:read', cause: { code: 'not_eligible' } }, rule: { path: ['resources', 'prod-db', 'eligible'] } });
  });

  it("is limited by its members' smallest max_duration, for requests and extensions", () => {
    expect(ask({ resource: 'incident-responder', duration: 5 * HOUR })).toMatchObject({ kind: 'refuse', error: { code: 'bundle_member_refused', member: 'prod-db:read', cause: { code: 'duration_too_long', max: 4 * HOUR } } });
    const extending = { grantId: 'G1', startsAt: MONDAY_10.getTime() - HOUR, expiresAt: MONDAY_10.getTime() + 2 * HOUR };
    expect(ask({ resource: 'quick-look', duration: 6 * HOUR, extending })).toMatchObject({ kind: 'refuse', error: { code: 'bundle_member_refused', cause: { code: 'extension_too_long' } } });
  });

  it('refuses a role named for a bundle: it is requested as a whole', () => {
    expect(ask({ resource: 'quick-look', role: 'admin' })).toMatchObject({ kind: 'refuse', error: { code: 'unknown_role', resource: 'quick-look', roles: ['bundle'] } });
  });

  it('cancels at approval a request whose bundle has different members now', () => {
    const request = { resource: 'quick-look', role: 'bundle', durationMs: HOUR, reason: 'INC-1', steps: [], selfApproval: false, bundleMembers: [{ resource: 'sandbox', role: 'admin' }] } as unknown as RequestRow;
    expect(whyNoLongerAllowed(policy, request, null, { groups: new Set(['engineering']) }, MONDAY_10)).toEqual({ code: 'bundle_changed', bundle: 'quick-look' });
    const same = { ...request, bundleMembers: [{ resource: 'sandbox', role: 'admin' }, { resource: 'staging-db', role: 'read' }] };
    expect(whyNoLongerAllowed(policy, same, null, { groups: new Set(['engineering']) }, MONDAY_10)).toBeNull();
  });
});

describe('policy explain and policy test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bundles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('explains a bundle with its members and steps', () => {
    const lines = renderDecision(ask({ resource: 'db-admin', duration: HOUR }), loaded);
    expect(lines.slice(0, 4)).toEqual(['decision: needs approval', 'request:  db-admin bundle for 1h (tier high)', 'members:  prod-db:read, prod-db:write', 'steps:    1) 1 from security  2) 2 from sre-leads']);
  });

  it('runs test cases that name a bundle where a resource goes', async () => {
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, stringify(aPolicyInput({ bundles: BUNDLES })));
    const cases = join(dir, 'bundles.test.yaml');
    writeFileSync(cases, [
      'groups: { engineering: [U0ALICE] }',
      'cases:',
      '  - name: the quick look is granted at once',
      '    request: { user: U0ALICE, resource: quick-look, duration: 1h, reason: "INC-1" }',
      '    expect: { decision: auto-approve, tier: low }',
      '  - name: db-admin needs security and two leads',
      '    request: { user: U0ALICE, resource: db-admin, duration: 1h, reason: "INC-1" }',
      '    expect: { decision: needs-approval, tier: high, steps: [{ from: security, count: 1 }, { from: sre-leads, count: 2 }] }',
      '  - name: strangers are refused the whole bundle',
      '    request: { user: U0EVE, resource: incident-responder, duration: 1h }',
      '    expect: { decision: refuse, error: bundle_member_refused }',
    ].join('\n'));
    const captured = captureIo();
    const code = await policyTest([cases, '--policy', policyFile], captured.io, policyFile, new Date('2026-11-23T10:00:00Z'));
    expect(captured.stderr()).toBe('');
    expect(captured.stdout()).toBe('✓ the quick look is granted at once\n✓ db-admin needs security and two leads\n✓ strangers are refused the whole bundle\n3 passed, 0 failed\n');
    expect(code).toBe(0);
  });
});
