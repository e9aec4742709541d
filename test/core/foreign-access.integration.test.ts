// A grant that finds its name already taken at the provider (another Sesame's login, a stale binding) fails
// without touching it: the undo that follows an ordinary failed grant would destroy someone else's access.
import { afterEach, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import { FakeProvider } from '../support/fakes.ts';
import { keeperHarness, type KeeperHarness } from '../support/keeper-harness.ts';

/** A provider whose thing for the next grant already exists and belongs to someone else. */
class TakenNameProvider extends FakeProvider {
  readonly revoked: string[] = [];
  constructor(private readonly nothingGranted: boolean) {
    super();
  }
  override async grant(): Promise<{ message?: string }> {
    throw new ProviderError('a database role sesame_g1 already exists and is not this grant\'s', false, { nothingGranted: this.nothingGranted });
  }
  override async revoke(s: GrantSubject) {
    this.revoked.push(s.grantId);
  }
}

describe('a grant whose name is already taken at the provider', () => {
  let h: KeeperHarness;
  afterEach(() => h.cleanup());

  it('fails the request and leaves the other party\'s access alone', async () => {
    const provider = new TakenNameProvider(true);
    h = await keeperHarness(provider, { type: 'noop' });
    const outcome = await h.grant('U0ALICE');
    expect(outcome).toMatchObject({ kind: 'failed', problem: expect.stringContaining('already exists and is not this grant') });
    expect(provider.revoked).toEqual([]);
  });

  it('still undoes an ordinary failed grant, which may have happened after all', async () => {
    const provider = new TakenNameProvider(false);
    h = await keeperHarness(provider, { type: 'noop' });
    expect(await h.grant('U0ALICE')).toMatchObject({ kind: 'failed' });
    expect(provider.revoked).toHaveLength(1);
  });
});
