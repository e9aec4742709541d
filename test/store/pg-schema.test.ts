// The PostgreSQL schema is the SQLite schema, table for table and column for column (nullability, defaults, keys,
// indexes), and each dialect's latest drizzle-kit snapshot is its schema file (no change lacks its migration).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { is, SQL, type Column } from 'drizzle-orm';
import { generateDrizzleJson, generateMigration, type DrizzleSnapshotJSON } from 'drizzle-kit/api';
import { getTableConfig as pgTableConfig, PgDialect, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig, SQLiteSyncDialect, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as pgSchema from '../../src/store/pg/schema.ts';
import * as sqliteSchema from '../../src/store/schema.ts';

type Dialect = 'sqlite' | 'pg';
const render = (dialect: Dialect, sql: SQL): string =>
  (dialect === 'sqlite' ? new SQLiteSyncDialect() : new PgDialect()).sqlToQuery(sql).sql.replaceAll('`', '"').replace(/ = 1\b/g, ' = true');

/** What a column is to the application, whichever dialect stores it. */
function kind(column: Column): string {
  switch (column.columnType) {
    case 'SQLiteInteger':
    case 'PgInteger':
    case 'PgBigInt53':
      return 'integer';
    case 'SQLiteBoolean':
    case 'PgBoolean':
      return 'boolean';
    case 'SQLiteText':
    case 'PgText':
      return 'text';
    case 'SQLiteTextJson':
      return 'json text';
    // The only custom type of the PostgreSQL schema is JSON kept as text.
    case 'PgCustomColumn':
      return column.getSQLType() === 'text' ? 'json text' : `custom ${column.getSQLType()}`;
    default:
      return column.columnType;
  }
}

function columnShape(dialect: Dialect, column: Column) {
  const generated = dialect === 'sqlite' ? (column as Column & { autoIncrement?: boolean }).autoIncrement === true : column.generatedIdentity?.type === 'byDefault';
  return {
    name: column.name,
    kind: kind(column),
    notNull: column.notNull,
    primary: column.primary,
    unique: column.isUnique,
    // SQLite's INTEGER PRIMARY KEY is the rowid and so always has a default; only AUTOINCREMENT ones are ids the
    // database gives (an identity in PostgreSQL). audit_log's id is given by the appender in both.
    hasDefault: dialect === 'sqlite' && column.primary && kind(column) === 'integer' ? generated : column.hasDefault,
    default: is(column.default, SQL) ? render(dialect, column.default) : column.default,
    generatedId: generated,
  };
}

function tableShape(dialect: Dialect, table: SQLiteTable | PgTable) {
  const config = dialect === 'sqlite' ? sqliteTableConfig(table as SQLiteTable) : pgTableConfig(table as PgTable);
  const names = (columns: readonly { name: string }[]) => columns.map((c) => c.name);
  return {
    name: config.name,
    columns: config.columns.map((c) => columnShape(dialect, c)).sort((a, b) => a.name.localeCompare(b.name)),
    indexes: config.indexes
      .map((i) => ({
        name: i.config.name,
        unique: i.config.unique,
        on: i.config.columns.map((c) => ('name' in c ? c.name : render(dialect, c as SQL))),
        where: i.config.where === undefined ? null : render(dialect, i.config.where),
      }))
      .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '')),
    foreignKeys: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return { columns: names(ref.columns), to: ref.foreignTable === undefined ? null : dialect === 'sqlite' ? sqliteTableConfig(ref.foreignTable as SQLiteTable).name : pgTableConfig(ref.foreignTable as PgTable).name, foreignColumns: names(ref.foreignColumns), onDelete: fk.onDelete ?? 'no action', onUpdate: fk.onUpdate ?? 'no action' };
    }),
    primaryKeys: config.primaryKeys.map((pk) => names(pk.columns)),
    uniqueConstraints: config.uniqueConstraints.map((u) => names(u.columns)),
    checks: config.checks.map((c) => c.name),
  };
}

const tablesOf = (dialect: Dialect): Map<string, SQLiteTable | PgTable> => {
  const module: Record<string, unknown> = dialect === 'sqlite' ? sqliteSchema : pgSchema;
  const entries = Object.entries(module).filter(([, value]) => (dialect === 'sqlite' ? is(value, SQLiteTable) : is(value, PgTable)));
  return new Map(entries as [string, SQLiteTable | PgTable][]);
};

describe('the PostgreSQL schema', () => {
  const sqlite = tablesOf('sqlite');
  const pg = tablesOf('pg');

  it('defines the same tables under the same names', () => {
    expect(sqlite.size).toBeGreaterThanOrEqual(6);
    expect([...pg.keys()].sort()).toEqual([...sqlite.keys()].sort());
  });

  it.each([...tablesOf('sqlite').keys()])('has %s column for column as SQLite does: types, nullability, defaults, keys and indexes', (name) => {
    const pgTable = pg.get(name);
    expect(pgTable, `src/store/pg/schema.ts lacks the table ${name}`).toBeDefined();
    expect(tableShape('pg', pgTable as PgTable)).toEqual(tableShape('sqlite', sqlite.get(name) as SQLiteTable));
  });

  it('keeps epoch milliseconds and durations as bigint (read as numbers), since they outgrow a 32-bit integer', () => {
    const narrow = [...pg.values()].flatMap((table) => {
      const config = pgTableConfig(table as PgTable);
      return config.columns.filter((c) => kind(c) === 'integer' && /_(at|ms)$/.test(c.name) && c.columnType !== 'PgBigInt53').map((c) => `${config.name}.${c.name}`);
    });
    expect(narrow).toEqual([]);
  });

  it('tells a column added to one dialect only', () => {
    const shape = tableShape('sqlite', sqliteSchema.blockedUsers);
    const widened = { ...shape, columns: [...shape.columns, { ...shape.columns[0], name: 'zz_extra' }] };
    expect(widened).not.toEqual(tableShape('pg', pgSchema.blockedUsers));
  });
});

describe('migrations/postgres', () => {
  const folder = fileURLToPath(new URL('../../migrations/postgres/meta', import.meta.url));

  it('has a latest drizzle-kit snapshot equal to src/store/pg/schema.ts', async () => {
    const latest = readdirSync(folder).filter((f) => f.endsWith('_snapshot.json')).sort().at(-1) ?? '';
    const snapshot = JSON.parse(readFileSync(join(folder, latest), 'utf8')) as DrizzleSnapshotJSON;
    expect(await generateMigration(snapshot, generateDrizzleJson({ ...pgSchema }))).toEqual([]);
  });

  it('lists in its journal every SQL file of the folder, the append-only triggers included', () => {
    const journal = JSON.parse(readFileSync(join(folder, '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const files = readdirSync(join(folder, '..')).filter((f) => f.endsWith('.sql'));
    expect(journal.entries.map((e) => `${e.tag}.sql`)).toEqual(files.sort());
    expect(files.some((f) => readFileSync(join(folder, '..', f), 'utf8').includes('BEFORE UPDATE ON audit_log'))).toBe(true);
  });
});
