// Bundles in the access service when the policy changes under them: what was approved is what is granted or extended.
import { afterEach, describe, expect, it } from 'vitest';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;

describe('bundles under a changing policy', () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it('extends only the members the extension was decided for: one dropped from the bundle keeps its end', async () => {
    h = await accessHarness(aLoadedPolicy({ bundles: { kit: ['sandbox:admin', 'staging-db:read'] } }));
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: HOUR, reason: 'INC-1' });
    if (out.value?.kind !== 'granted') throw new Error('expected the bundle granted');
    const [sandbox, staging] = out.value.grants ?? [];
    const end = sandbox?.expiresAt ?? 0;
    expect(staging?.expiresAt).toBe(end);

    h.setPolicy(aLoadedPolicy({ bundles: { kit: ['sandbox:admin'] } }));
    const extended = await h.service.extend(staging?.id ?? 0, PEOPLE.engineer, HOUR / 2);
    expect(extended.value).toMatchObject({ kind: 'extended', grant: { id: sandbox?.id, expiresAt: end + HOUR / 2 } });
    expect((await h.store.getGrant(staging?.id ?? 0))?.expiresAt).toBe(end);
  });

  it('cancels, at the approval click, a pending bundle whose members changed since it was requested', async () => {
    h = await accessHarness(aLoadedPolicy({ bundles: { 'db-admin': ['prod-db:read', 'prod-db:write'] } }));
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'db-admin', duration: HOUR, reason: 'INC-2' });
    expect(out.value?.kind).toBe('pending');
    const requestId = out.value?.request.id ?? 0;

    h.setPolicy(aLoadedPolicy({ bundles: { 'db-admin': ['prod-db:read', 'prod-db:write', 'deployers:member'] } }));
    const approved = await h.service.approve(requestId, PEOPLE.security);
    expect(approved.error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'bundle_changed', bundle: 'db-admin' } });
    expect((await h.store.getRequest(requestId))?.state).toBe('cancelled');
    expect(await h.store.grantsOfRequest(requestId)).toEqual([]);
  });
  it('holds a scheduled bundle until its start, then grants every member to end together at start + duration, late or not', async () => {
    h = await accessHarness(aLoadedPolicy({ bundles: { kit: ['sandbox:admin', 'staging-db:read'] } }));
    const startsAt = h.clock.now().getTime() + 2 * HOUR;
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: HOUR, reason: 'planned CHG-1', startsAt });
    expect(out.value?.kind).toBe('scheduled');
    const requestId = out.value?.request.id ?? 0;
    expect(await h.store.grantsOfRequest(requestId)).toEqual([]);

    // Activated ten minutes late: both members still end when the approved window does.
    h.clock.set(new Date(startsAt + HOUR / 6));
    expect(await h.service.windows.activate(requestId)).toBe('activated');
    const grants = await h.store.grantsOfRequest(requestId);
    expect(grants.map((g) => [g.resource, g.role, g.state, g.expiresAt])).toEqual([
      ['sandbox', 'admin', 'active', startsAt + HOUR],
      ['staging-db', 'read', 'active', startsAt + HOUR],
    ]);
  });
});
