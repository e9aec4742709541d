// `sesame doctor` and `sesame migrate` with DATABASE_URL, against the real PostgreSQL: each in its own temp database.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { renderFinding } from '../../src/doctor/finding.ts';
import { pgDatabaseFindings } from '../../src/doctor/pg-database-checks.ts';
import { runDoctor } from '../../src/doctor/run-doctor.ts';
import { shippedPgMigrationCount } from '../../src/store/pg/health.ts';
import { tempPgDatabase, type TempPgDatabase } from '../support/pg-temp-db.ts';
import { sesame } from '../support/run-cli.ts';
import { freePort as closedPort } from '../support/sesame-process.ts';

/** The same database with a password in the URL: trust authentication ignores it, so only its absence from output is tested. */
const withPassword = (url: string) => url.replace('postgres@', 'postgres:hunter2-secret@');
const lines = async (url: string) => (await pgDatabaseFindings(url)).map(renderFinding);

describe('sesame doctor and migrate on PostgreSQL', () => {
  let fresh: TempPgDatabase;
  let readOnly: TempPgDatabase;

  beforeAll(async () => {
    [fresh, readOnly] = await Promise.all([tempPgDatabase('doctor_fresh'), tempPgDatabase('doctor_ro')]);
  });
  afterAll(async () => {
    await Promise.all([fresh.drop(), readOnly.drop()]);
  });

  it('migrate creates the tables once and then finds nothing to do; doctor fails the database before and passes it after', async () => {
    const url = withPassword(fresh.url);
    const shipped = shippedPgMigrationCount();
    expect(await lines(url)).toEqual([`✗ PostgreSQL at postgres://127.0.0.1:5432/${fresh.name} lacks ${shipped} of ${shipped} migrations — run \`sesame migrate\` with the URL of the role that owns the tables (\`sesame start\` applies them too when it runs as that role)`]);

    const first = await sesame(['migrate'], { DATABASE_URL: url });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`PostgreSQL at postgres://127.0.0.1:5432/${fresh.name}: created the tables, ${shipped} migrations applied\n`);
    const again = await sesame(['migrate'], { DATABASE_URL: url });
    expect(again.stdout).toBe(`PostgreSQL at postgres://127.0.0.1:5432/${fresh.name}: already up to date (${shipped} migrations applied)\n`);

    expect(await lines(url)).toEqual([`✓ PostgreSQL at postgres://127.0.0.1:5432/${fresh.name} answers, takes writes and is migrated (${shipped} migrations)`]);
    expect(JSON.stringify([first, again])).not.toContain('hunter2');
  });

  it('fails a database that refuses writes (a read-only default, as on a standby), saying to point at the primary', async () => {
    expect((await sesame(['migrate'], { DATABASE_URL: readOnly.url })).code).toBe(0);
    const client = new pg.Client({ connectionString: readOnly.url });
    await client.connect();
    await client.query(`ALTER DATABASE ${readOnly.name} SET default_transaction_read_only = on`);
    await client.end();
    const [line] = await lines(readOnly.url);
    expect(line).toMatch(/^✗ PostgreSQL at postgres:\/\/127\.0\.0\.1:5432\/\S+ does not take writes \(cannot execute UPDATE in a read-only transaction\) — point DATABASE_URL at the primary/);
  });

  it('says a server that does not answer, and a database that does not exist, in one line each without the password', async () => {
    const port = await closedPort();
    const [down] = await lines(`postgres://sesame:hunter2-secret@127.0.0.1:${port}/sesame`);
    expect(down).toMatch(new RegExp(`^✗ Cannot reach PostgreSQL at postgres://127\\.0\\.0\\.1:${port}/sesame \\(.*ECONNREFUSED.*\\); check DATABASE_URL's host and port`));
    const [missing] = await lines(withPassword('postgres://postgres@127.0.0.1:5432/sesame_no_such_db'));
    expect(missing).toMatch(/^✗ The database named in DATABASE_URL \(postgres:\/\/127\.0\.0\.1:5432\/sesame_no_such_db\) does not exist .*; create it, or correct the name$/);
    expect(`${down} ${missing}`).not.toContain('hunter2');

    const failed = await sesame(['migrate'], { DATABASE_URL: `postgres://sesame:hunter2-secret@127.0.0.1:${port}/sesame` });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^Cannot reach PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/sesame /);
    expect(failed.stderr + failed.stdout).not.toContain('hunter2');
  });

  it('is the database line `sesame doctor` gives when DATABASE_URL is set, instead of the SQLite file', async () => {
    const config = loadConfig({ DATABASE_URL: fresh.url, DATABASE_PATH: '/nonexistent/never.db', POLICY_PATH: 'policies/policy.yaml', REDIS_URL: 'redis://127.0.0.1:6379' });
    if (!config.ok) throw new Error(config.error.join('\n'));
    const rendered = (await runDoctor(config.value)).map(renderFinding);
    expect(rendered.filter((l) => l.includes('PostgreSQL at'))).toEqual([expect.stringMatching(/^✓ PostgreSQL at .* answers, takes writes and is migrated/)]);
    expect(rendered.some((l) => l.includes('never.db'))).toBe(false);
  });
});
