// Second adversarial pass (attack2): revoke-all's settle loop (poll every 100 ms for up to 30 s while a grant is still
// at its provider) calls end() again on every live grant each round, revoke_failed ones included, and pushes each
// failure to `failed` again. One grant whose revoke keeps failing next to one slow grant: the provider is hammered
// with revokes for 30 s and the admin's reply names the same grant hundreds of times.
import { describe, expect, it } from 'vitest';
import { holdProviderGrants } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { SHORT_SETTLE_WAIT_MS, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('attack2: revoke-all with a failing revoke and a slow grant', () => {
  let h: Harness;
  useFreshHarness((harness) => (h = harness));

  it('held (once a hole): retries the failing revoke every round and lists it once per round', async () => {
    const first = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'one' });
    if (first.value?.kind !== 'granted') throw new Error('expected a grant');
    h.provider.failRevokes = 1_000_000;
    const { reached: atProvider, release } = holdProviderGrants(h);
    const granting = h.service.request({ requester: PEOPLE.engineer, resource: 'staging-db', role: 'read', duration: HOUR, reason: 'two' });
    await atProvider;
    const out = await userBlocksOf(h, SHORT_SETTLE_WAIT_MS).revokeAll(PEOPLE.engineer, PEOPLE.security, 'laptop stolen');
    release();
    await granting;
    if (!out.ok) throw new Error('expected revoke-all to run');
    const revokes = h.provider.calls.filter((c) => c.op === 'revoke' && c.grantId === 'G1').length;
    const g1Listed = out.value.failed.filter((f) => f.grantId === 'G1').length;
    // Held: the failing grant tried once (with its retries) and listed once.
    expect({ g1Listed, revokesOfG1: revokes }).toEqual({ g1Listed: 1, revokesOfG1: 3 });
  }, 90_000);
});
