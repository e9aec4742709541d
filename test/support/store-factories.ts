// Every store implementation the tests run against, each opened on a database of its own and removed after; SESAME_TEST_STORE picks one.
import type Database from 'better-sqlite3';
import pg from 'pg';
import type { StorePort } from '../../src/core/store-port.ts';
import { verifyAuditChain, type VerifyResult } from '../../src/store/audit.ts';
import type { Mismatch } from '../../src/core/audit-replay.ts';
import { verifyTablesAgainstAudit } from '../../src/store/audit-tables.ts';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { lendPgDatabase } from './pg-reused-db.ts';
import { tempDb, type TempDb } from './temp-db.ts';

export const POLICY_SHA = 'a'.repeat(64);

/**
 * Raw SQL for tests that look at (or tamper with) the tables directly. Write it so both stores accept it: `?`
 * placeholders (numbered for PostgreSQL here), no SQLite-only functions. Integer columns read as numbers on both.
 */
export interface TestSql {
  all<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T | undefined>;
  run(text: string, ...params: unknown[]): Promise<void>;
}

/** A store on a fresh, migrated database. */
export interface OpenedStore {
  kind: 'sqlite' | 'postgres';
  store: StorePort;
  /** Where another process opens this database: the SQLite file's path, or the PostgreSQL URL. */
  location: string;
  sql: TestSql;
  /** Recomputes the audit chain as `sesame audit verify` would for this database. */
  verifyChain(): Promise<VerifyResult>;
  /** Replays the log against the tables (`sesame audit verify --tables`); SQLite only until PostgreSQL has a version. */
  verifyTables?: () => Promise<Mismatch[]>;
  /** Makes the next grant id `next` (grant ids name things at shared backends, so runs must not collide). */
  startGrantIdsAt(next: number): Promise<void>;
  /** The SQLite file (and its directory) under a SQLite store, for tests of tools that open it by path. */
  sqliteFile?: TempDb;
  /** Another Sesame process ("replica") on the same database, where the store supports several. */
  replica?: () => Promise<StorePort>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The policy hash audit entries record; a function, so a test can change the policy. @defaultValue POLICY_SHA */
  policySha?: () => string;
}

export interface StoreFactory {
  name: 'sqlite' | 'postgres';
  open(options?: OpenOptions): Promise<OpenedStore>;
}

// COUNT(*) and the bigint millisecond columns arrive as strings from pg; tests compare them as numbers, as on SQLite.
const INT8_OID = 20;
const numericTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser,
};
const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

/** Raw SQL on a PostgreSQL pool, `?` placeholders numbered. */
export function pgSql(pool: pg.Pool): TestSql {
  const all = async <T>(text: string, ...values: unknown[]) => (await pool.query({ text: numbered(text), values, types: numericTypes })).rows as T[];
  return {
    all,
    get: async <T>(text: string, ...values: unknown[]) => (await all<T>(text, ...values))[0],
    run: async (text, ...values) => {
      await pool.query({ text: numbered(text), values });
    },
  };
}

export const postgresFactory: StoreFactory = {
  name: 'postgres',
  async open(options = {}) {
    const temp = await lendPgDatabase();
    const policySha = options.policySha ?? (() => POLICY_SHA);
    const pools: PgDb[] = [];
    const connect = async () => {
      // Only a new database needs its migrations; a reused one was emptied, not dropped.
      const db = await openPgDatabase(temp.url, { maxConnections: 4, migrate: temp.fresh && pools.length === 0 });
      pools.push(db);
      return new PgStore(db, policySha);
    };
    const store = await connect();
    const sql = pgSql(store.db.$client);
    return {
      kind: 'postgres',
      store,
      location: temp.url,
      sql,
      verifyChain: () => verifyPgAuditChain(store.db),
      startGrantIdsAt: (next) => sql.run(`ALTER TABLE grants ALTER COLUMN id RESTART WITH ${Math.trunc(next)}`),
      replica: connect,
      close: async () => {
        await Promise.all(pools.map(closePgDatabase));
        await temp.release();
      },
    };
  },
};

/** Raw SQL on a SQLite connection. */
export function sqliteSql(client: Database.Database): TestSql {
  return {
    all: async <T>(text: string, ...params: unknown[]) => client.prepare(text).all(...params) as T[],
    get: async <T>(text: string, ...params: unknown[]) => client.prepare(text).get(...params) as T | undefined,
    run: async (text, ...params) => {
      client.prepare(text).run(...params);
    },
  };
}

/** SQLite in a temporary file; one process only, so no replica. */
export const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  async open(options = {}) {
    const temp = tempDb();
    const client = temp.db.$client;
    const sql = sqliteSql(client);
    return {
      kind: 'sqlite',
      sqliteFile: temp,
      location: temp.path,
      store: new SqliteStore(temp.db, options.policySha ?? (() => POLICY_SHA)),
      sql,
      verifyChain: async () => verifyAuditChain(client),
      verifyTables: async () => verifyTablesAgainstAudit(client).mismatches,
      startGrantIdsAt: (next) => sql.run("INSERT INTO sqlite_sequence (name, seq) VALUES ('grants', ?)", Math.trunc(next) - 1),
      close: async () => temp.cleanup(),
    };
  },
};

/** The stores every contract test runs against. */
export const storeFactories: StoreFactory[] = [sqliteFactory, postgresFactory];

function chosenStore(): StoreFactory {
  const chosen = process.env.SESAME_TEST_STORE?.trim() || 'sqlite';
  const factory = storeFactories.find((f) => f.name === chosen);
  if (!factory) throw new Error(`SESAME_TEST_STORE is "${chosen}"; set it to sqlite (the default) or postgres.`);
  return factory;
}

/** The store the test run is for (SESAME_TEST_STORE=postgres, or SQLite by default): what every harness builds. */
export const testStoreFactory: StoreFactory = chosenStore();

/** True in the PostgreSQL pass (`npm run test:postgres`); SQLite-only tests skip themselves with it, saying why. */
export const onPostgres = testStoreFactory.name === 'postgres';
