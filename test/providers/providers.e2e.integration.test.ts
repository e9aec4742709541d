// Real providers behind the whole app: /access over signed HTTP grants a Postgres login, a webhook and a user group, then takes them away.
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_TOKEN, PEOPLE, SIGNING_SECRET, startE2E, type E2E } from '../support/e2e.ts';
import { PG_ADMIN_URL as PG_URL, PgSandbox } from '../support/pg-sandbox.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const HOOK_SECRET = 'e2e-hook-secret-abcdef';

/** A crashed earlier run may have left `sesame_g1`…; this database's grant ids start again at G1. */
async function dropLeftoverLogins(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const { rows } = await admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname ~ '^sesame_g[0-9]{1,4}$'");
  for (const { rolname } of rows) await admin.query(`DROP OWNED BY ${pg.escapeIdentifier(rolname)}; DROP ROLE ${pg.escapeIdentifier(rolname)}`);
  await admin.end();
}

describe('providers, end to end', () => {
  let e: E2E;
  const box = new PgSandbox();
  const receiver = new WebhookReceiver(HOOK_SECRET);
  const logLines: string[] = [];
  const secrets = [HOOK_SECRET, SIGNING_SECRET, BOT_TOKEN];
  const logSink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });

  beforeAll(async () => {
    await dropLeftoverLogins();
    await box.start();
    await receiver.start();
    e = await startE2E(
      {
        // Low tiers everywhere, so each request is granted at once and the test is about the providers.
        resources: {
          'staging-db': { provider: { type: 'postgres', connection_env: 'E2E_PG_URL', roles: { read: box.reader, write: 'pg_write_all_data' } } },
          'prod-db': { tier: 'low', roles: { read: { tier: 'low' } }, provider: { type: 'webhook', url: receiver.url, secret_env: 'E2E_HOOK_SECRET', check: true } },
          deployers: { tier: 'low' },
        },
      },
      { env: { E2E_PG_URL: box.sesameUrl, E2E_HOOK_SECRET: HOOK_SECRET }, log: pino({ level: 'debug' }, logSink) },
    );
  });
  afterAll(async () => {
    await e.stop();
    await receiver.stop();
    await box.stop();
  });

  const command = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user });
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };
  const grantIdIn = (text: string) => /`(G\d+)`/.exec(text)?.[1] ?? '';
  const dmsTo = (user: string) => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => JSON.stringify(c));
  const auditText = async () => JSON.stringify(await e.sql.all('SELECT * FROM audit_log'));

  it('DMs working Postgres credentials that appear in no log, no audit entry and no notification text, and deletes them at revoke', async () => {
    const grantId = grantIdIn(await command('request staging-db read 1h checking a report'));
    expect(grantId).not.toBe('');
    const dm = await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes('psql')), 'the credentials DM');
    const url = /psql \\"([^"\\]+)\\"/.exec(dm)?.[1] ?? '';
    const password = new URL(url).password;
    expect(password.length).toBeGreaterThan(20);
    // What a phone shows in its notification is `text`: the grant, never the credentials.
    const posted = e.slack.callsTo('chat.postMessage').find((c) => JSON.stringify(c).includes(password));
    expect(posted?.text).toMatch(new RegExp(`^🔓 You have .* \\(${grantId}\\) until .*The details are in this message\\.$`));
    expect(String(posted?.text)).not.toContain(password);
    // Recorded once Slack has answered the post, which may be just after the fake Slack saw it.
    await e.slack.waitFor(async () => (await e.sesame.store.getGrant(Number(grantId.slice(1))))?.dmTs, 'the stored DM');
    expect(await e.sesame.store.getGrant(Number(grantId.slice(1)))).toMatchObject({ dmChannel: PEOPLE.engineer, dmTs: expect.any(String) });

    const session = new pg.Client({ connectionString: url });
    await session.connect();
    expect((await session.query('SELECT current_user AS me')).rows[0]).toEqual({ me: `sesame_${grantId.toLowerCase()}` });
    session.on('error', () => undefined);

    expect(await command(`revoke ${grantId}`)).toBe(`🔒 \`${grantId}\` is revoked.`);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await session.end().catch(() => undefined);
    await e.slack.waitFor(async () => (await e.auditActions()).includes('grant.verified_absent'), 'the verification');

    expect(await auditText()).not.toContain(password);
    // The DM with the password is gone from Slack once the grant ends.
    await e.slack.waitFor(() => e.slack.callsTo('chat.delete').length > 0, 'the credentials DM to be deleted');
    expect([...e.slack.messages.values()].filter((m) => JSON.stringify(m).includes(password))).toEqual([]);
    // Forgotten once Slack has answered the delete, which may be just after the fake Slack saw it.
    await e.slack.waitFor(async () => (await e.sesame.store.getGrant(Number(grantId.slice(1))))?.dmTs === null || null, 'the stored DM to be forgotten');
    expect(await e.sesame.store.getGrant(Number(grantId.slice(1)))).toMatchObject({ dmChannel: null, dmTs: null });
    secrets.push(password);
  });

  it('cuts a Postgres login off at revoke even when its clean-up fails, says which role is left, and a later sweep finishes it', async () => {
    const grantId = grantIdIn(await command('request staging-db read 1h checking another report'));
    const login = `sesame_${grantId.toLowerCase()}`;
    const dm = await e.slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(login)), 'the credentials DM');
    const url = /psql \\"([^"\\]+)\\"/.exec(dm)?.[1] ?? '';
    secrets.push(new URL(url).password);
    // The grantee leaves a table in a second database, which Sesame's role is then not allowed to enter.
    const elsewhere = new URL(url);
    elsewhere.pathname = `/${box.otherDb}`;
    const session = new pg.Client({ connectionString: elsewhere.toString() });
    await session.connect();
    await session.query('CREATE TABLE left_for_cleanup (n int)');
    await session.end();
    await box.admin.query(`REVOKE CONNECT ON DATABASE ${box.otherDb} FROM PUBLIC`);
    await box.admin.query(`GRANT CONNECT ON DATABASE ${box.otherDb} TO ${box.reader}`);

    expect(await command(`revoke ${grantId}`)).toBe(`🔒 \`${grantId}\` is revoked.`);
    await expect(new pg.Client({ connectionString: url }).connect()).rejects.toThrow(/not permitted to log in/);
    const pending = (await e.sql.get("SELECT details FROM audit_log WHERE action = 'grant.cleanup_pending' AND grant_id = ?", grantId)) as { details: string } | undefined;
    expect(JSON.parse(pending?.details ?? '{}')).toMatchObject({ provider: 'postgres', problem: expect.stringContaining(`the database role ${login} can no longer log in and holds no role`) });
    const auditPost = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0AUDIT' && String(c.text).includes('🧹')), 'the audit-channel line');
    expect(String(auditPost.text)).toContain(`(${grantId})`);
    expect(String(auditPost.text)).toContain(`the database role ${login}`);
    expect(await e.sesame.store.getGrant(Number(grantId.slice(1)))).toMatchObject({ state: 'revoked', cleanupPending: expect.stringContaining(login) });

    expect((await e.sesame.reconcile()).cleanedUp).toBe(0); // still not allowed in: nothing changes
    await box.admin.query(`GRANT CONNECT ON DATABASE ${box.otherDb} TO ${box.sesame}`);
    expect((await e.sesame.reconcile()).cleanedUp).toBe(1);
    expect(await box.roleExists(login)).toBe(false);
    await box.inOtherDb(async (client) => expect((await client.query("SELECT 1 FROM pg_class WHERE relname = 'left_for_cleanup'")).rowCount).toBe(0));
    expect((await e.sesame.store.getGrant(Number(grantId.slice(1))))?.cleanupPending).toBeNull();
    expect((await e.auditActions()).filter((a) => a.startsWith('grant.cleanup'))).toEqual(['grant.cleanup_pending', 'grant.cleanup_done']);
  });

  it('calls the webhook with the requester\'s email, relays its message, and verifies the revoke with a check', async () => {
    e.slack.emails.set(PEOPLE.engineer2, 'eng2@example.com');
    const grantId = grantIdIn(await command('request prod-db read 1h INC-42 debugging', PEOPLE.engineer2));
    await e.slack.waitFor(() => dmsTo(PEOPLE.engineer2).find((t) => t.includes('ssh bastion.example.com')), 'the webhook message in a DM');
    expect(receiver.received[0]).toMatchObject({ event: 'grant', signatureValid: true, payload: { grant_id: grantId, user: { slack_id: PEOPLE.engineer2, email: 'eng2@example.com' }, resource: 'prod-db', breakglass: false } });

    await command(`revoke ${grantId}`, PEOPLE.engineer2);
    expect(receiver.received.map((r) => r.event)).toEqual(['grant', 'revoke', 'check']);
    expect(receiver.present.size).toBe(0);
  });

  it('adds the requester to the user group and removes only them', async () => {
    e.slack.usergroups.set('S0DEPLOY', [PEOPLE.lead1]);
    const grantId = grantIdIn(await command('request deployers member 30m shipping a hotfix', PEOPLE.engineer));
    expect(e.slack.usergroups.get('S0DEPLOY')).toEqual([PEOPLE.lead1, PEOPLE.engineer]);
    await command(`revoke ${grantId}`);
    expect(e.slack.usergroups.get('S0DEPLOY')).toEqual([PEOPLE.lead1]);
  });

  it('fails the request and tells the requester when the webhook is down, after retries', async () => {
    receiver.mode = 'fail';
    receiver.received.length = 0;
    const text = await command('request prod-db read 1h INC-43 again', PEOPLE.engineer2);
    expect(text).toMatch(/answered 503 to grant/);
    // Three tries, then a revoke in case one of them did grant after all.
    expect(receiver.received.map((r) => r.event)).toEqual(['grant', 'grant', 'grant', 'revoke', 'revoke', 'revoke']);
    expect((await e.auditActions()).at(-1)).toBe('grant.failed');
    receiver.mode = 'ok';
  });

  it('logged nothing secret in the whole run, at debug level: no password, webhook secret, signing secret or bot token', () => {
    // The run did log, a line per state change with its ids.
    const events = logLines.map((l) => JSON.parse(l) as { event?: string; grantId?: string; requestId?: string });
    expect(events.find((l) => l.event === 'grant_activated')).toMatchObject({ grantId: 'G1', requestId: 'R1' });
    expect(events.find((l) => l.event === 'grant_ended')).toMatchObject({ grantId: 'G1' });
    expect(secrets).toHaveLength(5);
    for (const secret of secrets) expect(logLines.filter((l) => l.includes(secret)).map((l) => l.slice(0, 300))).toEqual([]);
  });
});
