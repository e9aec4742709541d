// `sesame policy replay`: hundreds of requests made through the real service, re-decided under another policy, read-only.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyReplay } from '../../src/cli/policy-replay.ts';
import { PEOPLE, sqliteAccessHarness, type SqliteHarness } from '../support/access-harness.ts';
import { captureIo } from '../support/capture-io.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aLoadedPolicy, aPolicyInput } from '../support/policy-fixtures.ts';
import { userBlocksOf } from '../support/user-blocks.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('sesame policy replay', () => {
  let h: SqliteHarness;
  let samePolicy: string;
  let newPolicy: string;
  let made = 0;
  const later = () => new Date(h.clock.now().getTime() + HOUR);

  beforeAll(async () => {
    h = await sqliteAccessHarness();
    // Monday from 10:00 Berlin, one request a minute: all inside business hours.
    for (let i = 0; i < 300; i++) {
      const ask = [
        { requester: PEOPLE.engineer, resource: 'staging-db', role: 'read', duration: HOUR, reason: 'checking data' },
        { requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking around' },
        { requester: PEOPLE.engineer2, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-42 look' },
        { requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'DB-1 fix' },
        { requester: PEOPLE.outsider, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'curious' },
        { requester: PEOPLE.oncall, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-42 look' },
      ][i % 6];
      await h.service.request(ask as NonNullable<typeof ask>);
      if (i % 25 === 0) {
        await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: 3 * HOUR, reason: 'INC-42 down', breakglass: true, channelId: 'C0INC42' });
        made++;
      }
      made++;
      h.clock.advance(MINUTE);
    }
    samePolicy = join(h.temp.dir, 'same.yaml');
    writeFileSync(samePolicy, stringify(aPolicyInput()));
    newPolicy = join(h.temp.dir, 'new.yaml');
    writeFileSync(
      newPolicy,
      stringify(aPolicyInput({ resources: { 'prod-db': { eligible: ['oncall'] }, sandbox: { tier: 'medium' } }, tiers: { high: { auto_approve: 'always' } } })),
    );
  });
  afterAll(() => h.cleanup());

  const replay = async (args: string[], now = later()) => {
    const captured = captureIo();
    const code = await policyReplay(args, captured.io, h.temp.path, now);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('made the history through the service: requests, refusals and break-glass', () => {
    const count = (sql: string) => (h.temp.db.$client.prepare(sql).get() as { n: number }).n;
    expect(count('SELECT count(*) AS n FROM requests') + count("SELECT count(*) AS n FROM audit_log WHERE action = 'request.refused'")).toBe(made);
    expect(count('SELECT count(*) AS n FROM requests WHERE breakglass = 1')).toBe(12);
  });

  it('records in the audit what replay needs: the requester\'s groups and the break-glass channel\'s name', () => {
    const details = (action: string, where = '') =>
      JSON.parse((h.temp.db.$client.prepare(`SELECT details FROM audit_log WHERE action = ? ${where} ORDER BY id LIMIT 1`).get(action) as { details: string }).details) as Record<string, unknown>;
    const glass = h.temp.db.$client.prepare("SELECT request_id FROM audit_log WHERE action = 'breakglass.used' LIMIT 1").get() as { request_id: string };
    expect(details('request.created', `AND request_id = '${glass.request_id}'`)).toMatchObject({ groups: ['engineering', 'oncall'], channel_name: 'inc-42-db-down', capped_from_ms: 3 * HOUR });
    expect(details('request.refused')).toMatchObject({ resource: 'prod-db', role: 'read', code: 'not_eligible', groups: [], reason: 'curious', duration_ms: HOUR });
  });

  it('changes nothing under the policy that made the decisions, even after group membership changed', async () => {
    h.directory.usergroups.S0ENG = [];
    const out = await replay([samePolicy, '--fail-on-change']);
    expect(out.stdout).toBe(`${made} requests replayed: ${made} unchanged, 0 now need approval, 0 now refused, 0 now auto-approved\n`);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
  });

  it('shows each changed request and the summary, exiting 1 with --fail-on-change', async () => {
    const out = await replay([newPolicy, '--fail-on-change']);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${made} requests replayed: ${made - 150} unchanged, 50 now need approval, 50 now refused, 50 now auto-approved`);
    expect(lines[0]).toMatch(/^REQUEST +AT +USER +RESOURCE +ROLE +BEFORE +AFTER$/);
    expect(lines.filter((l) => /^R\d+ /.test(l))).toHaveLength(150);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^R\\d+ +2026-11-23T\\S+Z +${PEOPLE.engineer2} +prod-db +read +needs-approval \\(medium\\) +refuse: not_eligible$`)));
    expect(lines).toContainEqual(expect.stringMatching(/ sandbox +admin +auto-approve \(low\) +needs-approval \(medium\)$/));
    expect(out.code).toBe(1);
    expect((await replay([newPolicy])).code).toBe(0);
  });

  it('writes one JSON line per changed request with --format jsonl, the summary apart', async () => {
    const out = await replay([newPolicy, '--format', 'jsonl']);
    const rows = out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(150);
    expect(rows).toContainEqual({
      request_id: expect.stringMatching(/^R\d+$/),
      at: expect.stringMatching(/^2026-11-23T/),
      user: PEOPLE.oncall,
      resource: 'prod-db',
      role: 'write',
      before: { decision: 'needs-approval', tier: 'high' },
      after: { decision: 'auto-approve', tier: 'high', error: null },
    });
    expect(out.stderr).toMatch(/^\d+ requests replayed: /);
  });

  it('replays only the period asked for', async () => {
    const out = await replay([samePolicy, '--since', '2026-11-23T11:00:00Z', '--until', '2026-11-23T12:00:00Z']);
    // One a minute from 09:00Z: 60 in that hour, plus the break-glass ones made at minutes 125, 150 and 175.
    expect(out.stdout).toBe('63 requests replayed: 63 unchanged, 0 now need approval, 0 now refused, 0 now auto-approved\n');
    // The hour before 10:00Z: minutes 0–59, plus break-glass at minutes 0, 25 and 50.
    expect((await replay([samePolicy, '--since', '1h'], new Date('2026-11-23T10:00:00Z'))).stdout).toMatch(/^63 requests replayed/);
  });

  it('never writes to the database', async () => {
    h.temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    const fingerprint = () => [h.temp.path, `${h.temp.path}-wal`].filter(existsSync).map((f) => createHash('sha256').update(readFileSync(f)).digest('hex')).join();
    const before = fingerprint();
    await replay([newPolicy]);
    expect(fingerprint()).toBe(before);
  });

  it('refuses a bad command line with exit 2 and an invalid policy with exit 1', async () => {
    expect((await replay([])).code).toBe(2);
    expect((await replay([newPolicy, '--format', 'csv'])).stderr).toMatch(/^--format must be table or jsonl, not "csv"\./);
    expect((await replay([newPolicy, '--since', 'yesterday'])).stderr).toMatch(/^--since "yesterday" is neither a duration like 30d nor a date/);
    const broken = join(h.temp.dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\n');
    const out = await replay([broken]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${broken} is not a valid policy`);
  });

  it('says when there is no database to replay', async () => {
    const captured = captureIo();
    expect(await policyReplay([samePolicy], captured.io, join(h.temp.dir, 'missing.db'))).toBe(1);
    expect(captured.stderr()).toMatch(/^There is no Sesame database at .*missing\.db; set DATABASE_PATH/);
  });
});

describe('sesame policy replay over entries from before groups were recorded', () => {
  it("uses today's fixed group lists for them, and says so", async () => {
    const h = await sqliteAccessHarness();
    try {
      // An entry as Sesame wrote it before replay existed: no groups, no reason, no duration.
      await h.store.audit(h.clock.now(), { actor: PEOPLE.lead1, action: 'request.refused', details: { resource: 'prod-db', role: 'read', code: 'not_eligible', rule: 'resources.prod-db.eligible: …', breakglass: false } });
      const policy = join(h.temp.dir, 'leads.yaml');
      writeFileSync(policy, stringify(aPolicyInput({ resources: { 'prod-db': { eligible: ['sre-leads'] } } })));
      const captured = captureIo();
      expect(await policyReplay([policy, '--format', 'jsonl'], captured.io, h.temp.path, new Date(h.clock.now().getTime() + HOUR))).toBe(0);
      expect(JSON.parse(captured.stdout())).toMatchObject({ request_id: null, user: PEOPLE.lead1, before: { decision: 'refuse', tier: null }, after: { decision: 'needs-approval', tier: 'medium', error: null } });
      expect(captured.stderr()).toBe(
        "1 request replayed: 0 unchanged, 1 now need approval, 0 now refused, 0 now auto-approved\nnote: 1 decision(s) predate the audit recording groups; they were replayed with today's fixed group lists (Slack user groups not looked up; set SLACK_BOT_TOKEN to include them).\n",
      );
    } finally {
      await h.cleanup();
    }
  });

  it("asks Slack for today's user groups when it has a bot token", async () => {
    const h = await sqliteAccessHarness();
    const slack = new FakeSlack();
    await slack.start();
    try {
      slack.usergroups.set('S0ONCALL', [PEOPLE.engineer]);
      await h.store.audit(h.clock.now(), { actor: PEOPLE.engineer, action: 'request.refused', details: { resource: 'prod-db', role: 'write', code: 'not_eligible', breakglass: false } });
      const policy = join(h.temp.dir, 'oncall.yaml');
      writeFileSync(policy, stringify(aPolicyInput({ resources: { 'prod-db': { eligible: ['oncall'] } } })));
      const run = async (botToken: string | undefined) => {
        const captured = captureIo();
        const code = await policyReplay([policy, '--format', 'jsonl'], captured.io, h.temp.path, new Date(h.clock.now().getTime() + HOUR), { botToken, apiUrl: slack.apiUrl });
        return { code, stdout: captured.stdout(), stderr: captured.stderr() };
      };
      const withSlack = await run('xoxb-replay');
      expect(withSlack.code).toBe(0);
      expect(JSON.parse(withSlack.stdout)).toMatchObject({ user: PEOPLE.engineer, before: { decision: 'refuse' }, after: { decision: 'needs-approval', tier: 'high' } });
      expect(withSlack.stderr).toContain("they were replayed with today's groups, Slack user groups included.");
      expect(slack.callsTo('usergroups.users.list')).toContainEqual(expect.objectContaining({ usergroup: 'S0ONCALL' }));
      expect((await run(undefined)).stdout).toBe('');
      slack.failNext('auth.test', { error: 'invalid_auth' });
      const refused = await run('xoxb-replay');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^Could not ask Slack for today's user groups \(.*invalid_auth.*\); check SLACK_BOT_TOKEN and SLACK_API_URL/);
    } finally {
      await slack.stop();
      await h.cleanup();
    }
  });
});

describe('sesame policy replay of what groups alone do not decide', () => {
  it('re-decides guests, blocked people, windows that start later and role-less refusals as they were decided', async () => {
    const h = await sqliteAccessHarness(aLoadedPolicy({ bundles: { kit: ['sandbox:admin', 'staging-db:read'] } }));
    try {
      h.directory.standings.set(PEOPLE.engineer2, 'guest');
      expect((await h.service.request({ requester: PEOPLE.engineer2, resource: 'sandbox', duration: HOUR, reason: 'x' })).error?.code).toBe('outsider_refused');
      expect((await userBlocksOf(h).revokeAll(PEOPLE.engineer, PEOPLE.security, 'lost laptop')).ok).toBe(true);
      expect((await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'x' })).error?.code).toBe('user_blocked');
      h.clock.advance(10 * HOUR); // 20:00 in Berlin: a window starting tomorrow at 10:00 is judged in business hours
      const window = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-1 look', startsAt: h.clock.now().getTime() + 14 * HOUR });
      expect(window.value?.kind).toBe('scheduled');
      expect((await h.service.request({ requester: PEOPLE.oncall, resource: 'kit', duration: HOUR, reason: 'INC-2' })).value?.kind).toBe('granted');
      h.scheduler.isAvailable = false;
      expect((await h.service.request({ requester: PEOPLE.oncall, resource: 'sandbox', duration: HOUR, reason: 'x' })).error?.code).toBe('scheduler_unavailable');

      const refusal = (code: string) =>
        JSON.parse((h.temp.db.$client.prepare("SELECT details FROM audit_log WHERE action = 'request.refused' AND details LIKE ?").get(`%"${code}"%`) as { details: string }).details) as Record<string, unknown>;
      expect(refusal('outsider_refused')).toMatchObject({ standing: 'guest', role: null });
      expect(refusal('user_blocked')).toMatchObject({ blocked: true });

      const replayUnder = async (input: ReturnType<typeof aPolicyInput>) => {
        const file = join(h.temp.dir, 'policy.yaml');
        writeFileSync(file, stringify(input));
        const captured = captureIo();
        expect(await policyReplay([file, '--format', 'jsonl'], captured.io, h.temp.path, new Date(h.clock.now().getTime() + HOUR))).toBe(0);
        return { changes: captured.stdout().trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), summary: captured.stderr() };
      };
      // The scheduler's outage is no verdict of the policy, so that refusal is not replayed.
      expect(await replayUnder(aPolicyInput({ bundles: { kit: ['sandbox:admin', 'staging-db:read'] } }))).toEqual({
        changes: [],
        summary: '4 requests replayed: 4 unchanged, 0 now need approval, 0 now refused, 0 now auto-approved\n',
      });
      const guestsWelcome = await replayUnder(aPolicyInput({ settings: { allow_guests: true }, bundles: { kit: ['sandbox:admin', 'staging-db:read'] } }));
      expect(guestsWelcome.changes).toEqual([expect.objectContaining({ user: PEOPLE.engineer2, resource: 'sandbox', role: null, after: { decision: 'auto-approve', tier: 'low', error: null } })]);
    } finally {
      await h.cleanup();
    }
  });
});

describe('sesame policy replay of break-glass near the start of the period', () => {
  it('counts the grants of the hour before the period towards the rate limit', async () => {
    const h = await sqliteAccessHarness();
    try {
      const glass = () => h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-42 down', breakglass: true, channelId: 'C0INC42' });
      for (let i = 0; i < 3; i++) {
        expect((await glass()).ok).toBe(true);
        h.clock.advance(MINUTE);
      }
      expect((await glass()).error?.code).toBe('breakglass_rate_limited');
      const policy = join(h.temp.dir, 'same.yaml');
      writeFileSync(policy, stringify(aPolicyInput()));
      const captured = captureIo();
      const since = new Date(h.clock.now().getTime() - MINUTE / 2).toISOString();
      expect(await policyReplay([policy, '--since', since, '--fail-on-change'], captured.io, h.temp.path, new Date(h.clock.now().getTime() + HOUR))).toBe(0);
      expect(captured.stdout()).toBe('1 request replayed: 1 unchanged, 0 now need approval, 0 now refused, 0 now auto-approved\n');
    } finally {
      await h.cleanup();
    }
  });
});

describe('sesame policy replay of extensions', () => {
  let h: SqliteHarness;
  let sandbox: string;
  let deployers: string;
  const replayUnder = async (input: ReturnType<typeof aPolicyInput>, harness = h) => {
    const file = join(harness.temp.dir, 'policy.yaml');
    writeFileSync(file, stringify(input));
    const captured = captureIo();
    expect(await policyReplay([file, '--format', 'jsonl'], captured.io, harness.temp.path, new Date(harness.clock.now().getTime() + HOUR))).toBe(0);
    return { changes: captured.stdout().trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), stderr: captured.stderr() };
  };
  const grantOf = (outcome: Awaited<ReturnType<SqliteHarness['service']['request']>>) => {
    if (outcome.value?.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(outcome.error ?? outcome.value?.kind)}`);
    return outcome.value.grant;
  };

  beforeAll(async () => {
    h = await sqliteAccessHarness();
    // sandbox is low (always automatic, at most 8h in all); deployers is medium (automatic for on-call up to 2h, at most 4h in all).
    const box = grantOf(await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 2 * HOUR, reason: 'poking around' }));
    sandbox = `G${box.id}`;
    const extend = async (grantId: number, by: string, duration: number) => {
      h.clock.advance(10 * MINUTE);
      return h.service.extend(grantId, by, duration);
    };
    expect((await extend(box.id, PEOPLE.engineer, 2 * HOUR)).value?.kind).toBe('extended'); // 4h in all
    expect((await extend(box.id, PEOPLE.engineer, 5 * HOUR)).error?.code).toBe('extension_too_long'); // would be 9h
    expect((await extend(box.id, PEOPLE.engineer, 4 * HOUR)).value?.kind).toBe('extended'); // 8h in all
    expect((await extend(box.id, PEOPLE.lead1, HOUR)).error?.code).toBe('not_grant_owner'); // refused before the policy is asked

    const deploy = grantOf(await h.service.request({ requester: PEOPLE.oncall, resource: 'deployers', duration: HOUR, reason: 'release INC-3' }));
    deployers = `G${deploy.id}`;
    const slow = await extend(deploy.id, PEOPLE.oncall, 3 * HOUR); // longer than the 2h automatic, 4h in all
    expect(slow.value?.kind).toBe('pending');
    expect((await h.service.approve(slow.value?.request.id ?? 0, PEOPLE.lead1)).value?.kind).toBe('approved');
    expect((await extend(deploy.id, PEOPLE.oncall, HOUR)).error?.code).toBe('extension_too_long'); // would be 5h
  });
  afterAll(() => h.cleanup());

  it("records in the audit the grant's start and end that each extension was decided on", () => {
    const details = (action: string) =>
      (h.temp.db.$client.prepare('SELECT details FROM audit_log WHERE action = ? AND grant_id = ? ORDER BY id').all(action, sandbox) as { details: string }[]).map((r) => JSON.parse(r.details) as Record<string, unknown>);
    const [activated] = details('grant.activated') as [{ starts_at: string }];
    const start = Date.parse(activated.starts_at);
    const at = (ms: number) => new Date(start + ms).toISOString();
    expect(details('request.created')).toMatchObject([
      { extends: sandbox, duration_ms: 2 * HOUR, grant_starts_at: at(0), grant_expires_at: at(2 * HOUR), groups: ['engineering'] },
      { extends: sandbox, duration_ms: 4 * HOUR, grant_starts_at: at(0), grant_expires_at: at(4 * HOUR) },
    ]);
    expect(details('grant.extend_refused')).toMatchObject([
      { code: 'extension_too_long', resource: 'sandbox', role: 'admin', duration_ms: 5 * HOUR, grant_starts_at: at(0), grant_expires_at: at(4 * HOUR), groups: ['engineering'] },
      { code: 'not_grant_owner', state: 'active' },
    ]);
  });

  it('changes nothing under the policy that decided them, refused extensions included', async () => {
    // Two requests, three granted extensions and two the policy refused; the refusal for not owning the grant is no verdict of the policy.
    expect(await replayUnder(aPolicyInput())).toEqual({ changes: [], stderr: '7 requests replayed: 7 unchanged, 0 now need approval, 0 now refused, 0 now auto-approved\n' });
  });

  it("refuses an extension that a tighter max_duration would not let the grant reach, though the extra time alone fits", async () => {
    const out = await replayUnder(aPolicyInput({ tiers: { low: { max_duration: '5h' } } }));
    expect(out.changes).toEqual([
      {
        request_id: expect.stringMatching(/^R\d+$/),
        at: expect.any(String),
        user: PEOPLE.engineer,
        resource: 'sandbox',
        role: 'admin',
        extends: sandbox,
        before: { decision: 'auto-approve', tier: 'low' },
        after: { decision: 'refuse', tier: 'low', error: 'extension_too_long' },
      },
    ]);
    expect(out.stderr).toBe('7 requests replayed: 6 unchanged, 0 now need approval, 1 now refused, 0 now auto-approved\n');
  });

  it('grants a refused extension that a looser max_duration lets through', async () => {
    const out = await replayUnder(aPolicyInput({ tiers: { low: { max_duration: '12h' }, medium: { max_duration: '6h' } } }));
    expect(out.changes).toEqual([
      expect.objectContaining({ request_id: null, resource: 'sandbox', extends: sandbox, before: { decision: 'refuse', tier: null }, after: { decision: 'auto-approve', tier: 'low', error: null } }),
      expect.objectContaining({ request_id: null, resource: 'deployers', extends: deployers, before: { decision: 'refuse', tier: null }, after: { decision: 'auto-approve', tier: 'medium', error: null } }),
    ]);
  });

  it('shows an extension in the table with the grant it extends', async () => {
    const file = join(h.temp.dir, 'tight.yaml');
    writeFileSync(file, stringify(aPolicyInput({ tiers: { low: { max_duration: '5h' } } })));
    const captured = captureIo();
    expect(await policyReplay([file], captured.io, h.temp.path, new Date(h.clock.now().getTime() + HOUR))).toBe(0);
    expect(captured.stdout().split('\n')[1]).toMatch(new RegExp(`^R\\d+ \\(extends ${sandbox}\\) +\\S+ +${PEOPLE.engineer} +sandbox +admin +auto-approve \\(low\\) +refuse: extension_too_long$`));
  });
});

