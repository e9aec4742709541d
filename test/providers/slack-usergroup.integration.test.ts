// The slack_usergroup provider through the real Web API client against the fake Slack: membership, races, standing members.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/core/provider-error.ts';
import { slackUsergroupProvider } from '../../src/providers/slack-usergroup.ts';
import type { ProviderConfig } from '../../src/policy/schema.ts';
import { createWebClient } from '../../src/slack/slack-api.ts';
import { createUsergroupApi } from '../../src/slack/usergroup-api.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { keeperHarness } from '../support/keeper-harness.ts';

describe('slack_usergroup provider', () => {
  const slack = new FakeSlack();
  beforeAll(() => slack.start());
  afterAll(() => slack.stop());

  const providerFor = (usergroup: string) => {
    const api = createUsergroupApi(createWebClient('xoxb-test', slack.apiUrl), (_method, call) => call());
    const config = slackUsergroupProvider.schema.parse({ type: 'slack_usergroup', usergroup }) satisfies ProviderConfig;
    return slackUsergroupProvider.create(config, { env: {}, usergroups: api });
  };

  it('adds the user for the window and removes only them at the end', async () => {
    slack.usergroups.set('S0DEPLOY', ['U0OLD1', 'U0OLD2']);
    const provider = providerFor('S0DEPLOY');
    const subject = aSubject({ user: { slackId: 'U0NEW', email: null } });
    const { state } = await provider.grant(subject);
    expect(slack.usergroups.get('S0DEPLOY')).toEqual(['U0OLD1', 'U0OLD2', 'U0NEW']);
    expect(await provider.check?.({ ...subject, providerState: state ?? null })).toBe('present');
    await provider.revoke({ ...subject, providerState: state ?? null });
    expect(slack.usergroups.get('S0DEPLOY')).toEqual(['U0OLD1', 'U0OLD2']);
    expect(await provider.check?.({ ...subject, providerState: state ?? null })).toBe('absent');
  });

  it('ends 20 overlapping grants on one group with exactly the original members', async () => {
    slack.usergroups.set('S0RACE', ['U0KEEP1', 'U0KEEP2']);
    const provider = providerFor('S0RACE');
    const subjects = Array.from({ length: 20 }, (_, i) => aSubject({ user: { slackId: `U0RACE${i}`, email: null } }));
    const states = await Promise.all(subjects.map((s) => provider.grant(s)));
    expect(new Set(slack.usergroups.get('S0RACE'))).toEqual(new Set(['U0KEEP1', 'U0KEEP2', ...subjects.map((s) => s.user.slackId)]));
    // Revokes overlap with new grants and with each other, as expiries and requests do.
    const late = aSubject({ user: { slackId: 'U0LATE', email: null } });
    const lateGrant = provider.grant(late);
    await Promise.all(subjects.map((s, i) => provider.revoke({ ...s, providerState: states[i]?.state ?? null })));
    await provider.revoke({ ...late, providerState: (await lateGrant).state ?? null });
    expect(slack.usergroups.get('S0RACE')).toEqual(['U0KEEP1', 'U0KEEP2']);
  });

  it('leaves a standing member in the group at revoke', async () => {
    slack.usergroups.set('S0STAND', ['U0LEAD1']);
    const provider = providerFor('S0STAND');
    const subject = aSubject({ user: { slackId: 'U0LEAD1', email: null } });
    const { state } = await provider.grant(subject);
    expect(state).toEqual({ standing: true });
    await provider.revoke({ ...subject, providerState: state ?? null });
    expect(slack.usergroups.get('S0STAND')).toEqual(['U0LEAD1']);
    // The grant added nothing, so nothing of it is present.
    expect(await provider.check?.({ ...subject, providerState: state ?? null })).toBe('absent');
  });

  it('through the core: a crash mid-grant cannot turn Sesame\'s own membership into a "standing" one that is never removed', async () => {
    slack.usergroups.set('S0CRASH', ['U0KEEP1']);
    const config = slackUsergroupProvider.schema.parse({ type: 'slack_usergroup', usergroup: 'S0CRASH' });
    const h = await keeperHarness(providerFor('S0CRASH'), config, { resources: { a: config, b: config } });
    try {
      const interrupted = await h.granted('U0ALICE', 'a');
      // Crashed after Slack added her, before the grant was recorded: pending, no provider state.
      await h.sql.run("UPDATE grants SET state = 'pending', provider_state = NULL WHERE id = ?", interrupted.id);
      const next = await h.granted('U0ALICE', 'b');
      expect(await h.keeper.undoInterrupted(interrupted.id)).toBe(true);
      expect(slack.usergroups.get('S0CRASH')).toEqual(['U0KEEP1', 'U0ALICE']);
      await h.end(next);
      expect(slack.usergroups.get('S0CRASH')).toEqual(['U0KEEP1']);
    } finally {
      await h.cleanup();
    }
  });

  it('fails permanently, saying what to fix, for a user group that does not exist', async () => {
    const failure = await providerFor('S0NOPE').grant(aSubject()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ retryable: false, message: 'Slack user group S0NOPE does not exist in this workspace; fix provider.usergroup in the policy' });
  });

  it('fails retryably when Slack is down, and changes nothing', async () => {
    slack.usergroups.set('S0DOWN', ['U0KEEP1']);
    slack.failNext('usergroups.users.list', { status: 500 }, { status: 500 }, { status: 500 });
    const failure = await providerFor('S0DOWN').grant(aSubject()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: true, message: expect.stringContaining('Slack did not answer usergroups.users.list') });
    expect(slack.usergroups.get('S0DOWN')).toEqual(['U0KEEP1']);
  });
});
