// What every provider promises the core, checked against each real one: grant, check, revoke, and revoke again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantSubject, Provider } from '../../src/core/ports.ts';
import { postgresProvider } from '../../src/providers/postgres.ts';
import { slackUsergroupProvider } from '../../src/providers/slack-usergroup.ts';
import { webhookProvider } from '../../src/providers/webhook.ts';
import { createWebClient } from '../../src/slack/slack-api.ts';
import { createUsergroupApi } from '../../src/slack/usergroup-api.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const slack = new FakeSlack();
const receiver = new WebhookReceiver('contract-secret');
const env = { HOOK_SECRET: 'contract-secret', PG_URL: 'postgres://postgres@127.0.0.1:5432/test' };
const deps = () => ({ env, usergroups: createUsergroupApi(createWebClient('xoxb-test', slack.apiUrl), (_m, call) => call()) });

const cases: { name: string; make(): Provider }[] = [
  { name: 'webhook', make: () => webhookProvider.create(webhookProvider.schema.parse({ type: 'webhook', url: receiver.url, secret_env: 'HOOK_SECRET', check: true }), deps()) },
  { name: 'slack_usergroup', make: () => slackUsergroupProvider.create({ type: 'slack_usergroup', usergroup: 'S0CONTRACT' }, deps()) },
  { name: 'postgres', make: () => postgresProvider.create({ type: 'postgres', connection_env: 'PG_URL', roles: { read: 'pg_read_all_data' } }, deps()) },
];

beforeAll(async () => {
  await Promise.all([slack.start(), receiver.start()]);
  slack.usergroups.set('S0CONTRACT', ['U0KEEP1']);
});
afterAll(() => Promise.all([slack.stop(), receiver.stop()]));

describe.each(cases)('the $name provider keeps the contract', ({ make }) => {
  let provider: Provider;
  beforeAll(() => {
    provider = make();
  });
  afterAll(() => provider.close?.());

  it('grants what check then sees, and revokes it so check sees it gone', async () => {
    const subject = aSubject({ user: { slackId: 'U0CONTRACT', email: null } });
    const { state } = await provider.grant(subject);
    const granted: GrantSubject = { ...subject, providerState: state ?? null };
    expect(await provider.check?.(granted)).toBe('present');
    await provider.revoke(granted);
    expect(await provider.check?.(granted)).toBe('absent');
  });

  it('revokes idempotently: a second revoke, or one of a grant that never happened, succeeds', async () => {
    const subject = aSubject({ user: { slackId: 'U0CONTRACT2', email: null } });
    const { state } = await provider.grant(subject);
    const granted: GrantSubject = { ...subject, providerState: state ?? null };
    await provider.revoke(granted);
    await expect(provider.revoke(granted)).resolves.toBeUndefined();
    await expect(provider.revoke(aSubject({ user: { slackId: 'U0NEVER', email: null } }))).resolves.toBeUndefined();
    expect(await provider.check?.(granted)).toBe('absent');
  });
});
