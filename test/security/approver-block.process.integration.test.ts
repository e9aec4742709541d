// An approver blocked between two steps, attacked from outside: the real process (`sesame start`, Redis DB 4, the
// fake Slack, signed traffic). lead1 approves step 1, an admin runs `/access revoke-all` on lead1, the honest second
// click must make no grant and tell the requester why; after `/access unblock` the same flow grants normally.
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

const SIGNING = 'approver-block-signing-secret-0123';
const REDIS_URL = 'redis://127.0.0.1:6379/4';

describe('an approver blocked mid-request, against the real process', () => {
  const slack = new FakeSlack();
  let dir: string;
  let sesame: SesameProcess;
  let signer: SlackSigner;
  let db: ProcessDatabase;

  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall]);
    slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    slack.usergroups.set('S0DEPLOY', []);
    slack.channels.set('C0GENERAL', { name: 'general' });
    dir = mkdtempSync(join(tmpdir(), 'sesame-approver-block-'));
    db = await processDatabase(dir);
    const policy = aPolicyInput({
      ...NOOP_PROVIDERS,
      tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } },
    } as Parameters<typeof aPolicyInput>[0]);
    writeFileSync(join(dir, 'policy.yaml'), stringify(policy));
    const port = await freePort();
    const env = { ...process.env, SLACK_BOT_TOKEN: 'xoxb-approver-block-bot', SLACK_SIGNING_SECRET: SIGNING, SLACK_API_URL: slack.apiUrl, PORT: String(port), ...db.env, POLICY_PATH: join(dir, 'policy.yaml'), REDIS_URL, LOG_LEVEL: 'warn' };
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
  const dmsTo = (user: string) => slack.callsTo('chat.postMessage').filter((c) => c.channel === user).map((c) => String(c.text));
  const grantsOf = (ref: string) => db.sql.all<{ state: string }>('SELECT state FROM grants WHERE request_id = ?', Number(ref.slice(1)));
  const stateOf = async (ref: string) => (await db.sql.get<{ state: string }>('SELECT state FROM requests WHERE id = ?', Number(ref.slice(1))))?.state;
  const audited = async (ref: string) => (await db.sql.all<{ action: string }>('SELECT action FROM audit_log WHERE request_id = ? ORDER BY id', ref)).map((r) => r.action);
  const ask = async (ticket: string) => {
    const id = /`(R\d+)`/.exec(await reply(`request prod-db write 1h ${ticket} hotfix`, PEOPLE.engineer))?.[1] ?? '';
    expect(await stateOf(id)).toBe('pending');
    return id;
  };
  const stepOneBy = async (id: string, lead: string) => {
    expect((await signer.click(lead, 'approve_request', id)).status).toBe(200);
    await slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(`approved your request \`${id}\``)) ?? null, 'the step-one DM');
  };

  let cancelled = '';
  it('revoke-all on the step-one approver cancels the request: the honest second click makes no grant and is told why', async () => {
    const id = await ask('INC-41');
    cancelled = id;
    await stepOneBy(id, PEOPLE.lead1);
    const revoked = await reply(`revoke-all <@${PEOPLE.lead1}> laptop stolen SEC-41`, PEOPLE.security);
    expect(revoked).toContain('is blocked');
    expect(revoked).toContain('1 request(s) of others');
    expect(await stateOf(id)).toBe('cancelled');

    const click = await signer.click(PEOPLE.security, 'approve_request', id);
    expect(click.status).toBe(200);
    const answer = await slack.waitFor(() => slack.responsesTo(click.responseId)[0], 'the reply to the second click');
    expect(String(answer.text)).toContain('cancelled');
    expect(await stateOf(id)).toBe('cancelled');
    expect(await grantsOf(id)).toEqual([]);
    const actions = await audited(id);
    expect(actions).not.toContain('grant.activated');
    expect(actions).toContain('request.cancelled');
    expect(actions).not.toContain('request.approved');
  }, 60_000);

  // Their last word from Sesame was "approved ... waits for security (step 2 of 2)": the cancel must reach them too.
  it('the requester of the cancelled request is told by DM why, and to ask again', async () => {
    const dm = await slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes(cancelled) && /cancel/i.test(t)) ?? null, 'the cancel DM to the requester', 5_000);
    expect(dm).toMatch(/was cancelled, not granted: an admin blocked someone who approved a step of it .* Ask again and someone else can approve it\./);
  }, 15_000);

  it('after /access unblock the same two-step flow through lead1 grants normally', async () => {
    expect(await reply(`unblock <@${PEOPLE.lead1}>`, PEOPLE.security)).toContain('may request access again');
    const id = await ask('INC-42');
    await stepOneBy(id, PEOPLE.lead1);
    expect((await signer.click(PEOPLE.security, 'approve_request', id)).status).toBe(200);
    await slack.waitFor(async () => ((await grantsOf(id)).some((g) => g.state === 'active') ? true : null), 'the grant after unblock');
    await slack.waitFor(() => dmsTo(PEOPLE.engineer).find((t) => t.includes('You have')) ?? null, 'the grant DM');
  }, 60_000);

  it('`sesame audit verify` passes on the database afterwards', async () => {
    sesame.child.kill('SIGTERM');
    expect(await sesame.exited()).toBe(0);
    const out = await runCli(['audit', 'verify'], db.env);
    expect({ code: out.code, out: out.stdout + out.stderr }).toMatchObject({ code: 0 });
  }, 30_000);
});
