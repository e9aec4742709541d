// `sesame doctor` against real services: its own Redis servers, the shared PostgreSQL, the fake Slack, a webhook receiver.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { renderFinding, type Finding } from '../../src/doctor/finding.ts';
import { runDoctor } from '../../src/doctor/run-doctor.ts';
import { openDatabase } from '../../src/store/db.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { OwnRedis } from '../support/own-redis.ts';
import { sesame } from '../support/run-cli.ts';
import { freePort as closedPort } from '../support/sesame-process.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/test';
const HOOK_SECRET = 'doctor-hook-secret';
const suffix = randomBytes(4).toString('hex');
const roles = { admin: `sesame_doc_admin_${suffix}`, weak: `sesame_doc_weak_${suffix}`, readonly: `sesame_doc_ro_${suffix}`, missing: `sesame_doc_missing_${suffix}`, keeper: `sesame_doc_keeper_${suffix}` };

const policyYaml = (hookUrl: string, mapped: { read: string; write: string }) => `version: 1
settings:
  approvals_channel: C0APPROVALS
  audit_channel: C0AUDIT
groups:
  leads: { users: [U0LEAD1] }
tiers:
  low: { auto_approve: always, max_duration: 8h }
resources:
  staging-db:
    tier: low
    roles: [read, write]
    provider: { type: postgres, connection_env: DOCTOR_PG_URL, roles: { read: ${mapped.read}, write: ${mapped.write} } }
  prod-db:
    tier: low
    roles: [read]
    approvals_channel: C0DBA
    provider: { type: webhook, url: "${hookUrl}", secret_env: DOCTOR_HOOK_SECRET, check: true }
  deployers:
    tier: low
    roles: [member]
    provider: { type: slack_usergroup, usergroup: S0DEPLOY }
`;

const lines = (findings: Finding[]) => findings.map(renderFinding);
const failures = (findings: Finding[]) => findings.filter((f) => f.status === 'failed').map((f) => f.what);

