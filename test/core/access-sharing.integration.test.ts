// Identity and overlapping grants in the GrantKeeper: who is granted, what is refused before any grant, and when the last end revokes.
import { afterEach, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import type { ProviderConfig } from '../../src/policy/schema.ts';
import { FakeProvider, StaticDirectory } from '../support/fakes.ts';
import { keeperHarness, type KeeperHarness } from '../support/keeper-harness.ts';

/** A provider granting one thing per person (like a team membership): it tracks who holds it by identity, not by grant. */
class CountedProvider extends FakeProvider {
  readonly identity = { table: 'github', attribute: 'username' as const, provider: 'the counted provider' };
  readonly members = new Set<string>();
  readonly granted: string[] = [];
  accessKey = (s: Pick<GrantSubject, 'identity'>) => `counted:${s.identity}`;
  override async grant(s: GrantSubject) {
    await super.grant(s);
    this.granted.push(s.identity ?? '');
    this.members.add(s.identity ?? '');
    return {};
  }
  override async revoke(s: GrantSubject) {
    await super.revoke(s);
    this.members.delete(s.identity ?? '');
  }
  override async check(s: GrantSubject) {
    await super.check(s);
    return this.members.has(s.identity ?? '') ? ('present' as const) : ('absent' as const);
  }
}

class ChangingDirectory extends StaticDirectory {
  readonly emails = new Map<string, string | null>();
  override async userEmail(user: string): Promise<string | null> {
    return this.emails.has(user) ? (this.emails.get(user) ?? null) : super.userEmail(user);
  }
}

const config: ProviderConfig = { type: 'noop' };

describe('GrantKeeper with identities and access keys', () => {
  let h: KeeperHarness;
  afterEach(() => h.cleanup());

  it('grants to the mapped account and revokes that same account after the Slack email changed', async () => {
    const provider = new CountedProvider();
    const directory = new ChangingDirectory();
    h = await keeperHarness(provider, config, { directory, identities: { U0ALICE: { github: 'alice-gh' } } });
    const alice = await h.granted('U0ALICE');
    const bob = await h.granted('U0BOB');
    expect(provider.granted).toEqual(['alice-gh', 'u0bob']);
    expect([alice.identity, bob.identity]).toEqual(['alice-gh', 'u0bob']);

    directory.emails.set('U0BOB', 'someone-else@example.com'); // the profile changes while the grant runs
    await h.end(bob);
    expect([...provider.members]).toEqual(['alice-gh']);
  });

  it('refuses someone it cannot map before asking the provider anything', async () => {
    const provider = new CountedProvider();
    const directory = new ChangingDirectory();
    directory.emails.set('U0NOMAIL', null);
    h = await keeperHarness(provider, config, { directory });
    const outcome = await h.grant('U0NOMAIL');
    expect(outcome).toMatchObject({ kind: 'failed', problem: expect.stringContaining('Add settings.identities.U0NOMAIL.github to the policy') });
    expect(provider.calls).toEqual([]);
    expect((await h.auditDetails('grant.failed'))).toHaveLength(1);
  });

  it('grants shared access once and revokes it only at the last end, auditing who kept it', async () => {
    const provider = new CountedProvider();
    h = await keeperHarness(provider, config, { resources: { a: config, b: config } });
    const first = await h.granted('U0ALICE', 'a');
    const second = await h.granted('U0ALICE', 'b');
    expect(provider.count('grant')).toBe(1);
    expect((await h.auditDetails('grant.activated'))[1]).toMatchObject({ shared_with: `G${first.id}` });

    await h.end(first);
    expect(provider.count('revoke')).toBe(0);
    expect(provider.members.has('u0alice')).toBe(true);
    expect((await h.auditDetails('grant.revoked'))[0]).toMatchObject({ kept_for: [`G${second.id}`] });
    await h.end(second);
    expect(provider.members.has('u0alice')).toBe(false);
  });

  it('grants again when the shared access went missing at the provider meanwhile', async () => {
    const provider = new CountedProvider();
    h = await keeperHarness(provider, config, { resources: { a: config, b: config } });
    await h.granted('U0ALICE', 'a');
    provider.members.clear(); // removed by hand
    await h.granted('U0ALICE', 'b');
    expect(provider.members.has('u0alice')).toBe(true);
  });

  it('refuses an overlapping grant of the same access through a differently configured block', async () => {
    const provider = new CountedProvider();
    const other: ProviderConfig = { type: 'webhook', url: 'https://hooks.example.com/x', secret_env: 'X_SECRET', check: false, insecure_http: false };
    h = await keeperHarness(provider, config, { resources: { a: config, b: other } });
    const first = await h.granted('U0ALICE', 'a');
    const outcome = await h.grant('U0ALICE', 'b');
    expect(outcome).toMatchObject({ kind: 'failed', problem: expect.stringContaining(`ask again when G${first.id} has ended, or revoke it first`) });
    expect(provider.count('grant')).toBe(1);
    await h.end(first);
    expect(provider.members.size).toBe(0);
  });

  it('does not undo a live grant when an overlapping one fails at the provider', async () => {
    const provider = new CountedProvider();
    h = await keeperHarness(provider, config, { resources: { a: config, b: config } });
    await h.granted('U0ALICE', 'a');
    provider.members.clear();
    provider.failGrants = 3; // the re-grant of the shared access fails for good
    expect(await h.grant('U0ALICE', 'b')).toMatchObject({ kind: 'failed' });
    expect(provider.count('revoke')).toBe(0);
  });

  it('revokes at the last live end even when an interrupted grant of the same access was left pending', async () => {
    const provider = new CountedProvider();
    h = await keeperHarness(provider, config, { resources: { a: config, b: config } });
    const live = await h.granted('U0ALICE', 'a');
    const pending = await h.granted('U0ALICE', 'b');
    // As if Sesame crashed while granting: the row is pending again and nothing recorded its provider state.
    await h.sql.run("UPDATE grants SET state = 'pending', provider_state = NULL WHERE id = ?", pending.id);
    await h.end(live);
    expect(provider.members.has('u0alice')).toBe(false); // the interrupted grant gets undone; it keeps nothing alive
    expect(await h.keeper.undoInterrupted(pending.id)).toBe(true);
    expect(provider.members.has('u0alice')).toBe(false);
  });

  it('does not undo a live grant when an interrupted one of the same access is undone', async () => {
    const provider = new CountedProvider();
    h = await keeperHarness(provider, config, { resources: { a: config, b: config } });
    const live = await h.granted('U0ALICE', 'a');
    const pending = await h.granted('U0ALICE', 'b');
    await h.sql.run("UPDATE grants SET state = 'pending' WHERE id = ?", pending.id);
    expect(await h.keeper.undoInterrupted(pending.id)).toBe(true);
    expect(provider.members.has('u0alice')).toBe(true);
    await h.end(live);
    expect(provider.members.has('u0alice')).toBe(false);
  });

  it('shares with an interrupted grant rather than taking its access for a standing one', async () => {
    const provider = new CountedProvider();
    h = await keeperHarness(provider, config, { resources: { a: config, b: config } });
    const interrupted = await h.granted('U0ALICE', 'a');
    await h.sql.run("UPDATE grants SET state = 'pending', provider_state = NULL WHERE id = ?", interrupted.id);
    const next = await h.granted('U0ALICE', 'b');
    expect((await h.auditDetails('grant.activated'))[1]).toMatchObject({ shared_with: `G${interrupted.id}` });
    expect(await h.keeper.undoInterrupted(interrupted.id)).toBe(true);
    expect(provider.members.has('u0alice')).toBe(true);
    await h.end(next);
    expect(provider.members.has('u0alice')).toBe(false);
  });
});
