// Loading a policy: every problem reported with its line and column, never a stack trace or a hang.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatProblem, loadPolicyFile, MAX_POLICY_BYTES, parsePolicy } from '../../src/policy/load.ts';
import { aPolicyInput, EXAMPLE_POLICY_PATH, examplePolicyText } from '../support/policy-fixtures.ts';

const problemsOf = (text: string) => {
  const result = parsePolicy(text, 'p.yaml');
  expect(result.ok).toBe(false);
  return (result.error ?? []).map(formatProblem);
};

describe('loadPolicyFile', () => {
  it('accepts the shipped example and records the sha256 of its bytes', async () => {
    const result = await loadPolicyFile(EXAMPLE_POLICY_PATH);
    expect(result.ok).toBe(true);
    expect(result.value?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(result.value?.policy.resources ?? {})).toEqual(['staging-db', 'prod-db', 'deployers', 'sandbox']);
  });

  it('normalizes role lists and maps, and parses durations to milliseconds', async () => {
    const { value } = await loadPolicyFile(EXAMPLE_POLICY_PATH);
    expect(value?.policy.resources['staging-db']?.roles).toEqual({ read: {}, write: {} });
    expect(value?.policy.resources['prod-db']?.roles).toEqual({ read: { tier: 'medium' }, write: {} });
    expect(value?.policy.tiers.low?.max_duration).toBe(8 * 3_600_000);
    expect(value?.policy.settings.request_timeout).toBe(3_600_000);
  });

  it('says so when the file does not exist', async () => {
    const result = await loadPolicyFile('/nonexistent/policy.yaml');
    expect(result.error?.map(formatProblem)).toEqual(['/nonexistent/policy.yaml:1:1 does not exist; set POLICY_PATH or pass the file, e.g. policies/policy.yaml']);
  });

  it('refuses a 10 MB file without parsing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-policy-'));
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, `# ${'x'.repeat(10 * 1024 * 1024)}\n`);
    const started = performance.now();
    const result = await loadPolicyFile(file);
    expect(result.error?.[0]?.message).toMatch(/^the file is 10\.0 MB; policies are limited to 5\.0 MB$/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(MAX_POLICY_BYTES).toBe(5 * 1024 * 1024);
  });
});

