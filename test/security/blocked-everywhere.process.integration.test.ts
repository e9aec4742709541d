// Attacks on the real process (`node bin/sesame.js start`, Redis DB 4, the fake Slack, signed traffic) by blocked
// accounts wherever they might still act: a blocked team lead approving from App Home, denying, requesting through
// the form; a blocked member of the escalation group approving once the step escalated; an admin blocking themselves
// with another spelling of their id. Then `sesame audit verify` on the result, and on a block deleted behind its back.
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
import { SlackSigner } from '../support/signed-client.ts';
import { sesame as runCli } from '../support/run-cli.ts';
import { processDatabase, type ProcessDatabase } from '../support/process-database.ts';

const SIGNING = 'blocked-signing-secret-0123456789';
const REDIS_URL = 'redis://127.0.0.1:6379/4';
const LEAD_STEP = { from: 'team_lead', count: 1, fallback: 'security', escalate_after: '4s', escalate_to: 'oncall' };

describe('blocked accounts against the real process', () => {
  const slack = new FakeSlack();
  let dir: string;
  let sesame: SesameProcess;
  let signer: SlackSigner;
  let db: ProcessDatabase;

  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
    slack.usergroups.set('S0ONCALL', [PEOPLE.oncall, PEOPLE.engineer2]);
    slack.usergroups.set('S0DEPLOY', []);
    slack.channels.set('C0GENERAL', { name: 'general' });
    dir = mkdtempSync(join(tmpdir(), 'sesame-blocked-'));
    db = await processDatabase(dir);
    const policy = aPolicyInput({
      ...NOOP_PROVIDERS,
      teams: { payments: { members: [PEOPLE.engineer], leads: [PEOPLE.lead1] } },
      tiers: { high: { approvals: [LEAD_STEP] } },
    } as Parameters<typeof aPolicyInput>[0]);
    writeFileSync(join(dir, 'policy.yaml'), stringify(policy));
    const port = await freePort();
    const env = { ...process.env, SLACK_BOT_TOKEN: 'xoxb-blocked-bot', SLACK_SIGNING_SECRET: SIGNING, SLACK_API_URL: slack.apiUrl, PORT: String(port), ...db.env, POLICY_PATH: join(dir, 'policy.yaml'), REDIS_URL, LOG_LEVEL: 'warn' };
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
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys('sesame:*');
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const reply = async (text: string, user: string) => {
    const sent = await signer.command(text, { user, channel: 'C0GENERAL' });
    expect(sent.status).toBe(200);
    return String((await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const audited = async (action: string, actor: string) =>
    (await db.sql.all<{ request_id: string | null; details: string }>('SELECT request_id, details FROM audit_log WHERE action = ? AND actor = ? ORDER BY id', action, actor)).map((r) => ({ request: r.request_id, code: (JSON.parse(r.details) as { code?: string }).code }));
  const until = <T>(read: () => Promise<T | null | undefined>, what: string) => slack.waitFor(async () => (await read()) ?? null, what);
  const stateOf = async (requestRef: string) => (await db.sql.get<{ state: string }>('SELECT state FROM requests WHERE id = ?', Number(requestRef.slice(1))))?.state;

  it('an admin cannot block themselves with another spelling of their id, and a lowercase id blocks nobody', async () => {
    expect(await reply(`revoke-all <@${PEOPLE.security}|sec> testing SEC-1`, PEOPLE.security)).toMatch(/yourself/);
    expect(await reply(`revoke-all ${PEOPLE.security} testing SEC-1`, PEOPLE.security)).toMatch(/yourself/);
    const lower = await reply(`revoke-all <@${PEOPLE.engineer.toLowerCase()}> testing SEC-1`, PEOPLE.security);
    expect(lower).not.toContain('is blocked');
    // "user" quoted: unquoted, PostgreSQL reads it as CURRENT_USER.
    expect(await db.sql.all('SELECT "user" FROM blocked_users')).toEqual([]);
    expect((await audited('user.block_refused', PEOPLE.security)).map((r) => r.code)).toEqual(['self_block', 'self_block']);
  });

  it('a blocked team lead decides nothing (App Home approve, deny) and requests nothing through the form; the step escalates and a blocked member of the escalation group cannot approve either', async () => {
    expect(await reply(`revoke-all <@${PEOPLE.lead1}|lead> laptop stolen SEC-2`, PEOPLE.security)).toContain('is blocked');
    expect(await reply(`revoke-all <@${PEOPLE.engineer2}> phished SEC-3`, PEOPLE.security)).toContain('is blocked');
    const asked = await reply('request prod-db write 1h INC-9 hotfix', PEOPLE.engineer);
    const id = /`(R\d+)`/.exec(asked)?.[1] ?? '';
    expect(await stateOf(id)).toBe('pending');

    expect((await signer.click(PEOPLE.lead1, 'approve_request', id, 'home')).status).toBe(200);
    expect((await signer.click(PEOPLE.lead1, 'deny_request', id)).status).toBe(200);
    await until(async () => ((await audited('approval.refused', PEOPLE.lead1)).length >= 2 ? true : null), 'the lead\'s two refused clicks');
    expect(await audited('approval.refused', PEOPLE.lead1)).toEqual([{ request: id, code: 'blocked_decider' }, { request: id, code: 'blocked_decider' }]);
    const form = await signer.submit(PEOPLE.lead1, 'request_form', {
      resource: { resource_value: { type: 'static_select', selected_option: { value: 'sandbox' } } },
      reason: { reason_value: { type: 'plain_text_input', value: 'just looking' } },
    });
    expect(JSON.parse(form.body)).toMatchObject({ response_action: 'errors' });
    expect((await audited('request.refused', PEOPLE.lead1)).map((r) => r.code)).toEqual(['user_blocked']);

    // Nobody decided: the step escalates to on-call, where the blocked engineer2 is listed too.
    await until(() => db.sql.get("SELECT id FROM audit_log WHERE action = 'request.escalated' AND request_id = ?", id), 'the escalation');
    expect((await signer.click(PEOPLE.engineer2, 'approve_request', id)).status).toBe(200);
    await until(async () => (await audited('approval.refused', PEOPLE.engineer2))[0], 'engineer2\'s refused click');
    expect(await audited('approval.refused', PEOPLE.engineer2)).toEqual([{ request: id, code: 'blocked_decider' }]);
    expect(await stateOf(id)).toBe('pending');
    expect((await signer.click(PEOPLE.oncall, 'approve_request', id)).status).toBe(200);
    await until(() => db.sql.get("SELECT state FROM grants WHERE request_id = ? AND state = 'active'", Number(id.slice(1))), 'the grant on-call approved');
  }, 60_000);

  it('the log verifies after all of it, and a block deleted behind Sesame\'s back is named by audit verify', async () => {
    sesame.child.kill('SIGTERM');
    expect(await sesame.exited()).toBe(0);
    const clean = await runCli(['audit', 'verify'], db.env);
    expect({ code: clean.code, out: clean.stdout + clean.stderr }).toMatchObject({ code: 0 });
    await db.sql.run('DELETE FROM blocked_users WHERE "user" = ?', PEOPLE.lead1);
    const tampered = await runCli(['audit', 'verify'], db.env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout + tampered.stderr).toContain(PEOPLE.lead1);
  }, 30_000);
});
