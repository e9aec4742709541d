// An AccessService on a real store (SQLite, or PostgreSQL with SESAME_TEST_STORE=postgres) with in-memory fakes of every port.
import { afterEach, beforeEach, expect } from 'vitest';
import { AccessService } from '../../src/core/access-service.ts';
import type { Clock, Providers, Scheduler } from '../../src/core/ports.ts';
import type { LoadedPolicy } from '../../src/policy/load.ts';
import type { StorePort } from '../../src/core/store-port.ts';
import { FakeProvider, FakeScheduler, ManualClock, RecordingNotifier, silentLogger, singleProvider, StaticDirectory } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';
import { sqliteFactory, testStoreFactory, type OpenedStore, type StoreFactory, type TestSql } from './store-factories.ts';
import type { TempDb } from './temp-db.ts';

/** People in the example policy: sre-leads U0LEAD1/2, security (admins) U0SEC1; the rest via Slack user groups. */
export const PEOPLE = { engineer: 'U0ENG1', engineer2: 'U0ENG2', lead1: 'U0LEAD1', lead2: 'U0LEAD2', security: 'U0SEC1', oncall: 'U0ONC1', outsider: 'U0OUT1' } as const;

export interface Harness {
  service: AccessService;
  store: StorePort;
  /** The database under `store`, with raw SQL both stores accept. */
  opened: OpenedStore;
  sql: TestSql;
  provider: FakeProvider;
  scheduler: FakeScheduler;
  notifier: RecordingNotifier;
  clock: ManualClock;
  directory: StaticDirectory;
  setPolicy(policy: LoadedPolicy): void;
  auditActions(): Promise<string[]>;
  /** Every audit entry, oldest first, with its details parsed. */
  auditEntries(): Promise<AuditRow[]>;
  /** Details (parsed) of every audit entry with this action, oldest first. */
  auditDetails(action: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export interface AuditRow {
  action: string;
  actor: string;
  request_id: string | null;
  grant_id: string | null;
  details: unknown;
}

export interface HarnessOverrides {
  /** A real scheduler instead of the in-memory fake (the fake is still returned, unused). */
  scheduler?: Scheduler;
  clock?: Clock;
  /** Wraps the fake provider's registry, e.g. in the production call deadlines. */
  providers?: (fake: Providers) => Providers;
  /** The store to build on. @defaultValue testStoreFactory (SESAME_TEST_STORE) */
  store?: StoreFactory;
}

export async function accessHarness(policy: LoadedPolicy = aLoadedPolicy(), overrides: HarnessOverrides = {}): Promise<Harness> {
  let current = policy;
  const opened = await (overrides.store ?? testStoreFactory).open({ policySha: () => current.sha256 });
  const { store, sql } = opened;
  const provider = new FakeProvider();
  const scheduler = new FakeScheduler();
  const notifier = new RecordingNotifier();
  const clock = new ManualClock(); // Monday 10:00 in Berlin: business hours
  const directory = new StaticDirectory(
    { S0ENG: [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall], S0ONCALL: [PEOPLE.oncall] },
    { C0INC42: 'inc-42-db-down', C0GENERAL: 'general' },
  );
  const service = new AccessService({
    store,
    policy: () => current,
    providers: overrides.providers ? overrides.providers(singleProvider(provider)) : singleProvider(provider),
    scheduler: overrides.scheduler ?? scheduler,
    notifier,
    directory,
    clock: overrides.clock ?? clock,
    log: silentLogger,
    retry: { attempts: 3, baseDelayMs: 1 },
  });
  return {
    service, store, opened, sql, provider, scheduler, notifier, clock, directory,
    setPolicy: (p) => {
      current = p;
    },
    auditActions: async () => (await sql.all<{ action: string }>('SELECT action FROM audit_log ORDER BY id')).map((r) => r.action),
    auditEntries: async () =>
      (await sql.all<Omit<AuditRow, 'details'> & { details: string }>('SELECT action, actor, request_id, grant_id, details FROM audit_log ORDER BY id')).map((r) => ({ ...r, details: JSON.parse(r.details) as unknown })),
    auditDetails: async (action) =>
      (await sql.all<{ details: string }>('SELECT details FROM audit_log WHERE action = ? ORDER BY id', action)).map((r) => JSON.parse(r.details) as Record<string, unknown>),
    cleanup: () => opened.close(),
  };
}

/** A harness on SQLite whatever SESAME_TEST_STORE says, with its file: for tests of SQLite tools (CLI on DATABASE_PATH). */
export type SqliteHarness = Harness & { temp: TempDb };

export async function sqliteAccessHarness(policy?: LoadedPolicy, overrides: HarnessOverrides = {}): Promise<SqliteHarness> {
  const h = await accessHarness(policy, { ...overrides, store: sqliteFactory });
  const temp = h.opened.sqliteFile;
  if (!temp) throw new Error('the SQLite factory opened a store without its file');
  return { ...h, temp };
}

/** A new harness for every test (handed to `use`); after each, its audit chain and the tables must still verify, whatever the test did. */
export function useFreshHarness(use: (harness: Harness) => void): void {
  let current: Harness | undefined;
  beforeEach(async () => {
    current = await accessHarness();
    use(current);
  });
  afterEach(async () => {
    if (!current) return;
    const { opened } = current;
    try {
      expect((await opened.verifyChain()).ok).toBe(true);
      // Whatever the test did through the core, the tables are what replaying the log gives (SQLite only: no PG replay yet).
      if (opened.verifyTables) expect(await opened.verifyTables()).toEqual([]);
    } finally {
      await current.cleanup();
      current = undefined;
    }
  });
}
