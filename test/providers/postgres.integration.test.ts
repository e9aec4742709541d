// The postgres provider against the real PostgreSQL on 127.0.0.1: ephemeral logins that work, are cut off, and are gone.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import { loginRoleOf, postgresProvider } from '../../src/providers/postgres.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const READER = 'sesame_test_reader';

describe('postgres provider', () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  const config = postgresProvider.schema.parse({ type: 'postgres', connection_env: 'TEST_PG_URL', roles: { read: READER, write: 'sesame_test_no_such_role' } });
  const provider = postgresProvider.create(config, { env: { TEST_PG_URL: ADMIN_URL }, usergroups: noUsergroups });
  const granted: GrantSubject[] = [];
  const grant = async (overrides: Partial<GrantSubject> = {}) => {
    const subject = aSubject({ resource: 'staging-db', ...overrides });
    granted.push(subject);
    const { message } = await provider.grant(subject);
    const url = /psql "([^"]+)"/.exec(message ?? '')?.[1];
    if (!url) throw new Error(`no connection string in ${message}`);
    return { subject, url, message: message ?? '' };
  };
  const roleExists = async (role: string) => ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;
  const connectAs = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${READER}') THEN CREATE ROLE ${READER} NOLOGIN; END IF; END $$`);
    await admin.query('CREATE TABLE IF NOT EXISTS sesame_provider_probe (n int)');
    await admin.query(`GRANT SELECT ON sesame_provider_probe TO ${READER}`);
    await admin.query(`GRANT CREATE ON SCHEMA public TO ${READER}`);
  });
  afterAll(async () => {
    for (const subject of granted) await provider.revoke(subject).catch(() => undefined);
    await provider.close?.();
    await admin.end();
  });

  it('creates a login that works, holds the mapped role and expires with the grant', async () => {
    const expiresAt = new Date(Date.now() + 30 * 60_000);
    const { subject, url, message } = await grant({ expiresAt });
    const login = loginRoleOf(subject);
    expect(message).toContain(`\`${login}\``);
    const session = await connectAs(url);
    try {
      expect((await session.query('SELECT current_user AS me')).rows[0]).toEqual({ me: login });
      expect((await session.query('SELECT count(*)::int AS n FROM sesame_provider_probe')).rows[0]).toEqual({ n: 0 });
    } finally {
      await session.end();
    }
    const { rows } = await admin.query('SELECT rolvaliduntil, rolcanlogin FROM pg_roles WHERE rolname = $1', [login]);
    expect(rows[0]).toEqual({ rolvaliduntil: expiresAt, rolcanlogin: true });
    expect(await provider.check?.(subject)).toBe('present');
  });

  it('cuts a live session at revoke, drops the role and refuses new logins', async () => {
    const { subject, url } = await grant();
    const live = await connectAs(url);
    await live.query('CREATE TABLE sesame_made_by_grant (n int)'); // objects the login made must not block the drop
    await provider.revoke(subject);

    await expect(live.query('SELECT 1')).rejects.toThrow();
    await live.end().catch(() => undefined);
    await expect(connectAs(url)).rejects.toThrow(/role .* does not exist/);
    expect(await roleExists(loginRoleOf(subject))).toBe(false);
    expect(await provider.check?.(subject)).toBe('absent');
    await admin.query('DROP TABLE sesame_made_by_grant');
  });

  it('treats a role a human already dropped as revoked', async () => {
    const { subject } = await grant();
    await admin.query(`DROP ROLE ${loginRoleOf(subject)}`);
    await expect(provider.revoke(subject)).resolves.toBeUndefined();
    expect(await provider.check?.(subject)).toBe('absent');
  });

  it('moves VALID UNTIL when the grant is extended', async () => {
    const { subject } = await grant();
    const later = new Date(Date.now() + 3 * 60 * 60_000);
    await provider.extend?.({ ...subject, expiresAt: later });
    const { rows } = await admin.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [loginRoleOf(subject)]);
    expect(rows[0]?.rolvaliduntil).toEqual(later);
  });

  it('fails permanently when the mapped database role does not exist, leaving no login behind', async () => {
    const subject = aSubject({ role: 'write' });
    const failure = await provider.grant(subject).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ retryable: false, message: 'the database role sesame_test_no_such_role (mapped from "write") does not exist; create it or fix provider.roles' });
    expect(await roleExists(loginRoleOf(subject))).toBe(false);
  });

  it('fails retryably when PostgreSQL cannot be reached, naming the variable', async () => {
    const unreachable = postgresProvider.create(config, { env: { TEST_PG_URL: 'postgres://postgres@127.0.0.1:9/test' }, usergroups: noUsergroups });
    const failure = await unreachable.grant(aSubject()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/^could not connect to PostgreSQL \(TEST_PG_URL\) to create sesame_g\d+: .*ECONNREFUSED/) });
    await unreachable.close?.();
  });

  it('refuses, permanently, to take over a login of the same name that it did not just create', async () => {
    const { subject } = await grant();
    const failure = await provider.grant(subject).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: false, message: `a database role ${loginRoleOf(subject)} already exists (left by an earlier Sesame database?); drop it and request again` });
  });
});
