// The read-only tools on PostgreSQL (DATABASE_URL): `audit verify`, `audit export`, `report` and `policy replay` say
// exactly what they say on SQLite for the same data (a SQLite history copied with `sesame migrate --from --to`), keep
// verifying after Sesame writes on through PgStore, and catch a tampered log or table.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditExport, auditVerify } from '../../src/cli/audit-commands.ts';
import type { CommandContext } from '../../src/cli/command.ts';
import { policyReplay } from '../../src/cli/policy-replay.ts';
import { report } from '../../src/cli/report-command.ts';
import type { Config } from '../../src/config.ts';
import { AccessService } from '../../src/core/access-service.ts';
import { copySqliteToPg } from '../../src/store/copy-sqlite-to-pg.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { PEOPLE } from '../support/access-harness.ts';
import { captureIo } from '../support/capture-io.ts';
import { silentLogger, singleProvider } from '../support/fakes.ts';
import { aLoadedPolicy, aPolicyInput } from '../support/policy-fixtures.ts';
import { tempPgDatabase, type TempPgDatabase } from '../support/pg-temp-db.ts';
import { sqliteHistory, type SqliteHistory } from '../support/sqlite-history.ts';

type Run = (args: string[], context: CommandContext) => Promise<number>;

describe('the read-only tools on PostgreSQL', () => {
  let history: SqliteHistory;
  let target: TempPgDatabase;
  const pools: PgDb[] = [];
  /** The same command on SQLite (DATABASE_PATH) and on the PostgreSQL copy (DATABASE_URL). */
  const onBoth = async (run: Run, args: string[]) => {
    const out = async (env: Record<string, string>) => {
      const captured = captureIo(env);
      const code = await run(args, { io: captured.io, config: { databasePath: history.h.temp.path, databaseUrl: env.DATABASE_URL } as Config });
      return { code, stdout: captured.stdout(), stderr: captured.stderr() };
    };
    return { sqlite: await out({}), postgres: await out({ DATABASE_URL: target.url }) };
  };
  const onPostgres = async (run: Run, args: string[]) => (await onBoth(run, args)).postgres;
  const nowAfter = () => new Date(history.h.clock.now().getTime() + 60_000);

  beforeAll(async () => {
    history = await sqliteHistory(20);
    target = await tempPgDatabase('tools');
    await copySqliteToPg({ sqlitePath: history.h.temp.path, postgresUrl: target.url });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(pools.map(closePgDatabase));
    await target.drop();
    await history.h.cleanup();
  });

  it('audit verify and audit export (jsonl, csv, a window) say the same on both', async () => {
    const verify = await onBoth(auditVerify, []);
    expect(verify.sqlite.code).toBe(0);
    expect(verify.sqlite.stdout).toMatch(/^ok: \d{3} entries; \d+ requests and \d+ grants match the log\n$/);
    expect(verify.postgres).toEqual(verify.sqlite);
    const head = (await onPostgres(auditExport, [])).stdout.trim().split('\n').at(-1) as string;
    const { id, hash } = JSON.parse(head) as { id: number; hash: string };
    const anchored = await onBoth(auditVerify, ['--anchor', `${id}:${hash}`]);
    expect(anchored.postgres).toEqual(anchored.sqlite);
    expect(anchored.postgres.stdout).toContain(`anchor ${id} matches`);
    const tooFar = await onBoth(auditVerify, ['--anchor', `${id + 1}:${hash}`]);
    expect(tooFar.postgres).toEqual(tooFar.sqlite);
    expect(tooFar.postgres.code).toBe(1);

    for (const args of [[], ['--format', 'csv'], ['--since', new Date(history.h.clock.now().getTime() - 30 * 60_000).toISOString()]]) {
      const exported = await onBoth(auditExport, args);
      expect(exported.sqlite.code).toBe(0);
      expect(exported.sqlite.stdout.split('\n').length).toBeGreaterThan(args.length === 2 && args[0] === '--since' ? 2 : 200);
      expect(exported.postgres).toEqual(exported.sqlite);
    }
  });

  it('report says the same on both, in every format', async () => {
    const now = nowAfter();
    const at = (run: Run): Run => (args, context) => (run === report ? report(args, context, now) : run(args, context));
    for (const format of ['table', 'json', 'markdown']) {
      const out = await onBoth(at(report), ['--since', '7d', '--format', format]);
      expect(out.sqlite.code).toBe(0);
      expect(out.sqlite.stdout.length).toBeGreaterThan(100);
      expect(out.postgres).toEqual(out.sqlite);
    }
  });

  it('policy replay says the same on both', async () => {
    const changed = join(history.h.temp.dir, 'stricter.yaml');
    writeFileSync(changed, stringify(aPolicyInput({ resources: { sandbox: { tier: 'medium' } }, tiers: { high: { auto_approve: 'always' } } })));
    const now = nowAfter();
    const replay: Run = (args, { io, config }) => policyReplay(args, io, { databasePath: config.databasePath, databaseUrl: io.env.DATABASE_URL }, now);
    for (const format of ['table', 'jsonl']) {
      const out = await onBoth(replay, [changed, '--since', '7d', '--format', format]);
      expect(out.sqlite.code).toBe(0);
      expect(out.sqlite.stdout).toMatch(/sandbox/);
      expect(out.postgres).toEqual(out.sqlite);
    }
  });

  it('keeps verifying after Sesame writes on through PgStore, and catches a changed table row or entry', async () => {
    const pg = await openPgDatabase(target.url, { maxConnections: 2 });
    pools.push(pg);
    const h = history.h;
    const service = new AccessService({
      store: new PgStore(pg, () => aLoadedPolicy().sha256), policy: () => aLoadedPolicy(), providers: singleProvider(h.provider), scheduler: h.scheduler,
      notifier: h.notifier, directory: h.directory, clock: h.clock, log: silentLogger, retry: { attempts: 3, baseDelayMs: 1 },
    });
    const granted = await service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: 3_600_000, reason: 'after the move' });
    if (granted.value?.kind !== 'granted') throw new Error('expected a grant');
    await service.revoke(granted.value.grant.id, PEOPLE.engineer);
    const after = await onPostgres(auditVerify, []);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);

    await pg.$client.query(`UPDATE grants SET expires_at = expires_at + 3600000 WHERE id = ${granted.value.grant.id}`);
    const table = await onPostgres(auditVerify, []);
    expect(table.code).toBe(1);
    expect(table.stderr).toMatch(new RegExp(`^grant G${granted.value.grant.id}: expires_at is `));
    await pg.$client.query("SET session_replication_role = replica; UPDATE audit_log SET details = '{\"reason\":\"edited\"}' WHERE id = 3; SET session_replication_role = origin");
    const chain = await onPostgres(auditVerify, []);
    expect(chain).toEqual({ code: 1, stdout: '', stderr: 'broken at entry 3: entry 3 was changed after it was written (its hash does not match its contents) (2 entries before it verified)\n' });
  });

  it('says in one sentence when PostgreSQL cannot be reached, without the password', async () => {
    const captured = captureIo({});
    expect(await auditVerify([], { io: captured.io, config: { databasePath: history.h.temp.path, databaseUrl: 'postgres://sesame:hunter2@127.0.0.1:1/sesame' } as Config })).toBe(1);
    expect(captured.stderr()).toMatch(/^Cannot reach PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/sesame \(.+\); check DATABASE_URL's host and port, and that the server is running and accepts connections\.\n$/);
    expect(captured.stderr()).not.toContain('hunter2');
  });
});
