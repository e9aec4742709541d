// Sesame runs on PostgreSQL as a role without DDL rights, which therefore cannot switch off the audit log's triggers.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOST_RACE } from '../../src/core/store-port.ts';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { tempPgDatabase, type TempPgDatabase } from '../support/pg-temp-db.ts';

const runtimeRole = `sesame_rt_${randomBytes(4).toString('hex')}`;
let database: TempPgDatabase;
let asOwner: pg.Client;
let runtime: PgDb | null = null;

async function asRuntime(sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: database.url.replace('postgres@', `${runtimeRole}@`) });
  await client.connect();
  try {
    await client.query(sql);
    return 'allowed';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await tempPgDatabase('least_privilege');
  // The owner (here the superuser) migrates, as `sesame migrate` run with the owner's URL would.
  await closePgDatabase(await openPgDatabase(database.url));
  asOwner = new pg.Client({ connectionString: database.url });
  await asOwner.connect();
  // The grants docs/operating.md tells operators to give the role Sesame runs as.
  await asOwner.query(`CREATE ROLE ${runtimeRole} LOGIN`);
  await asOwner.query(`GRANT USAGE ON SCHEMA public, drizzle TO ${runtimeRole}`);
  await asOwner.query(`GRANT SELECT ON drizzle.__drizzle_migrations TO ${runtimeRole}`);
  await asOwner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${runtimeRole}`);
  await asOwner.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ${runtimeRole}`);
  await asOwner.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${runtimeRole}`);
});

afterAll(async () => {
  if (runtime) await closePgDatabase(runtime);
  await asOwner.end();
  await database.drop();
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${runtimeRole}`);
  await admin.end();
});

describe('PostgreSQL with a runtime role that owns nothing', () => {
  it('starts (nothing to migrate, so no DDL is attempted) and records state changes with their audit entries', async () => {
    runtime = await openPgDatabase(database.url.replace('postgres@', `${runtimeRole}@`));
    const store = new PgStore(runtime, () => 'a'.repeat(64));
    const now = new Date();
    const request = await store.transaction(now, async (tx) => {
      const row = await tx.insertRequest({ requester: 'U1', resource: 'sandbox', role: 'admin', tier: 'low', durationMs: 3_600_000, reason: 'r', tickets: [], state: 'approved', steps: [], rule: 'test', createdAt: now.getTime() });
      await tx.audit({ actor: 'U1', action: 'request.created', requestId: `R${row.id}` });
      return row;
    });
    expect(request).not.toBe(LOST_RACE);
    expect(await verifyPgAuditChain(runtime)).toMatchObject({ ok: true, entries: 1 });
  });

  it('cannot switch off, empty or rewrite the audit log', async () => {
    expect(await asRuntime('ALTER TABLE audit_log DISABLE TRIGGER ALL')).toMatch(/must be owner/);
    expect(await asRuntime('TRUNCATE audit_log')).toMatch(/permission denied/);
    expect(await asRuntime('DELETE FROM audit_log')).toMatch(/permission denied/);
    expect(await asRuntime("UPDATE audit_log SET actor = 'someone else'")).toMatch(/permission denied/);
    expect(await asRuntime('DROP TABLE audit_log')).toMatch(/must be owner/);
  });
});