describe('sesame policy replay of extensions audited before their grant\'s span was recorded', () => {
  it("finds the grant's start and end from its own entries before the extension, and says when the log has none", async () => {
    const h = await sqliteAccessHarness();
    try {
      const first = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: 2 * HOUR, reason: 'poking around' });
      const grant = first.value?.kind === 'granted' ? first.value.grant : null;
      if (!grant) throw new Error('expected a grant');
      expect((await h.service.extend(grant.id, PEOPLE.engineer, 2 * HOUR)).value?.kind).toBe('extended'); // 4h in all
      // Refused extensions as Sesame audited them before it recorded the grant's start and end: 4h + 5h is over 8h.
      const legacy = { resource: 'sandbox', role: 'admin', code: 'extension_too_long', breakglass: false, duration_ms: 5 * HOUR, reason: 'poking around', groups: ['engineering'] };
      await h.store.audit(h.clock.now(), { actor: PEOPLE.engineer, action: 'grant.extend_refused', requestId: `R${grant.requestId}`, grantId: `G${grant.id}`, details: legacy });
      await h.store.audit(h.clock.now(), { actor: PEOPLE.engineer, action: 'grant.extend_refused', requestId: null, grantId: 'G999', details: { ...legacy, duration_ms: HOUR } });

      const file = join(h.temp.dir, 'same.yaml');
      writeFileSync(file, stringify(aPolicyInput()));
      const captured = captureIo();
      expect(await policyReplay([file, '--format', 'jsonl'], captured.io, h.temp.path, new Date(h.clock.now().getTime() + HOUR))).toBe(0);
      // Only the extension of a grant the log never activated changes: without its span it is judged on the extra hour alone.
      expect(captured.stdout().trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
        expect.objectContaining({ request_id: null, extends: 'G999', before: { decision: 'refuse', tier: null }, after: { decision: 'auto-approve', tier: 'low', error: null } }),
      ]);
      expect(captured.stderr()).toBe(
        "4 requests replayed: 3 unchanged, 0 now need approval, 0 now refused, 1 now auto-approved\nnote: 1 extension(s) extend a grant whose start and end the audit log does not show; they were replayed without the limit on the grant's total length (the tier's max_duration).\n",
      );
    } finally {
      await h.cleanup();
    }
  });
});
