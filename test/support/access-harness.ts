// An AccessService on a real SQLite file with in-memory fakes of every port, for core integration tests.
import { afterEach, beforeEach, expect } from 'vitest';
import { AccessService } from '../../src/core/access-service.ts';
import type { Clock, Providers, Scheduler } from '../../src/core/ports.ts';
import type { LoadedPolicy } from '../../src/policy/load.ts';
import { verifyAuditChain } from '../../src/store/audit.ts';
import { verifyTablesAgainstAudit } from '../../src/store/audit-tables.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { FakeProvider, FakeScheduler, ManualClock, RecordingNotifier, silentLogger, singleProvider, StaticDirectory } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';
import { tempDb, type TempDb } from './temp-db.ts';

/** People in the example policy: sre-leads U0LEAD1/2, security (admins) U0SEC1; the rest via Slack user groups. */
export const PEOPLE = { engineer: 'U0ENG1', engineer2: 'U0ENG2', lead1: 'U0LEAD1', lead2: 'U0LEAD2', security: 'U0SEC1', oncall: 'U0ONC1', outsider: 'U0OUT1' } as const;

export interface Harness {
  service: AccessService;
  store: SqliteStore;
  temp: TempDb;
  provider: FakeProvider;
  scheduler: FakeScheduler;
  notifier: RecordingNotifier;
  clock: ManualClock;
  directory: StaticDirectory;
  setPolicy(policy: LoadedPolicy): void;
  auditActions(): string[];
  cleanup(): void;
}

export interface HarnessOverrides {
  /** A real scheduler instead of the in-memory fake (the fake is still returned, unused). */
  scheduler?: Scheduler;
  clock?: Clock;
  /** Wraps the fake provider's registry, e.g. in the production call deadlines. */
  providers?: (fake: Providers) => Providers;
}

export function accessHarness(policy: LoadedPolicy = aLoadedPolicy(), overrides: HarnessOverrides = {}): Harness {
  const temp = tempDb();
  let current = policy;
  const store = new SqliteStore(temp.db, () => current.sha256);
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
    service, store, temp, provider, scheduler, notifier, clock, directory,
    setPolicy: (p) => {
      current = p;
    },
    auditActions: () => (temp.db.$client.prepare('SELECT action FROM audit_log ORDER BY id').all() as { action: string }[]).map((r) => r.action),
    cleanup: () => temp.cleanup(),
  };
}

/** A new harness for every test (handed to `use`); after each, its audit chain and the tables must still verify, whatever the test did. */
export function useFreshHarness(use: (harness: Harness) => void): void {
  let current: Harness | undefined;
  beforeEach(() => {
    current = accessHarness();
    use(current);
  });
  afterEach(() => {
    if (!current) return;
    expect(verifyAuditChain(current.temp.db.$client).ok).toBe(true);
    // Whatever the test did through the core, the tables are what replaying the log gives.
    expect(verifyTablesAgainstAudit(current.temp.db.$client).mismatches).toEqual([]);
    current.cleanup();
  });
}
