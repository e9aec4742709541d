// Attacks on the real process: `node bin/sesame.js start` with the fake Slack and a SIEM receiver on loopback.
// Forged, unsigned, stale, future-dated and replayed requests; a run of the new flows; then `sesame audit verify`
// and the SIEM copy checked for completeness, order and leaked secrets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.ts';
import { PEOPLE } from '../support/access-harness.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { NOOP_PROVIDERS } from '../support/e2e.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';
import { SiemReceiver } from '../support/siem-receiver.ts';
import { SlackSigner } from '../support/signed-client.ts';
import { sesame as runCli } from '../support/run-cli.ts';
import { processDatabase, type ProcessDatabase } from '../support/process-database.ts';

const SIGNING = 'adv-signing-secret-0123456789';
const BOT = 'xoxb-adv-bot-token-SECRET';
const SIEM_KEY = 'adv-siem-key-SECRET-42';
const SIEM_AUTH = 'Splunk adv-hec-token-SECRET';

describe('attacks on the real process', () => {
  const slack = new FakeSlack();
  const siem = new SiemReceiver(SIEM_KEY);
  let dir: string;
  let port: number;
  let sesame: SesameProcess;
  let signer: SlackSigner;
  let db: ProcessDatabase;

  beforeAll(async () => {
    await slack.start();
    await siem.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
    slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    slack.usergroups.set('S0DEPLOY', []);
    slack.channels.set('C0INC42', { name: 'inc-42-db-down' });
    slack.channels.set('C0GENERAL', { name: 'general' });
    dir = mkdtempSync(join(tmpdir(), 'sesame-adv-'));
    db = await processDatabase(dir);
    const policy = aPolicyInput({
      ...NOOP_PROVIDERS,
      settings: { audit_stream: { url: siem.url, secret_env: 'ADV_SIEM_KEY', authorization_env: 'ADV_SIEM_AUTH', batch: 3 } },
      bundles: { kit: ['sandbox:admin', 'staging-db:read'] },
    } as Parameters<typeof aPolicyInput>[0]);
    writeFileSync(join(dir, 'policy.yaml'), stringify(policy));
    port = await freePort();
    const env = { ...process.env, SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SIGNING, SLACK_API_URL: slack.apiUrl, PORT: String(port), ...db.env, POLICY_PATH: join(dir, 'policy.yaml'), REDIS_URL: 'redis://127.0.0.1:6379/5', LOG_LEVEL: 'warn', ADV_SIEM_KEY: SIEM_KEY, ADV_SIEM_AUTH: SIEM_AUTH };
    sesame = spawnSesame(['start'], env);
    await untilReady(sesame, port);
    signer = new SlackSigner(`http://127.0.0.1:${port}/slack/events`, SIGNING, (id) => slack.responseUrl(id));
  }, 60_000);

  afterAll(async () => {
    if (sesame?.child.exitCode === null) {
      sesame.child.kill('SIGTERM');
      await sesame.exited();
    }
    await db?.close();
    await slack.stop();
    await siem.stop();
    const redis = new Redis('redis://127.0.0.1:6379/5');
    const keys = await redis.keys('sesame:*');
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const reply = async (text: string, user: string, channel = 'C0GENERAL') => {
    const sent = await signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    return String((await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const body = (text: string, user: string) =>
    new URLSearchParams({ token: 'x', team_id: 'T0TEAM', channel_id: 'C0GENERAL', user_id: user, command: '/access', text, response_url: slack.responseUrl('forged'), trigger_id: 't' }).toString();

  it('refuses unsigned, wrongly signed, stale and future-dated commands, and acts once on a replay', async () => {
    const form = 'application/x-www-form-urlencoded';
    const url = `http://127.0.0.1:${port}/slack/events`;
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': form }, body: body(`revoke-all <@${PEOPLE.lead1}> x`, PEOPLE.security) });
    expect(unsigned.status).toBe(401);
    expect((await signer.send(body(`revoke-all <@${PEOPLE.lead1}> x`, PEOPLE.security), form, { secret: 'wrong-secret-0000000' })).status).toBe(401);
    expect((await signer.send(body(`revoke-all <@${PEOPLE.lead1}> x`, PEOPLE.security), form, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    expect((await signer.send(body(`revoke-all <@${PEOPLE.lead1}> x`, PEOPLE.security), form, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 })).status).toBe(401);
    // A header spelled differently but equal as a number (leading zeros, fraction) must not make a replay new.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(slack.responsesTo('forged')).toEqual([]);

    // A real admin's command, then delivered again byte for byte and with a re-spelled timestamp header.
    expect(await reply(`revoke-all <@${PEOPLE.engineer2}> replay test SEC-1`, PEOPLE.security)).toContain('is blocked');
    const first = signer.lastSent!;
    expect(await reply(`unblock <@${PEOPLE.engineer2}>`, PEOPLE.security)).toContain('may request access again');
    const again = await signer.deliver(first);
    expect(again.status).toBe(200);
    const ts = first.headers['x-slack-request-timestamp'] as string;
    const respelled = await signer.deliver({ ...first, headers: { ...first.headers, 'x-slack-request-timestamp': `0${ts}` } });
    expect([200, 401]).toContain(respelled.status);
    await new Promise((r) => setTimeout(r, 1_500));
    // Not re-blocked by the replays.
    expect(await reply('request sandbox 1h CHG-9 after replays', PEOPLE.engineer2)).toMatch(/^✅ Granted/);
  });

  it('runs the new flows; the log verifies and the SIEM copy is complete, in order and free of secrets', async () => {
    expect(await reply('request kit 1h CHG-2 bundle', PEOPLE.engineer)).toMatch(/^✅ Granted/);
    const at = new Date(Date.now() + 60 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(await reply(`request sandbox 30m at ${at} CHG-3 later`, PEOPLE.engineer)).toMatch(/Scheduled/);
    expect(await reply('breakglass prod-db write 10m INC-42 primary down', PEOPLE.oncall, 'C0INC42')).toMatch(/G\d+/);
    expect(await reply(`revoke-all <@${PEOPLE.engineer}> offboarding SEC-2`, PEOPLE.security)).toContain('is blocked');
    expect(await reply(`revoke-all <@${PEOPLE.engineer}> x`, PEOPLE.engineer2)).toContain('Only admins');
    expect(await reply(`unblock <@${PEOPLE.engineer}>`, PEOPLE.security)).toContain('may request access again');

    sesame.child.kill('SIGTERM');
    expect(await sesame.exited()).toBe(0);
    const verify = await runCli(['audit', 'verify'], db.env);
    expect({ code: verify.code, out: verify.stdout + verify.stderr }).toMatchObject({ code: 0 });

    const ids = (await db.sql.all<{ id: number }>('SELECT id FROM audit_log ORDER BY id')).map((r) => r.id);
    const seen = siem.stored.map((e) => e.id);
    expect(siem.posts.every((p) => p.signatureValid && p.authorization === SIEM_AUTH)).toBe(true);
    // In order, no gap, nothing before the head missing (shutdown may leave the tail unsent: it goes at the next start).
    expect(seen).toEqual(ids.slice(0, seen.length));
    expect(seen.length).toBeGreaterThan(ids.length - 5);
    const everything = JSON.stringify(siem.posts.map((p) => p.lines));
    for (const secret of [SIGNING, BOT, SIEM_KEY, SIEM_AUTH, 'adv-hec-token']) expect(everything).not.toContain(secret);
  }, 60_000);
});
