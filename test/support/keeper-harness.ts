// A real GrantKeeper on a real store (SESAME_TEST_STORE picks SQLite or PostgreSQL) around one provider: approved requests in, grants out.
import { randomInt } from 'node:crypto';
import { GrantKeeper } from '../../src/core/grant-keeper.ts';
import { subjectFor, type FulfilOutcome } from '../../src/core/grant-model.ts';
import type { Directory, GrantSubject, Provider } from '../../src/core/ports.ts';
import type { LoadedPolicy } from '../../src/policy/load.ts';
import type { PolicyInput, ProviderConfig } from '../../src/policy/schema.ts';
import { LOST_RACE, type StorePort } from '../../src/core/store-port.ts';
import type { GrantRow } from '../../src/store/schema.ts';
import { FakeScheduler, ManualClock, RecordingNotifier, silentLogger, singleProvider, StaticDirectory } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';
import { testStoreFactory, type TestSql } from './store-factories.ts';

export interface KeeperHarness {
  keeper: GrantKeeper;
  store: StorePort;
  /** Raw SQL on the store's database, in a form both stores accept. */
  sql: TestSql;
  policy: LoadedPolicy;
  /** Approves and fulfils a request for `user` on `resource` (a key of `resources` given to `keeperHarness`). */
  grant(user: string, resource?: string): Promise<FulfilOutcome>;
  /** Ends a grant as a person's revoke does. */
  end(grant: GrantRow): ReturnType<GrantKeeper['end']>;
  /** The grant as its provider is told about it. */
  subject(grant: GrantRow): Promise<GrantSubject>;
  /** The granted row, or a failure with its problem. */
  granted(user: string, resource?: string): Promise<GrantRow>;
  auditDetails(action: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export interface KeeperOptions {
  /** Resource name → provider block; all use `provider`. @defaultValue one resource, `contract` */
  resources?: Record<string, ProviderConfig>;
  identities?: Record<string, Record<string, string>>;
  directory?: Directory;
}

export async function keeperHarness(provider: Provider, config: ProviderConfig, options: KeeperOptions = {}): Promise<KeeperHarness> {
  const resources = options.resources ?? { contract: config };
  const policy = aLoadedPolicy({
    settings: { identities: options.identities ?? {} },
    resources: Object.fromEntries(Object.entries(resources).map(([name, block]) => [name, { tier: 'low', roles: ['read'], provider: block }])) as PolicyInput['resources'],
  });
  const opened = await testStoreFactory.open({ policySha: () => policy.sha256 });
  const { store, sql } = opened;
  // Grant ids name things at shared backends (PostgreSQL logins `sesame_g17`): start them where no other run does.
  await opened.startGrantIdsAt(randomInt(1_000_000, 2_000_000_000));
  const clock = new ManualClock(new Date());
  const keeper = new GrantKeeper({
    store,
    policy: () => policy,
    providers: singleProvider(provider),
    scheduler: new FakeScheduler(),
    notifier: new RecordingNotifier(),
    directory: options.directory ?? new StaticDirectory(),
    clock,
    log: silentLogger,
    retry: { attempts: 3, baseDelayMs: 1 },
  });
  const grant = async (user: string, resource = Object.keys(resources)[0] ?? 'contract') => {
    const now = clock.now();
    const request = await store.transaction(now, async (tx) =>
      tx.insertRequest({
        requester: user, resource, role: 'read', tier: 'low', durationMs: 60 * 60_000, reason: 'contract test', tickets: [],
        state: 'approved', steps: [], rule: 'test', createdAt: now.getTime(),
      }),
    );
    if (request === LOST_RACE) throw new Error('unreachable');
    return keeper.fulfil(request);
  };
  return {
    keeper,
    store,
    sql,
    policy,
    grant,
    end: (grant) => keeper.end(grant.id, 'revoked', 'U0SEC1'),
    subject: async (grant) => subjectFor((await store.getGrant(grant.id)) ?? grant, `${grant.user.toLowerCase()}@example.com`),
    async granted(user, resource) {
      const outcome = await grant(user, resource);
      if (outcome.kind !== 'granted') throw new Error(`grant failed: ${outcome.kind === 'failed' ? outcome.problem : outcome.kind}`);
      return outcome.grant;
    },
    auditDetails: async (action) =>
      (await sql.all<{ details: string }>('SELECT details FROM audit_log WHERE action = ? ORDER BY id', action)).map((r) => JSON.parse(r.details) as Record<string, unknown>),
    cleanup: () => opened.close(),
  };
}
