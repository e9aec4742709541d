// The start-up check of the channels a policy names.
import { describe, expect, it } from 'vitest';
import { policyChannels, warnAboutUnknownChannels } from '../../src/slack/channel-check.ts';
import { StaticDirectory } from '../support/fakes.ts';
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

  it('warns about the channels Slack does not know, naming the policy path', async () => {
    const warnings: string[] = [];
    const log = { info: () => {}, error: () => {}, warn: (_f: object, message: string) => void warnings.push(message) };
    const directory = new StaticDirectory({}, { C0APPROVALS: 'approvals', C0AUDIT: 'audit', C0SECALERTS: 'sec-alerts' });
    expect(await warnAboutUnknownChannels(policy, directory, log)).toEqual(['C0DBA']);
    expect(warnings).toEqual(['resources.prod-db.approvals_channel: Slack does not know channel C0DBA; fix the ID, or invite Sesame to it (private channels must invite it)']);
  });
});
