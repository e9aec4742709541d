// The postgres provider against the real PostgreSQL on 127.0.0.1, connected as a least-privilege (CREATEROLE, not
// superuser) role: ephemeral logins that work, are cut off first, leave nothing behind and never hand Sesame power.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantSubject, Provider } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import { loginRoleOf, postgresProvider } from '../../src/providers/postgres.ts';
import { unsafeReassignTarget } from '../../src/providers/postgres-roles.ts';
import { scramSha256Verifier } from '../../src/providers/postgres-scram.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { PgSandbox } from '../support/pg-sandbox.ts';

describe('postgres provider', () => {
  const box = new PgSandbox();
  const configOf = (extra: Record<string, unknown> = {}) =>
    postgresProvider.schema.parse({ type: 'postgres', connection_env: 'TEST_PG_URL', roles: { read: box.reader, write: 'sesame_test_no_such_role' }, ...extra });
  const providers: Provider[] = [];
  const providerFor = (extra: Record<string, unknown> = {}, url = box.sesameUrl): Provider => {
    const created = postgresProvider.create(configOf(extra), { env: { TEST_PG_URL: url }, usergroups: noUsergroups });
    providers.push(created);
    return created;
  };
  let provider: Provider;
  const granted: { provider: Provider; subject: GrantSubject }[] = [];
  const grant = async (overrides: Partial<GrantSubject> = {}, via: Provider = provider) => {
    const subject = aSubject({ resource: 'staging-db', ...overrides });
    granted.push({ provider: via, subject });
    const { message } = await via.grant(subject);
    const url = /psql "([^"]+)"/.exec(message ?? '')?.[1];
    if (!url) throw new Error(`no connection string in ${message}`);
    return { subject, url, login: loginRoleOf(subject), message: message ?? '' };
  };
  const connectAs = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  const inDb = (url: string, database: string) => {
    const target = new URL(url);
    target.pathname = `/${database}`;
    return target.toString();
  };
  /** Objects in the current database of `client` that `role` owns (by pg_shdepend, so every kind counts). */
  const ownedBy = async (client: pg.Client, role: string) =>
    (
      await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_shdepend WHERE deptype = 'o' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)",
        [role],
      )
    ).rows[0]?.n;

  beforeAll(async () => {
    await box.start();
    provider = providerFor();
  });
  const onCleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of onCleanup) await step();
    for (const { provider: p, subject } of granted) await p.revoke(subject).catch(() => undefined);
    for (const p of providers) await p.close?.();
    await box.stop();
  });

  it('creates a login that works, holds the mapped role and expires with the grant', async () => {
    const expiresAt = new Date(Date.now() + 30 * 60_000);
    const { subject, url, login, message } = await grant({ expiresAt });
    expect(message).toContain(`\`${login}\``);
    const session = await connectAs(url);
    try {
      expect((await session.query('SELECT current_user AS me')).rows[0]).toEqual({ me: login });
      expect((await session.query(`SELECT count(*)::int AS n FROM ${box.probe}`)).rows[0]).toEqual({ n: 0 });
    } finally {
      await session.end();
    }
    const { rows } = await box.admin.query('SELECT rolvaliduntil, rolcanlogin FROM pg_roles WHERE rolname = $1', [login]);
    expect(rows[0]).toEqual({ rolvaliduntil: expiresAt, rolcanlogin: true });
    expect(await provider.check?.(subject)).toBe('present');
  });

  describe('the password', () => {
    it('computes SCRAM-SHA-256 verifiers exactly as PostgreSQL does', async () => {
      // PostgreSQL derives its own verifier from a plaintext here (test-only); ours, with its salt, must be identical.
      const role = await box.role('sesame_scram_probe');
      await box.admin.query("SET password_encryption = 'scram-sha-256'");
      await box.admin.query(`ALTER ROLE ${role} PASSWORD 'correct horse battery staple'`);
      const theirs = (await box.admin.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [role])).rows[0]?.v ?? '';
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(theirs) ?? [];
      expect(scramSha256Verifier('correct horse battery staple', Buffer.from(salt ?? '', 'base64'), Number(iterations))).toBe(theirs);
    });

    it('stores a verifier of the DMed password, and never sends the password itself to the server', async () => {
      // Every byte Sesame sends to PostgreSQL passes this proxy, so a plaintext password in any SQL would show.
      const sent: Buffer[] = [];
      const proxy = await listen(createServer((inbound: Socket) => {
        const upstream = connect(5432, '127.0.0.1');
        inbound.on('data', (chunk: Buffer) => sent.push(chunk));
        inbound.pipe(upstream).pipe(inbound);
        inbound.on('error', () => upstream.destroy());
        upstream.on('error', () => inbound.destroy());
      }));
      try {
        const proxied = providerFor({}, box.sesameUrl.replace(':5432', `:${(proxy.address() as AddressInfo).port}`));
        const { subject, url, login } = await grant({}, proxied);
        await proxied.close?.();
        granted.push({ provider, subject }); // the proxy is gone by the final clean-up
        const password = decodeURIComponent(new URL(url).password);
        const wire = Buffer.concat(sent).toString('latin1');
        expect(wire).toContain(`CREATE ROLE "${login}" LOGIN PASSWORD 'SCRAM-SHA-256$4096:`);
        expect(wire).not.toContain(password);

        const stored = (await box.admin.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [login])).rows[0]?.v ?? '';
        const [, salt] = /^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(stored) ?? [];
        expect(scramSha256Verifier(password, Buffer.from(salt ?? '', 'base64'))).toBe(stored);
      } finally {
        await new Promise((resolve) => proxy.close(resolve));
      }
    });
  });

  it("passes the connection's sslmode on to the requester's psql, and none of Sesame's other options", async () => {
    const strict = providerFor({}, `${box.sesameUrl}?sslmode=disable&application_name=sesame-internal`);
    const { message } = await grant({}, strict);
    expect(message).toMatch(/psql "postgres:\/\/sesame_g\d+:[^@]+@127\.0\.0\.1:5432\/test\?sslmode=disable"/);
  });

  it('cuts a live session at revoke, drops the role and refuses new logins', async () => {
    const { subject, url, login } = await grant();
    const live = await connectAs(url);
    await live.query(`SET ROLE ${box.reader}`); // a session that switched role must not keep it past the revoke
    await live.query('CREATE TABLE sesame_made_by_grant (n int)'); // objects the login made must not block the drop
    await expect(provider.revoke(subject)).resolves.toBeUndefined();

    await expect(live.query('SELECT 1')).rejects.toThrow();
    await live.end().catch(() => undefined);
    await expect(connectAs(url)).rejects.toThrow(/role .* does not exist/);
    expect(await box.roleExists(login)).toBe(false);
    expect(await provider.check?.(subject)).toBe('absent');
    await box.admin.query('DROP TABLE sesame_made_by_grant');
  });

  it('drops what a grantee created, in every database it touched, so nothing ends up owned by Sesame', async () => {
    const { subject, url, login } = await grant();
    const session = await connectAs(url);
    // The attack: SECURITY DEFINER code that whoever owns it after the revoke would run for anyone.
    await session.query(`CREATE FUNCTION sesame_escalate_${box.suffix}() RETURNS text SECURITY DEFINER LANGUAGE sql AS 'SELECT current_user::text'`);
    await session.query(`GRANT EXECUTE ON FUNCTION sesame_escalate_${box.suffix}() TO PUBLIC`);
    await session.end();
    const elsewhere = await connectAs(inDb(url, box.otherDb));
    await elsewhere.query(`CREATE TABLE sesame_left_elsewhere_${box.suffix} (n int)`);
    await elsewhere.end();

    await expect(provider.revoke(subject)).resolves.toBeUndefined();

    expect(await box.roleExists(login)).toBe(false);
    expect((await box.admin.query('SELECT 1 FROM pg_proc WHERE proname = $1', [`sesame_escalate_${box.suffix}`])).rowCount).toBe(0);
    expect(await ownedBy(box.admin, box.sesame)).toBe(0);
    await box.inOtherDb(async (client) => {
      expect((await client.query('SELECT 1 FROM pg_class WHERE relname = $1', [`sesame_left_elsewhere_${box.suffix}`])).rowCount).toBe(0);
      expect(await ownedBy(client, box.sesame)).toBe(0);
    });
  });

  it("never runs a grantee's code as Sesame: its queries resolve functions in pg_catalog only", async () => {
    const { subject, url } = await grant();
    const session = await connectAs(url);
    // A trap: an exact-type `count(boolean)` in public would beat pg_catalog's count("any") on a default search_path,
    // and whoever ran it would create a role: as Sesame, a CREATEROLE role, that is a way to more power.
    const evil = `sesame_evil_${box.suffix}`;
    onCleanup.push(() => box.admin.query(`DROP ROLE IF EXISTS ${evil}`));
    await session.query(`CREATE FUNCTION public.sesame_trap_${box.suffix}(bigint, boolean) RETURNS bigint LANGUAGE plpgsql AS $$
      BEGIN EXECUTE 'CREATE ROLE ${evil}'; RETURN 0; EXCEPTION WHEN others THEN RETURN 0; END $$`);
    await session.query(`CREATE AGGREGATE public.count(boolean) (SFUNC = public.sesame_trap_${box.suffix}, STYPE = bigint, INITCOND = '0')`);
    await session.query(`CREATE FUNCTION public.pg_terminate_backend(bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN EXECUTE 'CREATE ROLE ${evil}'; RETURN true; EXCEPTION WHEN others THEN RETURN true; END $$`);

    await expect(provider.revoke(subject)).resolves.toBeUndefined();
    await session.end().catch(() => undefined);
    expect(await box.roleExists(evil)).toBe(false);
  });

  describe('reassign_owned_to', () => {
    it('keeps what a grantee created under the named role instead of dropping it, in every database', async () => {
      const archive = await box.role('sesame_archive');
      await box.admin.query(`GRANT ${archive} TO ${box.sesame}`);
      await box.inOtherDb((client) => client.query(`GRANT CREATE ON SCHEMA public TO ${archive}`));
      await box.admin.query(`GRANT CREATE ON SCHEMA public TO ${archive}`);
      const keeping = providerFor({ reassign_owned_to: archive });
      const { subject, url, login } = await grant({}, keeping);
      const session = await connectAs(url);
      await session.query(`CREATE TABLE sesame_kept_${box.suffix} (n int)`);
      await session.end();
      const elsewhere = await connectAs(inDb(url, box.otherDb));
      await elsewhere.query(`CREATE TABLE sesame_kept_${box.suffix} (n int)`);
      await elsewhere.end();

      await expect(keeping.revoke(subject)).resolves.toBeUndefined();

      expect(await box.roleExists(login)).toBe(false);
      const ownerQuery = 'SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = $1';
      expect((await box.admin.query(ownerQuery, [`sesame_kept_${box.suffix}`])).rows).toEqual([{ owner: archive }]);
      await box.inOtherDb(async (client) => expect((await client.query(ownerQuery, [`sesame_kept_${box.suffix}`])).rows).toEqual([{ owner: archive }]));
      await box.admin.query(`DROP TABLE sesame_kept_${box.suffix}`);
      await box.inOtherDb((client) => client.query(`DROP TABLE sesame_kept_${box.suffix}`));
    });

    it('refuses, at grant time and with a sentence, a role that could turn what a grantee wrote into power', async () => {
      const powerful = await box.role('sesame_powerful', 'NOLOGIN CREATEROLE');
      const subject = aSubject();
      const failure = await providerFor({ reassign_owned_to: powerful })
        .grant(subject)
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ProviderError);
      expect(failure).toMatchObject({
        retryable: false,
        message: `reassign_owned_to cannot be used: the role ${powerful} has CREATEROLE; what a grantee creates would then run with its powers, so name a NOLOGIN role that holds no such attribute or membership`,
      });
      expect(await box.roleExists(loginRoleOf(subject))).toBe(false);
    });

    it('refuses, when the policy loads, a target that is also one of the roles the block grants', () => {
      const parsed = postgresProvider.schema.safeParse({ type: 'postgres', connection_env: 'X', roles: { read: 'app_reader' }, reassign_owned_to: 'app_reader' });
      expect(parsed.error?.issues).toEqual([
        expect.objectContaining({
          path: ['reassign_owned_to'],
          message: "app_reader is also a role this block grants, so a grantee's SECURITY DEFINER functions would keep running with its access after the revoke; name a NOLOGIN role that holds nothing",
        }),
      ]);
    });

    it('names superusers, BYPASSRLS, powerful memberships and missing roles, and passes a plain role', async () => {
      const plain = await box.role('sesame_plain');
      const bypass = await box.role('sesame_bypass', 'NOLOGIN BYPASSRLS');
      const writer = await box.role('sesame_writer');
      await box.admin.query(`GRANT pg_write_all_data TO ${writer}`);
      const indirect = await box.role('sesame_indirect');
      await box.admin.query(`GRANT ${bypass} TO ${indirect}`);

      expect(await unsafeReassignTarget(box.admin, plain)).toBeNull();
      expect(await unsafeReassignTarget(box.admin, 'postgres')).toBe('the role postgres has SUPERUSER, CREATEROLE, BYPASSRLS');
      expect(await unsafeReassignTarget(box.admin, bypass)).toBe(`the role ${bypass} has BYPASSRLS`);
      expect(await unsafeReassignTarget(box.admin, indirect)).toBe(`the role ${indirect} is a member of ${bypass}, which has BYPASSRLS`);
      expect(await unsafeReassignTarget(box.admin, writer)).toBe(`the role ${writer} is a member of pg_write_all_data, which reaches server files, programs or all data`);
      expect(await unsafeReassignTarget(box.admin, 'sesame_no_such_role')).toBe('the role sesame_no_such_role does not exist');
    });
  });

  it('cuts access first and reports the login left for cleanup when cleanup fails; a later revoke finishes it', async () => {
    const { subject, url, login } = await grant();
    const elsewhere = await connectAs(inDb(url, box.otherDb));
    await elsewhere.query(`CREATE TABLE sesame_blocks_cleanup_${box.suffix} (n int)`);
    await elsewhere.end();
    // Sesame may not connect to that database, so it cannot drop the table and the role stays.
    await box.admin.query(`REVOKE CONNECT ON DATABASE ${box.otherDb} FROM PUBLIC`);
    await box.admin.query(`GRANT CONNECT ON DATABASE ${box.otherDb} TO ${box.reader}`);

    const result = await provider.revoke(subject);
    expect(result).toEqual({
      cleanupPending: expect.stringMatching(new RegExp(`^the database role ${login} can no longer log in and holds no role, but Sesame could not clean up what ${login} left in database ${box.otherDb}: .*permission denied`)),
    });
    expect(await box.roleExists(login)).toBe(true);
    await expect(connectAs(url)).rejects.toThrow(/not permitted to log in/);
    expect((await box.admin.query('SELECT 1 FROM pg_auth_members WHERE member = (SELECT oid FROM pg_roles WHERE rolname = $1)', [login])).rowCount).toBe(0);
    expect(await provider.check?.(subject)).toBe('absent');

    await box.admin.query(`GRANT CONNECT ON DATABASE ${box.otherDb} TO ${box.sesame}`);
    await expect(provider.revoke(subject)).resolves.toBeUndefined();
    expect(await box.roleExists(login)).toBe(false);
  });

  it('treats a role a human already dropped as revoked', async () => {
    const { subject, login } = await grant();
    await box.admin.query(`DROP ROLE ${login}`);
    await expect(provider.revoke(subject)).resolves.toBeUndefined();
    expect(await provider.check?.(subject)).toBe('absent');
  });

  it('moves VALID UNTIL when the grant is extended', async () => {
    const { subject, login } = await grant();
    const later = new Date(Date.now() + 3 * 60 * 60_000);
    await provider.extend?.({ ...subject, expiresAt: later });
    const { rows } = await box.admin.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [login]);
    expect(rows[0]?.rolvaliduntil).toEqual(later);
  });

  it('fails permanently when the mapped database role does not exist, leaving no login behind', async () => {
    const subject = aSubject({ role: 'write' });
    const failure = await provider.grant(subject).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ retryable: false, message: 'the database role sesame_test_no_such_role (mapped from "write") does not exist; create it or fix provider.roles' });
    expect(await box.roleExists(loginRoleOf(subject))).toBe(false);
  });

  it('fails retryably when PostgreSQL cannot be reached, naming the variable', async () => {
    const unreachable = providerFor({}, 'postgres://postgres@127.0.0.1:9/test');
    const failure = await unreachable.grant(aSubject()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/^could not connect to PostgreSQL \(TEST_PG_URL\) to create sesame_g\d+: .*ECONNREFUSED/) });
  });

  it('refuses, permanently, to take over a login of the same name that it did not just create', async () => {
    const { subject, login } = await grant();
    const failure = await provider.grant(subject).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: false, message: `a database role ${login} already exists and is not this grant's (another Sesame on this server, or one left by an earlier Sesame database?); Sesame left it alone: remove it if it is stale, and request again`, nothingGranted: true });
  });

  describe('deadlines', () => {
    it('gives up on a server that accepts the connection and never answers', async () => {
      const silent: Socket[] = [];
      const blackhole = await listen(createServer((socket) => void silent.push(socket)));
      try {
        const stuck = providerFor({}, `postgres://postgres@127.0.0.1:${(blackhole.address() as AddressInfo).port}/test`);
        const failure = await stuck.grant(aSubject()).catch((e: unknown) => e);
        expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/^could not connect to PostgreSQL \(TEST_PG_URL\) to create sesame_g\d+: .*timeout/i) });
      } finally {
        for (const socket of silent) socket.destroy();
        await new Promise((resolve) => blackhole.close(resolve));
      }
    }, 30_000);

    it('gives up on a connected server that stops answering (frozen, unreachable) instead of waiting forever', async () => {
      // A proxy that, once frozen, swallows everything in both directions, as a SIGSTOPped server or a dead link would.
      let frozen = false;
      const sockets: Socket[] = [];
      const proxy = await listen(createServer((inbound: Socket) => {
        const upstream = connect(5432, '127.0.0.1');
        sockets.push(inbound, upstream);
        inbound.on('data', (chunk: Buffer) => void (frozen || upstream.write(chunk)));
        upstream.on('data', (chunk: Buffer) => void (frozen || inbound.write(chunk)));
        inbound.on('error', () => upstream.destroy());
        upstream.on('error', () => inbound.destroy());
      }));
      try {
        const stalling = providerFor({}, box.sesameUrl.replace(':5432', `:${(proxy.address() as AddressInfo).port}`));
        const { subject, login } = await grant({}, stalling); // the pool now holds a connected client
        granted.push({ provider, subject });
        frozen = true;
        const failure = await stalling.extend?.({ ...subject, expiresAt: new Date(Date.now() + 60 * 60_000) }).catch((e: unknown) => e);
        expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(new RegExp(`^PostgreSQL refused to extend ${login}: .*timeout`, 'i')) });
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      }
    }, 40_000);

    it('cancels a statement stuck behind a lock instead of waiting forever', async () => {
      const { subject, login } = await grant();
      const holder = new pg.Client({ connectionString: box.sesameUrl.replace(box.sesame, 'postgres') });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`ALTER ROLE ${login} VALID UNTIL 'infinity'`); // holds the role's row until rolled back
        const failure = await provider.extend?.({ ...subject, expiresAt: new Date(Date.now() + 60 * 60_000) }).catch((e: unknown) => e);
        expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(new RegExp(`^PostgreSQL refused to extend ${login}: .*statement timeout`)) });
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
    }, 40_000);
  });
});

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