describe('sesame doctor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-doctor-'));
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  const slack = new FakeSlack();
  const receiver = new WebhookReceiver(HOOK_SECRET);
  const healthyRedis = new OwnRedis('noeviction', ['--appendonly', 'yes', '--dir', dir]);
  let env: Record<string, string>;

  beforeAll(async () => {
    await Promise.all([slack.start(), receiver.start(), healthyRedis.start(), admin.connect()]);
    await admin.query(`CREATE ROLE ${roles.admin} LOGIN CREATEROLE`);
    await admin.query(`CREATE ROLE ${roles.weak} LOGIN`);
    await admin.query(`CREATE ROLE ${roles.readonly} NOLOGIN`);
    await admin.query(`CREATE ROLE ${roles.keeper} NOLOGIN`);
    slack.channels.set('C0APPROVALS', { name: 'approvals' });
    slack.channels.set('C0AUDIT', { name: 'audit' });
    slack.channels.set('C0DBA', { name: 'dba' });
    slack.usergroups.set('S0DEPLOY', []);
    const database = join(dir, 'sesame.db');
    openDatabase(database).$client.close();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, policyYaml(receiver.url, { read: roles.readonly, write: roles.readonly }));
    env = {
      SLACK_BOT_TOKEN: 'xoxb-doctor',
      SLACK_SIGNING_SECRET: 'doctor-signing-secret',
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: healthyRedis.url,
      DATABASE_PATH: database,
      POLICY_PATH: policy,
      DOCTOR_PG_URL: `postgres://${roles.admin}@127.0.0.1:5432/test`,
      DOCTOR_HOOK_SECRET: HOOK_SECRET,
    };
  });

  afterAll(async () => {
    for (const role of [roles.admin, roles.weak, roles.readonly, roles.keeper]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
    await Promise.all([slack.stop(), receiver.stop(), healthyRedis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const configWith = (changes: Record<string, string | undefined> = {}): Config => {
    const config = loadConfig({ ...env, ...changes });
    if (!config.ok) throw new Error(config.error.join('\n'));
    return config.value;
  };

  it('passes every check of a healthy set-up, one ✓ line each, and the command exits 0', async () => {
    const findings = await runDoctor(configWith());
    expect(failures(findings)).toEqual([]);
    expect(lines(findings)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^✓ Slack accepts SLACK_BOT_TOKEN/),
        '✓ settings.approvals_channel: #approvals (C0APPROVALS) exists and Sesame is in it',
        '✓ resources.prod-db.approvals_channel: #dba (C0DBA) exists and Sesame is in it',
        `✓ Redis at ${healthyRedis.url} answers`,
        '✓ Redis maxmemory-policy is noeviction',
        expect.stringMatching(/^✓ Redis persists its data \(appendonly/),
        expect.stringMatching(/^✓ .*sesame\.db is writable and migrated/),
        `✓ staging-db (postgres): connects to PostgreSQL as ${roles.admin}, which has CREATEROLE`,
        `✓ staging-db (postgres): database role ${roles.readonly} (for "read") exists`,
        '✓ prod-db (webhook): the webhook at 127.0.0.1:' + new URL(receiver.url).port + ' answers a signed check',
        '✓ deployers (slack_usergroup): Slack user group S0DEPLOY exists',
      ]),
    );
    expect(receiver.received.at(-1)).toMatchObject({ event: 'check', signatureValid: true });

    const out = await sesame(['doctor'], env);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^✓ the Slack variables Sesame needs are set\n/);
    expect(out.stdout).toMatch(/\nall \d+ checks passed\n$/);
  });

  it('fails a PostgreSQL login without CREATEROLE and a mapped role that does not exist, saying what to do', async () => {
    const policy = join(dir, 'weak-policy.yaml');
    writeFileSync(policy, policyYaml(receiver.url, { read: roles.readonly, write: roles.missing }));
    const findings = await runDoctor(configWith({ POLICY_PATH: policy, DOCTOR_PG_URL: `postgres://${roles.weak}@127.0.0.1:5432/test` }));
    expect(lines(findings.filter((f) => f.status === 'failed'))).toEqual([
      `✗ staging-db (postgres): connects to PostgreSQL as ${roles.weak}, which lacks CREATEROLE, so no grant can create its login — as a superuser: ALTER ROLE "${roles.weak}" CREATEROLE`,
      `✗ staging-db (postgres): database role ${roles.missing} (for "write") does not exist, so every grant of "write" fails — create it (CREATE ROLE "${roles.missing}" NOLOGIN, with its privileges) or fix provider.roles`,
    ]);

    const out = await sesame(['doctor'], { ...env, POLICY_PATH: policy, DOCTOR_PG_URL: `postgres://${roles.weak}@127.0.0.1:5432/test` });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/\n2 of \d+ checks failed\n$/);
  });

  it('refuses a reassign_owned_to role that could lift a grantee to more power, as the grant itself would', async () => {
    const policy = join(dir, 'reassign-policy.yaml');
    const unsafe = policyYaml(receiver.url, { read: roles.readonly, write: roles.readonly }).replace('roles: { read:', `reassign_owned_to: ${roles.admin}, roles: { read:`);
    writeFileSync(policy, unsafe);
    const findings = await runDoctor(configWith({ POLICY_PATH: policy }));
    expect(lines(findings.filter((f) => f.status === 'failed'))).toEqual([
      `✗ staging-db (postgres): reassign_owned_to ${roles.admin} cannot be used: the role ${roles.admin} has CREATEROLE — name a role with no special attributes that owns nothing sensitive, or remove reassign_owned_to so objects are dropped`,
    ]);
    writeFileSync(policy, unsafe.replace(`reassign_owned_to: ${roles.admin}`, `reassign_owned_to: ${roles.keeper}`));
    const safe = await runDoctor(configWith({ POLICY_PATH: policy }));
    expect(lines(safe)).toContain(`✓ staging-db (postgres): reassign_owned_to ${roles.keeper} holds no superuser, CREATEROLE or BYPASSRLS power`);
  });

  it('fails a channel Slack does not know, one Sesame is not in, a missing user group and an unreachable webhook', async () => {
    slack.channels.set('C0AUDIT', { name: 'audit', is_member: false });
    slack.channels.delete('C0DBA');
    slack.usergroups.delete('S0DEPLOY');
    const policy = join(dir, 'broken-slack-policy.yaml');
    const closed = await closedPort();
    writeFileSync(policy, policyYaml(`http://127.0.0.1:${closed}/hook`, { read: roles.readonly, write: roles.readonly }));
    try {
      const findings = await runDoctor(configWith({ POLICY_PATH: policy }));
      expect(lines(findings.filter((f) => f.status === 'failed'))).toEqual([
        '✗ settings.audit_channel: #audit (C0AUDIT) exists but Sesame is not in it, so it cannot post there — invite it: /invite @Sesame in #audit',
        '✗ resources.prod-db.approvals_channel: Slack does not know channel C0DBA — fix the ID in the policy, or invite Sesame to it (a private channel is invisible until then)',
        expect.stringMatching(new RegExp(`^✗ prod-db \\(webhook\\): the webhook at 127\\.0\\.0\\.1:${closed} cannot be reached \\(ECONNREFUSED\\) — check provider\\.url`)),
        '✗ deployers (slack_usergroup): Slack user group S0DEPLOY does not exist in this workspace — fix provider.usergroup (the ID in the group\'s link, S…)',
      ]);
    } finally {
      slack.channels.set('C0AUDIT', { name: 'audit' });
      slack.channels.set('C0DBA', { name: 'dba' });
      slack.usergroups.set('S0DEPLOY', []);
    }
  });

  it('without check: true, only asks whether the webhook answers HTTP, unsigned and without a body', async () => {
    const policy = join(dir, 'unchecked-policy.yaml');
    writeFileSync(policy, policyYaml(receiver.url, { read: roles.readonly, write: roles.readonly }).replace('check: true', 'check: false'));
    const seen = receiver.received.length;
    const findings = await runDoctor(configWith({ POLICY_PATH: policy }));
    expect(lines(findings)).toContain(`✓ prod-db (webhook): the webhook at 127.0.0.1:${new URL(receiver.url).port} answers (HTTP 401 to HEAD)`);
    expect(receiver.received.slice(seen)).toEqual([expect.objectContaining({ event: '', signatureValid: false, payload: null, raw: '' })]);
  });

  it('says a refused token once, instead of failing every channel for the same reason', async () => {
    slack.failNext('auth.test', { error: 'invalid_auth' });
    const findings = await runDoctor(configWith());
    const slackLines = lines(findings).filter((l) => /Slack|channel/.test(l));
    expect(slackLines).toEqual([
      '✓ the Slack variables Sesame needs are set',
      '✗ Slack refused SLACK_BOT_TOKEN (invalid_auth) — copy the Bot User OAuth Token again from your Slack app → OAuth & Permissions',
      '✓ deployers (slack_usergroup): Slack user group S0DEPLOY exists',
    ]);
  });

  it('fails a Redis that may evict jobs or keeps them only in memory, and cannot tell when CONFIG is refused', async () => {
    const evicting = await new OwnRedis('allkeys-lru').start();
    const locked = await new OwnRedis('noeviction', ['--rename-command', 'CONFIG', '']).start();
    try {
      const redisLines = async (url: string) => lines(await runDoctor(configWith({ REDIS_URL: url }))).filter((l) => l.includes('Redis'));
      expect(await redisLines(evicting.url)).toEqual([
        `✓ Redis at ${evicting.url} answers`,
        '✗ Redis maxmemory-policy is "allkeys-lru", so under memory pressure it may drop revocation jobs — set maxmemory-policy noeviction (redis.conf, or CONFIG SET)',
        '✗ Redis keeps its data only in memory, so a restart loses every scheduled revocation until the reconciler runs — set appendonly yes (or a save schedule)',
      ]);
      const [reachable, unknown] = await redisLines(locked.url);
      expect(reachable).toBe(`✓ Redis at ${locked.url} answers`);
      expect(unknown).toMatch(/^\? cannot tell Redis's maxmemory-policy and persistence: it refused CONFIG GET/);
      await evicting.stop();
      expect(await redisLines(evicting.url)).toEqual([expect.stringMatching(new RegExp(`^✗ Redis at ${evicting.url} does not answer \\(.*\\) — start Redis, or point REDIS_URL at it$`))]);
    } finally {
      await Promise.all([evicting.stop(), locked.stop()]);
    }
  });

  it('fails a Slack variable that is not set, saying where to copy it from, and the command exits 1', async () => {
    const { SLACK_SIGNING_SECRET: _unset, ...withoutSecret } = env;
    const findings = await runDoctor(configWith({ SLACK_SIGNING_SECRET: undefined }));
    expect(lines(findings)[0]).toBe('✗ SLACK_SIGNING_SECRET is not set; copy it from your Slack app → Basic Information (or set SLACK_APP_TOKEN to use Socket Mode)');
    expect(failures(findings)).toHaveLength(1);
    const out = await sesame(['doctor'], withoutSecret);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^✗ SLACK_SIGNING_SECRET is not set/);
  });

  it('fails a database it cannot write, here because another program holds it locked', async () => {
    const locker = new Database(env.DATABASE_PATH ?? '');
    locker.exec('BEGIN EXCLUSIVE');
    try {
      const dbLine = lines(await runDoctor(configWith())).find((l) => l.includes(env.DATABASE_PATH ?? ''));
      expect(dbLine).toBe(`✗ ${env.DATABASE_PATH} cannot be written (database is locked) — check the disk and the file, then try again`);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
  });

  it('fails a database that lacks migrations, and accepts one not yet created', async () => {
    const stale = join(dir, 'stale.db');
    const db = openDatabase(stale);
    db.$client.exec('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)');
    db.$client.close();
    const dbLine = async (path: string) => lines(await runDoctor(configWith({ DATABASE_PATH: path }))).find((l) => l.includes(path));
    expect(await dbLine(stale)).toMatch(new RegExp(`^✗ ${stale} lacks 1 of \\d+ migrations — run \`sesame migrate\``));
    expect(await dbLine(join(dir, 'new', 'fresh.db'))).toBe(`✓ ${join(dir, 'new', 'fresh.db')} does not exist yet; \`sesame start\` (or \`sesame migrate\`) creates it`);
  });
});
