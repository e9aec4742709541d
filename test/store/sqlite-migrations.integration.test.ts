// SQLite migrations: a database migrated from the old flat migrations/ folder opens from migrations/sqlite/, and the
// folder's latest drizzle-kit snapshot is schema.ts (so `npm run db:generate` makes no stray migration).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { generateSQLiteDrizzleJson, generateSQLiteMigration, type DrizzleSQLiteSnapshotJSON } from 'drizzle-kit/api';
import { afterEach, describe, expect, it } from 'vitest';
import { appliedMigrationCount, MIGRATIONS_FOLDER, openDatabase } from '../../src/store/db.ts';
import * as schema from '../../src/store/schema.ts';
import { onPostgres } from '../support/store-factories.ts';

interface Journal {
  entries: { idx: number; tag: string; when: number }[];
}
const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as Journal & Record<string, unknown>;

// SQLite only: migrations/sqlite (PostgreSQL's are checked in pg-db and pg-schema tests).
describe.skipIf(onPostgres)('SQLite migrations in migrations/sqlite', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the first `count` migrations laid out as before the move (migrations/*.sql, migrations/meta/). */
  function oldLayout(count: number): { root: string; folder: string } {
    const root = mkdtempSync(join(tmpdir(), 'sesame-old-migrations-'));
    dirs.push(root);
    const folder = join(root, 'migrations');
    mkdirSync(join(folder, 'meta'), { recursive: true });
    const entries = journal.entries.slice(0, count);
    for (const entry of entries) cpSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`));
    writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
    return { root, folder };
  }

  function migrateWithOldLayout(count: number): string {
    const { root, folder } = oldLayout(count);
    const path = join(root, 'sesame.db');
    const client = new Database(path);
    migrate(drizzle(client, { schema }), { migrationsFolder: folder });
    return path;
  }

  it('opens a database fully migrated from the old folder without applying anything again', () => {
    const path = migrateWithOldLayout(journal.entries.length);
    const db = openDatabase(path);
    try {
      expect(appliedMigrationCount(db)).toBe(journal.entries.length);
      db.$client.prepare("INSERT INTO blocked_users (user, blocked_by, reason, blocked_at) VALUES ('U1', 'U2', 'left', 1)").run();
      expect(db.$client.prepare('SELECT count(*) AS n FROM blocked_users').get()).toEqual({ n: 1 });
    } finally {
      db.$client.close();
    }
  });

  it('brings a database of an older release, migrated from the old folder, up to date and keeps its rows', () => {
    const older = journal.entries.findIndex((e) => e.tag === '0008_audit_stream_cursor') + 1;
    expect(older).toBeGreaterThan(0);
    const path = migrateWithOldLayout(older);
    const before = new Database(path);
    before.prepare("INSERT INTO audit_stream_cursor (destination, last_id, last_hash, updated_at) VALUES ('d', 7, 'h', 1)").run();
    before.close();
    const db = openDatabase(path);
    try {
      expect(appliedMigrationCount(db)).toBe(journal.entries.length);
      expect(db.$client.prepare('SELECT destination, last_id FROM audit_stream_cursor').all()).toEqual([{ destination: 'd', last_id: 7 }]);
      expect(db.$client.prepare("SELECT name FROM sqlite_master WHERE name = 'blocked_users'").get()).toEqual({ name: 'blocked_users' });
    } finally {
      db.$client.close();
    }
  });

  it('dates the approved requests of a database from before approved_at, so the sweep for stranded ones sees them', () => {
    const before = journal.entries.findIndex((e) => e.tag === '0014_approved_at');
    expect(before).toBeGreaterThan(0);
    const path = migrateWithOldLayout(before);
    const old = new Database(path);
    const insert = old.prepare("INSERT INTO requests (requester, resource, role, tier, duration_ms, reason, tickets, state, steps, rule, created_at, starts_at, decided_at) VALUES ('U1', 'db', 'read', 'low', 60000, ?, '[]', ?, '[]', 'r', 1, ?, ?)");
    insert.run('at once', 'approved', null, 1_000);
    insert.run('window', 'approved', 5_000, 2_000);
    insert.run('approved after its start', 'approved', 1_500, 3_000);
    insert.run('denied', 'denied', null, 4_000);
    old.close();
    const db = openDatabase(path);
    try {
      expect(db.$client.prepare('SELECT reason, approved_at AS approvedAt FROM requests ORDER BY id').all()).toEqual([
        { reason: 'at once', approvedAt: 1_000 },
        { reason: 'window', approvedAt: 5_000 },
        { reason: 'approved after its start', approvedAt: 3_000 },
        { reason: 'denied', approvedAt: null },
      ]);
    } finally {
      db.$client.close();
    }
  });

  it('has a latest drizzle-kit snapshot equal to src/store/schema.ts', async () => {
    const latest = journal.entries.at(-1)?.tag.slice(0, 4) ?? '';
    const snapshot = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', `${latest}_snapshot.json`), 'utf8')) as DrizzleSQLiteSnapshotJSON;
    const current = await generateSQLiteDrizzleJson({ ...schema });
    expect(await generateSQLiteMigration(snapshot, current)).toEqual([]);
  });
});
