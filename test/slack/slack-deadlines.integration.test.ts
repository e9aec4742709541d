// A Slack that accepts connections and never answers: the Web API client, start-up and the user-group queue give up.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import { startSesame, StartupError } from '../../src/main.ts';
import { createUsergroupProvider } from '../../src/providers/slack-usergroup.ts';
import type { timedFetch } from '../../src/slack/slack-api.ts';
import { createWebClient, SLACK_TIMEOUT_MS, webClientOptions } from '../../src/slack/slack-api.ts';
import { createUsergroupApi } from '../../src/slack/usergroup-api.ts';
import { deleteKeys } from '../support/e2e.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { EXAMPLE_POLICY_PATH } from '../support/policy-fixtures.ts';

describe('a Slack that never answers', () => {
  let silent: Server;
  let apiUrl: string;
  beforeAll(async () => {
    // Reads every request and never writes a byte back.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/`;
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('gives every Web API client (ours and Bolt\'s) a deadline by default', () => {
    // The deadline is the fetch's (the tests below show it holds); the client's own timeout would only repeat it.
    expect((webClientOptions(undefined).fetch as ReturnType<typeof timedFetch>).timeoutMs).toBe(SLACK_TIMEOUT_MS);
    expect(SLACK_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
  });

  it('bounds the fetch Bolt uses for respond() to a response_url that never answers', async () => {
    const fetch = webClientOptions(undefined, 200).fetch as typeof globalThis.fetch;
    await expect(fetch(`${apiUrl.replace('/api/', '')}/response/1`, { method: 'POST', body: '{}' })).rejects.toThrow(/timeout|aborted/i);
  });

  it('fails a Web API call instead of hanging', async () => {
    const client = createWebClient('xoxb-test', apiUrl, undefined, 200);
    await expect(client.chat.postMessage({ channel: 'C1', text: 'hello' })).rejects.toThrow(/timeout/i);
  });

  it('refuses to start with a sentence rather than waiting forever for auth.test', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-silent-'));
    try {
      const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-x', SLACK_SIGNING_SECRET: 'secret-123456', SLACK_API_URL: apiUrl, DATABASE_PATH: join(dir, 's.db'), POLICY_PATH: EXAMPLE_POLICY_PATH, STAGING_PG_URL: 'postgres://127.0.0.1/x', PROD_DB_HOOK_SECRET: 's' });
      if (!config.ok) throw new Error(config.error.join());
      const failure = await startSesame({ ...config.value, port: 0 }, { log: pino({ level: 'silent' }), redisPrefix: 'sesame-silent-test', watchPolicyFile: false, slackTimeoutMs: 200 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StartupError);
      expect((failure as StartupError).problems[0]).toMatch(/^Could not reach Slack at http:\/\/127\.0\.0\.1:\d+\/api\/ to verify the bot token \(.*timeout.*\); check the network, or SLACK_API_URL\.$/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await deleteKeys('sesame-silent-test:*'); // the queues it opened before giving up
    }
  });

  it('frees a user group\'s queue when a change overruns its deadline, and the stuck change writes nothing late', async () => {
    let release: (members: string[]) => void = () => undefined;
    const writes: string[][] = [];
    let calls = 0;
    const api = {
      members: () => (calls++ === 0 ? new Promise<string[]>((resolve) => (release = resolve)) : Promise.resolve(['U0KEEP'])),
      setMembers: async (_group: string, users: string[]) => void writes.push(users),
    };
    const provider = createUsergroupProvider('S0STUCK', api, 300);
    const stuck = provider.grant(aSubject({ user: { slackId: 'U0STUCK', email: null } }));
    const next = provider.grant(aSubject({ user: { slackId: 'U0NEXT', email: null } }));
    await expect(stuck).rejects.toThrow(new ProviderError('changing Slack user group S0STUCK took longer than 0.3 s; it will be tried again', true));
    await expect(next).resolves.toEqual({ state: { standing: false } });
    release(['U0KEEP']);
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toEqual([['U0KEEP', 'U0NEXT']]);
  });

  it('fails a user-group change through the real client against the silent Slack', async () => {
    const provider = createUsergroupProvider('S0SILENT', createUsergroupApi(createWebClient('xoxb-test', apiUrl, undefined, 100), (_m, call) => call()), 20_000);
    await expect(provider.revoke(aSubject({ user: { slackId: 'U0X', email: null } }))).rejects.toThrow('Slack did not answer usergroups.users.list for user group S0SILENT; it will be tried again');
  });
});
