// Two replicas end the two grants sharing one access at the same moment while their access-key locks are only
// in-process (Redis unreachable, or a lock lost past its deadline): each saw the other grant as still holding the
// access, so neither revoked it, and the person kept the access with no live grant. PostgreSQL, two pools.
import { afterEach, describe, expect, it } from 'vitest';
import { GrantKeeper } from '../../src/core/grant-keeper.ts';
import type { GrantSubject } from '../../src/core/ports.ts';
import type { GrantRecord } from '../../src/core/records.ts';
import { LOST_RACE, type StorePort } from '../../src/core/store-port.ts';
import { FakeProvider, FakeScheduler, ManualClock, RecordingNotifier, silentLogger, singleProvider, StaticDirectory } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { postgresFactory, type OpenedStore } from '../support/store-factories.ts';

/** One membership per person (as a Slack user group or a GitHub team), whichever grant gave it. */
class MembershipProvider extends FakeProvider {
  readonly members = new Set<string>();
  accessKey = (s: Pick<GrantSubject, 'user'>) => `membership:${s.user.slackId}`;
  override async grant(s: GrantSubject) {
    await super.grant(s);
    this.members.add(s.user.slackId);
    return {};
  }
  override async revoke(s: GrantSubject) {
    await super.revoke(s);
    this.members.delete(s.user.slackId);
  }
}

/** The store as one replica sees it, whose next transaction waits until the other replica's has been asked for too. */
function heldAtNextTransaction(store: StorePort, barrier: { armed: boolean; arrived: number; open: () => void; opened: Promise<void> }): StorePort {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'transaction') return Reflect.get(target, property, receiver) as unknown;
      const transaction: StorePort['transaction'] = async (now, body) => {
        if (barrier.armed) {
          if (++barrier.arrived === 2) {
            barrier.armed = false;
            barrier.open();
          }
          await barrier.opened;
        }
        return target.transaction(now, body);
      };
      return transaction;
    },
  });
}

describe('two replicas ending the two grants of one shared access at once (locks in-process only)', () => {
  let opened: OpenedStore | null = null;
  afterEach(async () => {
    await opened?.close();
    opened = null;
  });

  it('takes the access away once both grants have ended', async () => {
    opened = await postgresFactory.open();
    const provider = new MembershipProvider();
    const clock = new ManualClock(new Date());
    const policy = aLoadedPolicy({ resources: { a: { tier: 'low', roles: ['read'], provider: { type: 'noop' } }, b: { tier: 'low', roles: ['read'], provider: { type: 'noop' } } } });
    let open = () => {};
    const opened_ = new Promise<void>((resolve) => (open = resolve));
    const barrier = { armed: false, arrived: 0, open: () => open(), opened: opened_ };
    const stores = [opened.store, await (opened.replica as () => Promise<StorePort>)()];
    // No serializer: each keeper's access-key lock is its own process's, as when Redis cannot be reached.
    const keepers = stores.map(
      (store) =>
        new GrantKeeper({
          store: heldAtNextTransaction(store, barrier),
          policy: () => policy,
          providers: singleProvider(provider),
          scheduler: new FakeScheduler(),
          notifier: new RecordingNotifier(),
          directory: new StaticDirectory(),
          clock,
          log: silentLogger,
          retry: { attempts: 1, baseDelayMs: 1 },
        }),
    );
    const grant = async (resource: string): Promise<GrantRecord> => {
      const now = clock.now();
      const request = await opened?.store.transaction(now, (tx) =>
        tx.insertRequest({ requester: 'U0ALICE', resource, role: 'read', tier: 'low', durationMs: 3_600_000, reason: 'shared', tickets: [], state: 'approved', steps: [], rule: 'test', createdAt: now.getTime() }),
      );
      if (request === undefined || request === LOST_RACE) throw new Error('unreachable');
      const outcome = await (keepers[0] as GrantKeeper).fulfil(request);
      if (outcome.kind !== 'granted') throw new Error(`grant failed: ${JSON.stringify(outcome)}`);
      return outcome.grant;
    };
    const first = await grant('a');
    const second = await grant('b');
    expect(second.accessKey).toBe(first.accessKey);
    expect(provider.members.has('U0ALICE')).toBe(true);

    // Both replicas have read who else holds the access before either commits its end.
    barrier.armed = true;
    const ends = await Promise.all([(keepers[0] as GrantKeeper).end(first.id, 'revoked', 'U0ALICE'), (keepers[1] as GrantKeeper).end(second.id, 'revoked', 'U0ALICE')]);
    expect(ends.map((e) => e.kind)).toEqual(['ended', 'ended']);
    const live = [await opened.store.getGrant(first.id), await opened.store.getGrant(second.id)].filter((g) => g?.state === 'active' || g?.state === 'revoke_failed');
    expect(live).toEqual([]);
    expect(provider.members.has('U0ALICE'), 'no live grant, so no access').toBe(false);
    expect((await opened.verifyChain()).ok).toBe(true);
  }, 60_000);
});