describe('parsePolicy', () => {
  it('refuses an empty file', () => {
    expect(problemsOf('')).toEqual(['p.yaml:1:1 the policy is empty; start from policies/policy.yaml in the Sesame repository']);
    expect(problemsOf('   \n# only a comment\n')).toHaveLength(1);
  });

  it('reports malformed YAML at its position', () => {
    const problems = problemsOf('version: 1\nsettings: { approvals_channel: C0X\n');
    expect(problems[0]).toMatch(/^p\.yaml:\d+:\d+ YAML syntax: /);
  });

  it('reports an unclosed flow map at the line of its opening brace, not the line after', () => {
    expect(problemsOf('version: 1\nsettings: { approvals_channel: C0X\ntiers: {}\n')[0]).toMatch(/^p\.yaml:2:11 YAML syntax: /);
  });

  it('reports an unclosed flow sequence and an unclosed quote at the line of the mistake', () => {
    const text = 'version: 1\nsettings:\n  approvals_channel: C0APPROVALS\ngroups:\n  a: { users: [U0A, U0B }\ntiers: {}\n';
    expect(problemsOf(text)[0]).toMatch(/^p\.yaml:5:\d+ YAML syntax: /);
    expect(problemsOf('version: 1\nsettings: "C0X\ntiers: {}\n')[0]).toMatch(/^p\.yaml:2:11 YAML syntax: Missing closing "quote/);
  });

  it('reports a tab in the indentation once per line, not once per token after it', () => {
    const text = examplePolicyText().replace('  request_timeout: 1h', '\trequest_timeout: 1h');
    const line = text.split('\n').findIndex((l) => l.startsWith('\trequest_timeout')) + 1;
    expect(problemsOf(text)).toEqual([`p.yaml:${line}:1 a tab in the indentation; YAML indents with spaces only, so replace the tab with spaces`]);
  });

  it('reports dangling references (group, tier, role) in the well-formed parts beside the shape problems', () => {
    const text = [
      'version: 1',
      'settings: { approvals_channel: C0APPROVALS, admins: secops }',
      'groups: { ops: { users: [U0OPS] } }',
      'tiers:',
      '  low: { max_duration: 1h, auto_approve: always, colour: red }',
      '  high: { max_duration: 1h, approvals: [{ from: sec }] }',
      'resources:',
      '  a: { tier: low, roles: [read], provider: { type: noop } }',
      '  b: { tier: urgent, roles: [read], provider: { type: noop }, eligible: [opps] }',
      '  c: { tier: high, roles: { read: { tier: mid } }, provider: { type: ftp } }',
      'bundles:',
      '  kit: [a:write]',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'p.yaml:2:53 settings.admins: unknown group "secops"; groups are "ops"',
      'p.yaml:5:50 tiers.low.colour: unknown key; check its spelling (unknown keys are refused so a typo cannot weaken the policy)',
      'p.yaml:6:49 tiers.high.approvals[0].from: unknown group "sec"; groups are "ops"',
      'p.yaml:9:14 resources.b.tier: unknown tier "urgent"; tiers are "low", "high"',
      'p.yaml:9:74 resources.b.eligible[0]: unknown group "opps"; groups are "ops"',
      'p.yaml:10:70 resources.c.provider.type: must be one of: webhook, slack_usergroup, postgres, github_team, kubernetes, aws_identity_center, gcp_iam, noop',
      'p.yaml:12:9 bundles.kit[0]: resource "a" has no role "write"; its roles are "read"',
    ]);
  });

  it('refuses duplicate keys', () => {
    expect(problemsOf('version: 1\nversion: 1\n')).toEqual(['p.yaml:2:1 duplicate key "version"; each key may appear only once in a map']);
  });

  it('refuses a document that is not a map', () => {
    expect(problemsOf('- a\n- b\n')).toEqual(['p.yaml:1:1 the policy must be a YAML map with version, settings, groups, tiers and resources']);
  });

  it('points an unknown key at the key itself', () => {
    const text = examplePolicyText().replace('  request_timeout: 1h', '  request_timout: 1h');
    const line = text.split('\n').findIndex((l) => l.includes('request_timout')) + 1;
    expect(problemsOf(text)).toContain(`p.yaml:${line}:3 settings.request_timout: unknown key; did you mean \`request_timeout\`? (unknown keys are refused so a typo cannot weaken the policy)`);
  });

  it.each([
    ['  max_duration: 8h', '  max_duraton: 8h', 'tiers.low.max_duraton', 'max_duration'],
    ['      business_hours: true', '      busines_hours: true', 'tiers.medium.auto_approve.busines_hours', 'business_hours'],
    ['  review_by: security', '  reviewby: security', 'breakglass.reviewby', 'review_by'],
    ['connection_env: STAGING_PG_URL', 'conection_env: STAGING_PG_URL', 'resources.staging-db.provider.conection_env', 'connection_env'],
  ])('suggests the known key a misspelt one is close to: %s', (from, to, path, meant) => {
    const problems = problemsOf(examplePolicyText().replace(from, to));
    expect(problems.some((p) => p.includes(`${path}: unknown key; did you mean \`${meant}\`?`)), problems.join('\n')).toBe(true);
  });

  it('suggests nothing for an unknown key unlike any known one', () => {
    const problems = problemsOf(examplePolicyText().replace('  request_timeout: 1h', '  colour: blue'));
    expect(problems.find((p) => p.includes('settings.colour'))).toMatch(/unknown key; check its spelling/);
  });

  it('reports every problem of the schema at once, in file order, with line and column', () => {
    const text = [
      'version: 1',
      'settings:',
      '  approvals_channel: general',
      '  timezone: Mars/Base',
      'tiers:',
      '  low: { max_duration: 5x, auto_approve: sometimes }',
      'resources:',
      '  a: { tier: low, roles: [read, 5], provider: { type: ftp } }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'p.yaml:3:22 settings.approvals_channel: must be a Slack channel ID like C0123ABCD (channel details → bottom of the About tab)',
      'p.yaml:4:13 settings.timezone: must be an IANA time zone like Europe/Berlin or UTC',
      'p.yaml:6:24 tiers.low.max_duration: must be a duration like 90s, 30m, 2h, 1d or 1h30m',
      'p.yaml:6:42 tiers.low.auto_approve: must be "always" or a map of conditions (business_hours, ticket, max_duration, groups)',
      'p.yaml:8:33 resources.a.roles[1]: expected string, got number',
      'p.yaml:8:55 resources.a.provider.type: must be one of: webhook, slack_usergroup, postgres, github_team, kubernetes, aws_identity_center, gcp_iam, noop',
    ]);
  });

  it("validates each provider's own block, with the line and column of the mistake", () => {
    const text = [
      'version: 1',
      'settings: { approvals_channel: C0APPROVALS }',
      'tiers: { low: { max_duration: 1h, auto_approve: always } }',
      'resources:',
      '  hook: { tier: low, roles: [x], provider: { type: webhook, url: "ftp://h/x", secret_env: lower-case } }',
      '  grp:  { tier: low, roles: [x], provider: { type: slack_usergroup, usergroup: deployers } }',
      '  db:   { tier: low, roles: [x], provider: { type: postgres, connection_env: PG_URL, roles: { x: r }, sslmode: on } }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'p.yaml:5:66 resources.hook.provider.url: must be an http(s) URL',
      'p.yaml:5:91 resources.hook.provider.secret_env: must be an environment variable name like PROD_DB_HOOK_SECRET',
      'p.yaml:6:80 resources.grp.provider.usergroup: must be a Slack user group ID like S0123ABCD',
      'p.yaml:7:103 resources.db.provider.sslmode: unknown key; check its spelling (unknown keys are refused so a typo cannot weaken the policy)',
    ]);
  });

  it('names every unset secret variable, where the policy names it, when given the environment to check', () => {
    const text = examplePolicyText();
    expect(parsePolicy(text, 'p.yaml').ok).toBe(true);
    const result = parsePolicy(text, 'p.yaml', { env: { PROD_DB_HOOK_SECRET: 's' } });
    expect((result.error ?? []).map(formatProblem)).toEqual([
      expect.stringMatching(/^p\.yaml:68:\d+ resources\.staging-db\.provider\.connection_env: environment variable STAGING_PG_URL is not set; the postgres provider of "staging-db" reads its secret from it; set it where Sesame runs \(see \.env\.example\), or change the policy$/),
    ]);
    expect(parsePolicy(text, 'p.yaml', { env: { PROD_DB_HOOK_SECRET: 's', STAGING_PG_URL: 'postgres://x' } }).ok).toBe(true);
  });

  it('reports a missing required key at its parent', () => {
    const text = 'version: 1\nsettings: {}\ntiers: {}\nresources: {}\n';
    expect(problemsOf(text)).toEqual(['p.yaml:2:11 settings.approvals_channel: is required']);
  });

  it('refuses a channels-only break-glass section, which would let anyone who can create #inc-x break glass', () => {
    const text = stringify(aPolicyInput({ breakglass: { groups: undefined } }));
    const line = text.split('\n').findIndex((l) => l.startsWith('breakglass:')) + 2;
    expect(problemsOf(text)).toEqual([expect.stringMatching(new RegExp(`^p\\.yaml:${line}:3 breakglass\\.groups: name the groups who may break glass, like groups: \\[oncall\\]; channels alone`))]);
  });

  it.each([
    [{ tiers: { high: { approvals: [{ from: 'sre', count: 1 }] } } }, 'tiers.high.approvals[0].from: unknown group "sre"; groups are "engineering", "sre-leads", "security", "oncall"'],
    [{ resources: { 'prod-db': { tier: 'critical' } } }, 'resources.prod-db.tier: unknown tier "critical"; tiers are "low", "medium", "high"'],
    [{ resources: { 'prod-db': { roles: { read: { tier: 'urgent' } } } } }, 'resources.prod-db.roles.read.tier: unknown tier "urgent"'],
    [{ resources: { 'prod-db': { eligible: ['engineers'] } } }, 'resources.prod-db.eligible[0]: unknown group "engineers"'],
    [{ settings: { admins: 'secops' } }, 'settings.admins: unknown group "secops"'],
    [{ breakglass: { review_by: 'auditors' } }, 'breakglass.review_by: unknown group "auditors"'],
    [{ breakglass: { groups: ['on-call'] } }, 'breakglass.groups[0]: unknown group "on-call"'],
    [{ tiers: { medium: { auto_approve: { groups: ['pagers'] } } } }, 'tiers.medium.auto_approve.groups[0]: unknown group "pagers"'],
    [{ tiers: { spare: { max_duration: '1h' } } }, 'tiers.spare: tier "spare" needs auto_approve, approvals, or both'],
    [{ tiers: { high: { approvals: [{ from: 'security', count: 2 }] } } }, 'tiers.high.approvals[0].count: count 2 can never be met: group "security" has 1 member(s)'],
    [{ resources: { 'staging-db': { provider: { roles: { read: 'r', admin: 'a' } } } } }, '"admin" is not a role of resource "staging-db"'],
    [{ resources: { 'staging-db': { provider: { roles: { read: 'r', write: undefined } } } } }, 'role "write" has no database role here'],
    [{ settings: { business_hours: undefined } }, 'tiers.medium.auto_approve.business_hours: business_hours needs settings.business_hours'],
    [{ settings: { ticket_pattern: undefined } }, 'tiers.medium.auto_approve.ticket: ticket needs settings.ticket_pattern'],
    [{ settings: { remind_after: '2h' } }, 'settings.remind_after: remind_after must be shorter than request_timeout'],
  ])('refuses a dangling or impossible reference: %j', (changes, expected) => {
    const problems = problemsOf(stringify(aPolicyInput(changes as never)));
    expect(problems.some((p) => p.includes(expected)), problems.join('\n')).toBe(true);
    expect(problems.every((p) => /^p\.yaml:\d+:\d+ /.test(p))).toBe(true);
  });

  it.each([
    [{ settings: { business_hours: { days: ['mon'], from: '18:00', to: '09:00' } } }, 'settings.business_hours.to: "to" must be later than "from"'],
    [{ settings: { ticket_pattern: '([A-Z' } }, 'settings.ticket_pattern: must be a valid regular expression'],
    [{ settings: { ticket_url: 'https://t.example/' } }, 'settings.ticket_url: must contain {ticket}'],
    [{ groups: { empty: {} } }, 'groups.empty: a group needs users: [...] or slack_usergroup: S…'],
    [{ groups: { bad: { users: ['alice'] } } }, 'groups.bad.users[0]: must be a Slack user ID like U0123ABCD'],
    [{ version: 2 }, 'version: version must be 1'],
    [{ tiers: { low: { max_duration: '0m' } } }, 'tiers.low.max_duration: "0m" is no time at all'],
    [{ resources: { sandbox: { roles: [] } } }, 'resources.sandbox.roles: list at least one role'],
  ])('refuses a wrong value: %j', (changes, expected) => {
    const problems = problemsOf(stringify(aPolicyInput(changes as never)));
    expect(problems.some((p) => p.includes(expected)), problems.join('\n')).toBe(true);
  });

  it('loads a policy with 10,000 resources in reasonable time', () => {
    const input = aPolicyInput();
    for (let i = 0; i < 10_000; i++) {
      (input.resources as Record<string, unknown>)[`svc-${i}`] = { tier: i % 2 ? 'low' : 'high', roles: ['read', 'write'], provider: { type: 'noop' } };
    }
    const text = stringify(input);
    const started = performance.now();
    const result = parsePolicy(text, 'big.yaml');
    expect(result.ok).toBe(true);
    expect(Object.keys(result.value?.policy.resources ?? {})).toHaveLength(10_004);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('reports a problem deep in a 10,000-resource policy at the right line', () => {
    const input = aPolicyInput();
    for (let i = 0; i < 10_000; i++) (input.resources as Record<string, unknown>)[`svc-${i}`] = { tier: 'low', roles: ['read'], provider: { type: 'noop' } };
    (input.resources as Record<string, { tier: string }>)['svc-9999'] = { tier: 'nope', roles: ['read'], provider: { type: 'noop' } } as never;
    const text = stringify(input);
    const line = text.split('\n').findIndex((l) => l.includes('tier: nope')) + 1;
    expect(problemsOf(text)).toEqual([`p.yaml:${line}:11 resources.svc-9999.tier: unknown tier "nope"; tiers are "low", "medium", "high"`]);
  });

  it('survives an alias bomb', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    const problems = problemsOf(lines.join('\n'));
    expect(problems[0]).toMatch(/^p\.yaml:1:1 YAML: /);
  });
});
