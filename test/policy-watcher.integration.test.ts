// Policy reloads: a valid edit takes effect and is audited; an invalid one, or one the database cannot record (locked, disk full), leaves the old one in force.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../src/policy/load.ts';
import { createPolicyWatcher, type PolicyWatcher } from '../src/policy-watcher.ts';
import { SqliteStore } from '../src/store/repositories.ts';
import { silentLogger } from './support/fakes.ts';
import { aPolicyInput } from './support/policy-fixtures.ts';
import { tempDb, type TempDb } from './support/temp-db.ts';

describe('policy watcher', () => {
  let temp: TempDb;
  let watcher: PolicyWatcher;
  let file: string;
  const announced: string[] = [];
  const errors: string[] = [];
  const log = { ...silentLogger, error: (_fields: object, message: string) => void errors.push(message) };
  const actions = () => temp.db.$client.prepare('SELECT action, policy_sha256 AS sha, details FROM audit_log ORDER BY id').all() as { action: string; sha: string; details: string }[];

  beforeEach(async () => {
    errors.length = 0;
    temp = tempDb();
    file = join(temp.dir, 'policy.yaml');
    writeFileSync(file, stringify(aPolicyInput()));
    const initial = parsePolicy(stringify(aPolicyInput()), file);
    if (!initial.ok) throw new Error('fixture');
    const initialSha = initial.value.sha256;
    // As in main.ts: audit entries carry the sha256 of whatever policy the watcher has in force.
    let created: PolicyWatcher | undefined;
    const store = new SqliteStore(temp.db, () => created?.current().sha256 ?? initialSha);
    watcher = created = await createPolicyWatcher({ initial: initial.value, store, log, watchFile: true, announce: async (t) => void announced.push(t) });
  });
  afterEach(() => {
    watcher.close();
    temp.cleanup();
  });

  it('audits the policy loaded at start', () => {
    expect(actions().map((a) => a.action)).toEqual(['policy.loaded']);
  });

  it('puts a valid edit into force and audits it under the new sha256', async () => {
    const before = watcher.current().sha256;
    writeFileSync(file, stringify(aPolicyInput({ tiers: { low: { max_duration: '4h' } } })));
    expect(await watcher.reload('test')).toBe(true);
    expect(watcher.current().policy.tiers.low?.max_duration).toBe(4 * 3_600_000);
    expect(watcher.current().sha256).not.toBe(before);
    expect(actions().at(-1)).toMatchObject({ action: 'policy.loaded', sha: watcher.current().sha256 });
  });

  it('rejects an invalid edit, keeps the old policy, audits every problem and announces it', async () => {
    const before = watcher.current();
    writeFileSync(file, 'version: 1\nsettings: { approvals_channel: general }\n');
    expect(await watcher.reload('test')).toBe(false);
    expect(watcher.current()).toBe(before);
    const rejected = actions().at(-1);
    expect(rejected).toMatchObject({ action: 'policy.rejected', sha: before.sha256 });
    const problems = JSON.parse(rejected?.details ?? '{}').problems as string[];
    expect(problems.some((p) => /policy\.yaml:2:32 settings\.approvals_channel: must be a Slack channel ID/.test(p))).toBe(true);
    expect(announced.at(-1)).toContain('was rejected, so the previous one stays in force');
  });

  it('keeps the old policy, logs and announces when the database is locked during a reload, and never dies of it', async () => {
    const before = watcher.current();
    temp.db.$client.pragma('busy_timeout = 100');
    const locker = new Database(temp.path);
    locker.exec('BEGIN EXCLUSIVE');
    try {
      writeFileSync(file, stringify(aPolicyInput({ tiers: { low: { max_duration: '5h' } } })));
      // The signal path has no caller to catch a failure: an unhandled rejection here would end the process.
      process.kill(process.pid, 'SIGHUP');
      const until = Date.now() + 10_000;
      while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(errors[0]).toMatch(/could not be recorded in the database, so the previous one stays in force/);
      expect(await watcher.reload('test')).toBe(false);
      expect(watcher.current()).toBe(before);
      expect(announced.at(-1)).toMatch(/could not be recorded in Sesame's database \(database is locked\), so the previous one stays in force/);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    // Once the database takes writes again, the same edit goes into force and is audited (by this reload, or the file watcher's).
    await watcher.reload('test');
    expect(watcher.current().policy.tiers.low?.max_duration).toBe(5 * 3_600_000);
    expect(actions().at(-1)).toMatchObject({ action: 'policy.loaded', sha: watcher.current().sha256 });
  });

  it('keeps the old policy, logs and announces when the disk is full during a reload', async () => {
    const before = watcher.current();
    const store = new SqliteStore(temp.db, () => before.sha256);
    // A full disk, as SQLite reports it: the file may not grow, and the pages it has are filled with entries.
    temp.db.$client.pragma(`max_page_count = ${Number(temp.db.$client.pragma('page_count', { simple: true }))}`);
    for (const padding of [200, 20, 0]) {
      for (let i = 0; i < 10_000; i++) {
        try {
          await store.audit(new Date(), { actor: 'sesame', action: 'policy.loaded', details: { padding: 'x'.repeat(padding) } });
        } catch {
          break;
        }
      }
    }
    writeFileSync(file, stringify(aPolicyInput({ tiers: { low: { max_duration: '6h' } } })));
    expect(await watcher.reload('test')).toBe(false);
    expect(watcher.current()).toBe(before);
    expect(errors[0]).toMatch(/could not be recorded in the database, so the previous one stays in force/);
    expect(announced.at(-1)).toMatch(/could not be recorded in Sesame's database \(database or disk is full\), so the previous one stays in force/);

    temp.db.$client.pragma('max_page_count = 1073741823');
    expect(await watcher.reload('test')).toBe(true);
    expect(watcher.current().policy.tiers.low?.max_duration).toBe(6 * 3_600_000);
    expect(actions().at(-1)).toMatchObject({ action: 'policy.loaded', sha: watcher.current().sha256 });
  });

  it('reloads by itself when the file changes', async () => {
    writeFileSync(file, stringify(aPolicyInput({ tiers: { low: { max_duration: '3h' } } })));
    const until = Date.now() + 10_000;
    while (watcher.current().policy.tiers.low?.max_duration !== 3 * 3_600_000 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(watcher.current().policy.tiers.low?.max_duration).toBe(3 * 3_600_000);
  });
});
