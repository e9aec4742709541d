// What a requester is told about length and failure: durations as people type them, the default said aloud, a failed grant reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

describe('replies about the length of a grant, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E();
  });
  afterAll(async () => {
    await e.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user });
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };

  it('reads one-word spellings of a duration and grants that length', async () => {
    expect(await reply('request sandbox admin 1hour testing')).toMatch(/^✅ Granted: `sandbox` `admin` for 1h until /);
    expect(await reply('request sandbox 90min testing')).toMatch(/^✅ Granted: `sandbox` `admin` for 1h30m until /);
    expect(await reply('request sandbox 1.5h testing')).toMatch(/ for 1h30m until /);
    const grants = (await e.sql.all("SELECT reason FROM requests WHERE resource = 'sandbox' ORDER BY id")) as { reason: string }[];
    expect(grants.map((g) => g.reason)).toEqual(['testing', 'testing', 'testing']);
  });

  it('refuses a word that starts with a digit but is no duration, instead of granting the default', async () => {
    const before = (await e.auditActions()).length;
    const text = await reply('request sandbox admin 1hourz testing');
    expect(text).toBe('"1hourz" is not a duration; write it like 90s, 30m, 2h, 1d, 1h30m, 1.5h, 90min or 2hours.');
    expect((await e.auditActions()).length).toBe(before);
  });

  it('says when the length is the default because none was given', async () => {
    expect(await reply('request sandbox just looking')).toMatch(/^✅ Granted: `sandbox` `admin` for 2h \(the default for this tier\) until /);
    expect(await reply('request prod-db write schema change INC-3')).toMatch(/^⏳ Request `R\d+` for `prod-db` `write` \(1h, the default for this tier\) is waiting for `security`/);
  });
});

describe('a grant that fails at the provider, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    // Nothing listens on port 1, so every attempt to grant fails.
    e = await startE2E(
      { resources: { ...NOOP_PROVIDERS?.resources, sandbox: { provider: { type: 'webhook', url: 'http://127.0.0.1:1/grant', secret_env: 'SANDBOX_HOOK_SECRET' } } } },
      { env: { SANDBOX_HOOK_SECRET: 'a-test-secret-of-some-length' } },
    );
  });
  afterAll(async () => {
    await e.stop();
  });

  it('tells the requester and posts the failure to the audit channel', async () => {
    const sent = await e.signer.command('request sandbox 1h testing', { user: PEOPLE.engineer });
    const text = String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'the reply')).text);
    expect(text).toMatch(/^⚠️ Request `R\d+` for `sandbox` `admin` was approved, but granting it failed/);
    const id = /`(R\d+)`/.exec(text)?.[1] ?? '';
    const auditPost = await e.slack.waitFor(
      () => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0AUDIT' && String(c.text).includes(`Granting \`${id}\``)),
      'the audit-channel line',
    );
    expect(String(auditPost.text)).toMatch(new RegExp(`to <@${PEOPLE.engineer}> failed: \``));
  });
});
