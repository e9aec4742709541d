// The audit log: append-only in the database itself, hash-chained, verifiable and exportable.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEntries, entryHash, GENESIS_HASH, verifyAuditChain } from '../../src/store/audit.ts';
import { canonicalJson } from '../../src/core/canonical-json.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';
import { onPostgres } from '../support/store-factories.ts';

const SHA = 'a'.repeat(64);
const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 9, minute));

// SQLite only: SQLite's AuditLog: its triggers, a tampered copy of the file; PostgreSQL's chain and tamper checks are in pg-store.integration.test.ts.
describe.skipIf(onPostgres)('audit log', () => {
  let temp: TempDb;
  let store: SqliteStore;

  beforeEach(async () => {
    temp = tempDb();
    store = new SqliteStore(temp.db, () => SHA);
    for (let i = 0; i < 5; i++) await store.audit(at(i), { actor: `U${i}`, action: 'request.created', requestId: `R${i + 1}`, details: { n: i, reason: `reason "${i}", with comma` } });
  });
  afterEach(() => temp.cleanup());

  /** A copy of the database with the triggers dropped, as an attacker with the file could make. */
  function tamperedCopy(sql: string): Database.Database {
    const copy = join(temp.dir, 'tampered.db');
    temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(temp.path, copy);
    const db = new Database(copy);
    db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
    db.exec(sql);
    return db;
  }

  it('chains each entry to the previous one with sha256(prev_hash + canonical JSON)', () => {
    const rows = temp.db.$client.prepare('SELECT * FROM audit_log ORDER BY id').all() as Record<string, string | number>[];
    expect(rows).toHaveLength(5);
    expect(rows[0]?.prev_hash).toBe(GENESIS_HASH);
    rows.forEach((row, i) => {
      if (i > 0) expect(row.prev_hash).toBe(rows[i - 1]?.hash);
      const fields = { id: row.id, at: row.at, actor: row.actor, action: row.action, request_id: row.request_id, grant_id: row.grant_id, details: JSON.parse(String(row.details)), policy_sha256: row.policy_sha256 };
      expect(row.hash).toBe(entryHash(String(row.prev_hash), fields as never));
      expect(row.policy_sha256).toBe(SHA);
    });
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('hashes what it stores exactly as verification recomputes it, whatever the details hold', async () => {
    const tricky = [
      { z: 1, a: { y: [3, { b: null, a: 'é"\\\n\u2028' }] }, gone: undefined, m: -0, big: 1e21, tiny: 1e-7 },
      {},
      { list: [], nested: { deeper: { deepest: ['🔓', true, false] } } },
    ];
    await store.transaction(at(30), async (tx) => {
      for (const details of tricky) await tx.audit({ actor: 'U"quote', action: 'grant.expired', requestId: 'R9', grantId: null, details });
      await tx.audit({ actor: 'sesame', action: 'policy.loaded' });
    });
    const rows = temp.db.$client.prepare('SELECT * FROM audit_log WHERE id > 5 ORDER BY id').all() as Record<string, string | number | null>[];
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const fields = { id: row.id, at: row.at, actor: row.actor, action: row.action, request_id: row.request_id, grant_id: row.grant_id, details: JSON.parse(String(row.details)), policy_sha256: row.policy_sha256 };
      expect(row.hash).toBe(entryHash(String(row.prev_hash), fields as never));
      expect(row.details).toBe(canonicalJson(JSON.parse(String(row.details))));
    }
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 9 });
  });

  it('refuses UPDATE and DELETE in the database itself', () => {
    expect(() => temp.db.$client.exec("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")).toThrow(/append-only: entries cannot be updated/);
    expect(() => temp.db.$client.exec('DELETE FROM audit_log WHERE id = 5')).toThrow(/append-only: entries cannot be deleted/);
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 5 });
  });

  it('refuses to append outside a transaction', () => {
    expect(() => store.auditLog.append({ actor: 'x', action: 'policy.loaded' }, SHA, at(9))).toThrow(/inside the transaction/);
  });

  it('verifies an intact chain and reports its head', () => {
    const result = verifyAuditChain(temp.db.$client);
    expect(result).toMatchObject({ ok: true, entries: 5, head: { id: 5 } });
  });

  it('detects a changed entry', () => {
    const db = tamperedCopy("UPDATE audit_log SET actor = 'mallory' WHERE id = 3");
    expect(verifyAuditChain(db)).toMatchObject({ ok: false, brokenAt: 3, problem: expect.stringContaining('was changed') });
  });

  it('detects a changed entry even when its hash was recomputed', () => {
    const row = temp.db.$client.prepare('SELECT * FROM audit_log WHERE id = 3').get() as Record<string, string | number>;
    const forged = entryHash(String(row.prev_hash), { id: 3, at: String(row.at), actor: 'mallory', action: String(row.action), request_id: String(row.request_id), grant_id: null, details: JSON.parse(String(row.details)), policy_sha256: SHA });
    const db = tamperedCopy(`UPDATE audit_log SET actor = 'mallory', hash = '${forged}' WHERE id = 3`);
    expect(verifyAuditChain(db)).toMatchObject({ ok: false, brokenAt: 4, problem: expect.stringContaining('does not link') });
  });

  it('detects a deleted entry', () => {
    const db = tamperedCopy('DELETE FROM audit_log WHERE id = 2');
    expect(verifyAuditChain(db)).toMatchObject({ ok: false, brokenAt: 3, problem: expect.stringContaining('entries 2–2 are missing') });
  });

  it('detects reordered entries', () => {
    const db = tamperedCopy('UPDATE audit_log SET id = 100 WHERE id = 2; UPDATE audit_log SET id = 2 WHERE id = 4; UPDATE audit_log SET id = 4 WHERE id = 100;');
    expect(verifyAuditChain(db)).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('exports entries between --since and --until, in order, lazily', () => {
    const all = [...auditEntries(temp.db.$client)];
    expect(all.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
    expect(all[0]?.details).toEqual({ n: 0, reason: 'reason "0", with comma' });
    const window = [...auditEntries(temp.db.$client, { since: at(1), until: at(3) })];
    expect(window.map((e) => e.id)).toEqual([2, 3]);
  });
});
