// The break-glass hourly limit holds when many uses arrive at once, on one process and across replicas (PostgreSQL).
import { afterEach, describe, expect, it } from 'vitest';
import { AccessService } from '../../src/core/access-service.ts';
import type { StorePort } from '../../src/core/store-port.ts';
import { PEOPLE } from '../support/access-harness.ts';
import { FakeProvider, FakeScheduler, ManualClock, RecordingNotifier, silentLogger, singleProvider, StaticDirectory } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { storeFactories, type OpenedStore } from '../support/store-factories.ts';

const HOUR = 3_600_000;

function serviceOn(store: StorePort, clock: ManualClock, provider: FakeProvider): AccessService {
  const policy = aLoadedPolicy();
  return new AccessService({
    store,
    policy: () => policy,
    providers: singleProvider(provider),
    scheduler: new FakeScheduler(),
    notifier: new RecordingNotifier(),
    directory: new StaticDirectory({ S0ENG: [PEOPLE.oncall], S0ONCALL: [PEOPLE.oncall] }, { C0INC42: 'inc-42-db-down' }),
    clock,
    log: silentLogger,
    retry: { attempts: 1, baseDelayMs: 1 },
  });
}

describe.each(storeFactories)('break-glass uses sent at once ($name)', (factory) => {
  let opened: OpenedStore | null = null;
  afterEach(async () => {
    await opened?.close();
    opened = null;
  });

  it('grants only max_per_hour of them, however many replicas decide them, and refuses the rest as rate-limited', async () => {
    opened = await factory.open();
    const clock = new ManualClock();
    const provider = new FakeProvider();
    // Two replicas where the store has them (two pools on one PostgreSQL database); one process on SQLite.
    const stores = [opened.store, opened.replica ? await opened.replica() : opened.store];
    const services = stores.map((store) => serviceOn(store, clock, provider));
    const uses = Array.from({ length: 8 }, (_, i) =>
      (services[i % services.length] as AccessService).request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: `INC-42 use ${i}`, breakglass: true, channelId: 'C0INC42' }),
    );
    const outcomes = await Promise.all(uses);
    const granted = outcomes.filter((o) => o.ok && o.value.kind === 'granted');
    const limited = outcomes.filter((o) => !o.ok && o.error.code === 'breakglass_rate_limited');
    expect(granted).toHaveLength(3); // aLoadedPolicy: breakglass.max_per_hour 3
    expect(limited).toHaveLength(5);
    expect(await opened.store.breakglassGrantsSince(PEOPLE.oncall, clock.now().getTime() - HOUR)).toBe(3);
    expect((await opened.verifyChain()).ok).toBe(true);
  });
});
