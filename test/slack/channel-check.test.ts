// The channels a policy names, which `sesame doctor` checks in Slack.
import { describe, expect, it } from 'vitest';
import { policyChannels } from '../../src/slack/channel-check.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

describe('channel check', () => {
  const { policy } = aLoadedPolicy();

  it('finds every channel the policy names, with where it is named', () => {
    expect(policyChannels(policy)).toEqual([
      { path: 'settings.approvals_channel', id: 'C0APPROVALS' },
      { path: 'settings.audit_channel', id: 'C0AUDIT' },
      { path: 'breakglass.notify[0]', id: 'C0SECALERTS' },
      { path: 'resources.prod-db.approvals_channel', id: 'C0DBA' },
    ]);
  });

});
