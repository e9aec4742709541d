// A real SCRAM-SHA-256 login with the password Sesame DMs. The shared cluster trusts 127.0.0.1 (it never asks for a
// password), so this starts a private PostgreSQL whose pg_hba.conf demands scram-sha-256 for every connection.
// It needs the PostgreSQL server binaries and root (to run them as the `postgres` user); elsewhere it is skipped.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginRoleOf, postgresProvider } from '../../src/providers/postgres.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { freePort } from '../support/sesame-process.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const ADMIN_PASSWORD = 'private-cluster-admin';
const canRun = process.getuid?.() === 0 && existsSync(join(BIN, 'initdb')) && hasUser('postgres');

function hasUser(name: string): boolean {
  try {
    execFileSync('id', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root: its processes run as `postgres`. */
const asPostgres = () => ({ uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) });

describe.skipIf(!canRun)('postgres provider against a cluster that demands SCRAM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-scram-'));
  let server: ChildProcess | undefined;
  let port = 0;
  const url = (user: string, password: string) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  beforeAll(async () => {
    const user = asPostgres();
    chownSync(dir, user.uid, user.gid);
    writeFileSync(join(dir, 'pw'), ADMIN_PASSWORD);
    execFileSync(join(BIN, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${join(dir, 'pw')}`], { stdio: 'ignore', cwd: dir, ...user });
    port = await freePort();
    server = spawn(join(BIN, 'postgres'), ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'], { stdio: 'ignore', cwd: dir, ...user });
    const until = Date.now() + 30_000;
    for (;;) {
      const probe = new pg.Client({ connectionString: url('postgres', ADMIN_PASSWORD) });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.query("CREATE ROLE sesame LOGIN CREATEROLE PASSWORD 'sesame-password'; CREATE ROLE app_reader NOLOGIN");
        await probe.end();
        return;
      } catch (error) {
        await probe.end().catch(() => undefined);
        if (Date.now() > until) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }, 60_000);
  afterAll(async () => {
    if (server?.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGINT'); // PostgreSQL's fast shutdown: it ends its own child processes
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('lets the requester log in with the DMed password, through SCRAM, and nobody with another', async () => {
    const config = postgresProvider.schema.parse({ type: 'postgres', connection_env: 'PG', roles: { read: 'app_reader' } });
    const provider = postgresProvider.create(config, { env: { PG: url('sesame', 'sesame-password') }, usergroups: noUsergroups });
    const subject = aSubject();
    try {
      const { message } = await provider.grant(subject);
      const dmUrl = /psql "([^"]+)"/.exec(message ?? '')?.[1] ?? '';
      const session = new pg.Client({ connectionString: dmUrl });
      await session.connect();
      expect((await session.query('SELECT current_user AS me')).rows[0]).toEqual({ me: loginRoleOf(subject) });
      await session.end();

      const wrong = new URL(dmUrl);
      wrong.password = 'not-the-password';
      await expect(new pg.Client({ connectionString: wrong.toString() }).connect()).rejects.toThrow(/password authentication failed/);
      await expect(provider.revoke(subject)).resolves.toBeUndefined();
      await expect(new pg.Client({ connectionString: dmUrl }).connect()).rejects.toThrow(/password authentication failed|does not exist/);
    } finally {
      await provider.close?.();
    }
  });
});
