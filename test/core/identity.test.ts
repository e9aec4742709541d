// resolveIdentity: the identities table first, then the provider's attribute of the Slack profile, else a sentence.
import { describe, expect, it } from 'vitest';
import { resolveIdentity, type IdentityNeed } from '../../src/core/identity.ts';

const github: IdentityNeed = { table: 'github', attribute: 'username', provider: 'the github_team provider' };
const alice = { slackId: 'U0ALICE', email: 'alice@corp.example' };

describe('resolveIdentity', () => {
  it('takes the policy table over any profile attribute', () => {
    expect(resolveIdentity(github, alice, { U0ALICE: { github: 'alice-gh', aws: 'alice@corp' } })).toEqual({ ok: true, value: 'alice-gh' });
  });

  it('uses the email, its part before the "@", or the Slack id, as the provider asks', () => {
    expect(resolveIdentity({ ...github, attribute: 'email' }, alice, {})).toEqual({ ok: true, value: 'alice@corp.example' });
    expect(resolveIdentity(github, alice, {})).toEqual({ ok: true, value: 'alice' });
    expect(resolveIdentity({ ...github, attribute: 'slack_id' }, { slackId: 'U0ALICE', email: null }, {})).toEqual({ ok: true, value: 'U0ALICE' });
  });

  it("ignores another provider's column of the table", () => {
    expect(resolveIdentity(github, alice, { U0ALICE: { aws: 'alice@corp' } })).toEqual({ ok: true, value: 'alice' });
  });

  it('refuses with a sentence naming the missing mapping when there is no usable email', () => {
    for (const email of [null, '', 'not-an-email', '@corp', 'alice@']) {
      expect(resolveIdentity(github, { slackId: 'U0BOB', email }, {})).toEqual({
        ok: false,
        error:
          'Sesame cannot tell who <@U0BOB> is at the github_team provider: it maps people by their Slack profile email and found none. ' +
          'Add settings.identities.U0BOB.github to the policy, or an email to their Slack profile, and request again.',
      });
    }
  });
});
