// Every store implementation the contract tests run against, each opened on a database of its own and removed after.
import type { StorePort } from '../../src/core/store-port.ts';
import { verifyAuditChain, type VerifyResult } from '../../src/store/audit.ts';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { tempPgDatabase } from './pg-temp-db.ts';
import { tempDb } from './temp-db.ts';

export const POLICY_SHA = 'a'.repeat(64);

/** A store on a fresh, migrated database. */
export interface OpenedStore {
  store: StorePort;
  /** Recomputes the audit chain as `sesame audit verify` would for this database. */
  verifyChain(): Promise<VerifyResult>;
  /** Another Sesame process ("replica") on the same database, where the store supports several. */
  replica?: () => Promise<StorePort>;
  close(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  open(): Promise<OpenedStore>;
}

export const postgresFactory: StoreFactory = {
  name: 'postgres',
  async open() {
    const temp = await tempPgDatabase('store');
    const pools: PgDb[] = [];
    const connect = async () => {
      const db = await openPgDatabase(temp.url, { maxConnections: 4 });
      pools.push(db);
      return new PgStore(db, () => POLICY_SHA);
    };
    const store = await connect();
    return {
      store,
      verifyChain: () => verifyPgAuditChain(store.db),
      replica: connect,
      close: async () => {
        await Promise.all(pools.map(closePgDatabase));
        await temp.drop();
      },
    };
  },
};

/** SQLite in a temporary file; one process only, so no replica. */
export const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  async open() {
    const temp = tempDb();
    return {
      store: new SqliteStore(temp.db, () => POLICY_SHA),
      verifyChain: async () => verifyAuditChain(temp.db.$client),
      close: async () => temp.cleanup(),
    };
  },
};

/** The stores every contract test runs against. */
export const storeFactories: StoreFactory[] = [sqliteFactory, postgresFactory];
