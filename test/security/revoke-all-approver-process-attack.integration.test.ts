// revoke-all on a stolen approver, attacked from outside: the real bundled process (`node bin/sesame.js start`), a
// Redis of its own, the fake Slack, signed traffic. lead1's account is stolen and approves (a) an accomplice's request
// and (b) the extension of another grant an honest lead approved; an admin runs revoke-all on lead1.
// Held: (a) is revoked and listed, a non-admin cannot run revoke-all, the requester's DM leaks neither the reason nor
// the approver, audit verify passes. Hole: (b) keeps the extra time resting on the stolen approval.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { OwnRedis } from '../support/own-redis.ts';

const SIGNING = 'revoke-all-approver-attack-secret-0123';
const HOUR = 3_600_000;

describe('revoke-all on a stolen approver, against the real bundled process', () => {
  const slack = new FakeSlack();
  const redis = new OwnRedis();
  let dir: string;
  let sesame: SesameProcess;
  let signer: SlackSigner;
  let db: ProcessDatabase;

  beforeAll(async () => {
    await redis.start();
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
    slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    slack.usergroups.set('S0DEPLOY', []);
    slack.channels.set('C0GENERAL', { name: 'general' });
    dir = mkdtempSync(join(tmpdir(), 'sesame-adv-approver-'));
    db = await processDatabase(dir);
    const policy = aPolicyInput({ ...NOOP_PROVIDERS, tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }] } } } as Parameters<typeof aPolicyInput>[0]);
    writeFileSync(join(dir, 'policy.yaml'), stringify(policy));
    const port = await freePort();
    const env = { ...process.env, SLACK_BOT_TOKEN: 'xoxb-adv-approver-bot', SLACK_SIGNING_SECRET: SIGNING, SLACK_API_URL: slack.apiUrl, PORT: String(port), ...db.env, POLICY_PATH: join(dir, 'policy.yaml'), REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
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
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const reply = async (text: string, user: string) => {
    const sent = await signer.command(text, { user, channel: 'C0GENERAL' });
    expect(sent.status).toBe(200);
    return String((await slack.waitFor(() => slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const dmsTo = (user: string) => slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => String(c.text));
  const grantOf = async (ref: string) => db.sql.get<{ id: number; state: string; expires_at: number }>('SELECT id, state, expires_at FROM grants WHERE request_id = ?', Number(ref.slice(1)));
  const ask = async (who: string, ticket: string) => {
    const text = await reply(`request prod-db write 1h ${ticket} hotfix`, who);
    const id = /`(R\d+)`/.exec(text)?.[1] ?? '';
    expect({ id, text }).toMatchObject({ id: expect.stringMatching(/^R\d+$/) as unknown });
    return id;
  };
  const approve = async (id: string, lead: string) => {
    expect((await signer.click(lead, 'approve_request', id)).status).toBe(200);
  };
  const activeGrant = (id: string) => slack.waitFor(async () => {
    const g = await grantOf(id);
    return g?.state === 'active' ? g : null;
  }, `the grant of ${id}`);

  let accomplice = '';
  let extended = { id: 0, before: 0, after: 0 };

  it('sets up: lead1 (stolen) approves an accomplice request, and the extension of a grant lead2 approved', async () => {
    accomplice = await ask(PEOPLE.engineer2, 'INC-71');
    await approve(accomplice, PEOPLE.lead1);
    await activeGrant(accomplice);

    const honest = await ask(PEOPLE.engineer, 'INC-72');
    await approve(honest, PEOPLE.lead2);
    const g = await activeGrant(honest);
    const extText = await reply(`extend G${g.id} 30m`, PEOPLE.engineer);
    const ext = /`(R\d+)`/.exec(extText)?.[1] ?? '';
    if (!/^R\d+$/.test(ext)) throw new Error(`extend reply: ${extText}`);
    await approve(ext, PEOPLE.lead1);
    const after = await slack.waitFor(async () => {
      const now = await grantOf(honest);
      return now !== undefined && Number(now.expires_at) > Number(g.expires_at) ? now : null;
    }, 'the extension to apply');
    extended = { id: g.id, before: Number(g.expires_at), after: Number(after.expires_at) };
    expect(extended.after - extended.before).toBe(HOUR / 2);
  }, 60_000);

  it('a non-admin cannot run revoke-all (no mass revoke through it)', async () => {
    const out = await reply(`revoke-all <@${PEOPLE.lead1}> I say so`, PEOPLE.engineer);
    expect(out).not.toContain('is blocked');
    expect((await grantOf(accomplice))?.state).toBe('active');
    expect(await db.sql.get('SELECT 1 AS x FROM blocked_users')).toBeUndefined();
  }, 30_000);

  let summary = '';
  it('revoke-all on lead1 revokes the accomplice grant it approved and lists it', async () => {
    summary = await reply(`revoke-all <@${PEOPLE.lead1}> laptop stolen SEC-71`, PEOPLE.security);
    expect(summary).toContain('is blocked');
    expect((await grantOf(accomplice))?.state).toBe('revoked');
    const g = await grantOf(accomplice);
    expect(summary).toContain(`G${g?.id}`);
  }, 60_000);

  it('held (once a hole): the grant whose extension lead1 approved keeps the extra time', async () => {
    const now = await db.sql.get<{ state: string; expires_at: number }>('SELECT state, expires_at FROM grants WHERE id = ?', extended.id);
    const held = now?.state === 'revoked' || Number(now?.expires_at) === extended.before;
    expect({ held, state: now?.state, extraHoursLeft: (Number(now?.expires_at) - extended.before) / HOUR, listedInReply: summary.includes(`G${extended.id}`) }).toMatchObject({ held: true });
  }, 30_000);

  it('the accomplice learns nothing from revoke-all beyond what happened to its own grant (no reason, no approver)', async () => {
    for (const text of dmsTo(PEOPLE.engineer2)) {
      expect(text).not.toContain('laptop stolen');
      expect(text).not.toContain('SEC-71');
    }
  }, 15_000);

  it('`sesame audit verify` passes afterwards (bundled CLI)', async () => {
    sesame.child.kill('SIGTERM');
    expect(await sesame.exited()).toBe(0);
    const out = await runCli(['audit', 'verify'], db.env);
    expect({ code: out.code, out: out.stdout + out.stderr }).toMatchObject({ code: 0 });
  }, 30_000);
});
