// What every provider promises the core, checked against each real one through the real GrantKeeper and SQLite store.
import { randomInt } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import { providerCases } from '../support/provider-cases.ts';
import { keeperHarness, type KeeperHarness } from '../support/keeper-harness.ts';

/** A Slack user id no other test or run uses, so shared backends (PostgreSQL, stand-ins) never mix people up. */
const aUser = (): string => `U0C${randomInt(100_000_000, 999_999_999)}`;

const cases = providerCases();
beforeAll(() => Promise.all(cases.map((c) => c.start())));
afterAll(() => Promise.all(cases.map((c) => c.stop())));

describe.each(cases)('the $name provider keeps the contract', (c) => {
  let provider: Provider;
  let h: KeeperHarness;
  const harness = () => keeperHarness(provider, c.config, { resources: { 'contract-a': c.config, 'contract-b': c.config } });
  beforeAll(() => {
    provider = c.make(c.config);
  });
  afterAll(() => provider.close?.());
  afterEach(() => h.cleanup());

  it('grants what check then sees, and revokes it so check sees it gone, verified by the core', async () => {
    h = await harness();
    const grant = await h.granted(aUser());
    expect(await provider.check?.(await h.subject(grant))).toBe('present');
    const ended = await h.end(grant);
    expect(ended).toMatchObject({ kind: 'ended', verified: provider.check ? true : null });
    expect(await provider.check?.(await h.subject(grant))).toBe('absent');
  });

  it('ends a grant whose access was already taken away elsewhere, and revokes what was never granted', async () => {
    h = await harness();
    const grant = await h.granted(aUser());
    await provider.revoke(await h.subject(grant)); // a human removed it by hand
    expect(await h.end(grant)).toMatchObject({ kind: 'ended' });
    await expect(provider.revoke(await h.subject(grant))).resolves.toBeUndefined();
    expect(await provider.check?.(await h.subject(grant))).toBe('absent');
  });

  it('retries a transient failure of the service (5xx or throttling) and then grants', async () => {
    h = await harness();
    await c.failNextTransient(provider);
    const grant = await h.granted(aUser());
    // The SDK may retry on its own (Slack's client does); either way the fault was met and the grant went through.
    expect(c.faultsLeft?.() ?? 0).toBe(0);
    expect((await h.auditDetails('grant.activated'))[0]).toMatchObject({ attempts: expect.any(Number) });
    expect(await provider.check?.(await h.subject(grant))).toBe('present');
    await h.end(grant);
  });

  it('fails a permanent refusal at once, with a sentence saying what to fix, and leaves nothing granted', async () => {
    const broken = c.permanent();
    const failing = c.make(broken.config);
    h = await keeperHarness(failing, broken.config);
    const outcome = await h.grant(aUser());
    expect(outcome).toMatchObject({ kind: 'failed', problem: expect.stringMatching(broken.message) });
    const row = outcome.kind === "failed" ? await h.store.grantForRequest(outcome.request.id) : undefined;
    if (!row) throw new Error("the failed grant was not recorded");
    const direct = await failing.grant(await h.subject(row)).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(ProviderError);
    expect(direct).toMatchObject({ retryable: false });
    await failing.close?.();
  });

  it('keeps the access through an extension and still ends it', async () => {
    h = await harness();
    const grant = await h.granted(aUser());
    const request = await h.store.getRequest(grant.requestId);
    if (!request) throw new Error('no request');
    const extended = await h.keeper.extend(grant, request, 2 * 60 * 60_000, 'U0SEC1', 24 * 60 * 60_000);
    expect(extended?.expiresAt).toBe((grant.expiresAt ?? 0) + 2 * 60 * 60_000);
    expect(await provider.check?.(await h.subject(grant))).toBe('present');
    await c.expectExpiry?.(await h.subject(grant));
    expect(await h.end(grant)).toMatchObject({ kind: 'ended' });
    expect(await provider.check?.(await h.subject(grant))).toBe('absent');
  });

  it.each([
    ['the first', 0],
    ['the second', 1],
  ])('keeps overlapping grants of one person apart: ending %s leaves the other, ending both leaves nothing', async (_name, firstToEnd) => {
    h = await harness();
    const user = aUser();
    const grants = [await h.granted(user, 'contract-a'), await h.granted(user, 'contract-b')];
    const [first, second] = firstToEnd === 0 ? grants : [...grants].reverse();
    if (!first || !second) throw new Error('two grants expected');
    expect(await h.end(first)).toMatchObject({ kind: 'ended' });
    expect(await provider.check?.(await h.subject(second))).toBe('present');
    expect(await c.holds?.(await h.subject(second))).not.toBe(false);
    expect(await h.end(second)).toMatchObject({ kind: 'ended' });
    expect(await provider.check?.(await h.subject(second))).toBe('absent');
    expect(await c.holds?.(await h.subject(second))).not.toBe(true);
  });

  it('leaves nothing when overlapping grants of one person end at the same moment', async () => {
    h = await harness();
    const user = aUser();
    const grants = [await h.granted(user, 'contract-a'), await h.granted(user, 'contract-b'), await h.granted(user, 'contract-a')];
    const ends = await Promise.all(grants.map((g) => h.end(g)));
    expect(ends.map((e) => e.kind)).toEqual(['ended', 'ended', 'ended']);
    for (const grant of grants) expect(await provider.check?.(await h.subject(grant))).not.toBe('present');
    expect(await c.holds?.(await h.subject(grants[0] as never))).not.toBe(true);
  });
});
