// Adversary: revoke-all lands while a grant is between grant-keeper's block check and its pending grant row
// (the await on the Slack email look-up). revoke-all sees nothing live and says "all their access is confirmed gone",
// then the grant is made for the blocked person.
import { describe, expect, it } from 'vitest';
import { UserBlocks } from '../../src/core/user-blocks.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { silentLogger, singleProvider } from '../support/fakes.ts';
import { gate } from '../support/gates.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;

describe('adversary: revoke-all vs a grant in flight', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));

  it('a blocked person never ends up holding a grant made while revoke-all ran', async () => {
    const { reached: inLookUp, release, pass } = gate();
    const email = h.directory.userEmail.bind(h.directory);
    // A slow Slack users.info (rate limited, 1-2 s is common) is all it takes.
    h.directory.userEmail = async (user: string) => {
      await pass();
      return email(user);
    };
    const granting = h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    await inLookUp;
    const blocks = new UserBlocks(
      { store: h.store, policy: () => aLoadedPolicy(), providers: singleProvider(h.provider), scheduler: h.scheduler, notifier: h.notifier, directory: h.directory, clock: h.clock, log: silentLogger, retry: { attempts: 3, baseDelayMs: 1 } },
      h.service.grants,
    );
    const revoked = await blocks.revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    expect(revoked.ok && revoked.value).toMatchObject({ newlyBlocked: true, ended: [], failed: [] }); // "confirmed gone"
    release();
    const granted = await granting;
    expect(await h.store.isBlocked(PEOPLE.engineer)).toBe(true);
    // Expected: no live grant and nothing at the provider. Actual: the grant is active and present at the provider.
    expect({ outcome: granted.ok && granted.value.kind, live: (await h.store.grantsOf(PEOPLE.engineer, ['pending', 'active', 'revoke_failed'])).map((g) => g.state), atProvider: h.provider.present.size }).toEqual({ outcome: 'failed', live: [], atProvider: 0 });
  });
});
