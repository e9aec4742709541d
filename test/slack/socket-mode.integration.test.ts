// Socket Mode: with SLACK_APP_TOKEN set, Sesame dials out to Slack, answers /access over the socket, and still serves /healthz.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startSesame, type RunningSesame } from '../../src/main.ts';
import { deleteKeys, NOOP_PROVIDERS, PEOPLE } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';

describe('Socket Mode', () => {
  const slack = new FakeSlack();
  const dir = mkdtempSync(join(tmpdir(), 'sesame-socket-'));
  const prefix = `sesame-socket-${randomUUID()}`;
  let sesame: RunningSesame;

  beforeAll(async () => {
    await slack.start();
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(NOOP_PROVIDERS)));
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-socket', SLACK_APP_TOKEN: 'xapp-socket', SLACK_API_URL: slack.apiUrl, DATABASE_PATH: join(dir, 's.db'), POLICY_PATH: join(dir, 'policy.yaml') });
    if (!config.ok) throw new Error(config.error.join());
    sesame = await startSesame({ ...config.value, port: 0 }, { log: pino({ level: 'silent' }), redisPrefix: prefix, watchPolicyFile: false, directoryTtlMs: 0 });
  });
  afterAll(async () => {
    await sesame.stop();
    await slack.stop();
    await deleteKeys(`${prefix}:*`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects over a socket, acks a slash command on it and answers through response_url', async () => {
    await slack.waitFor(() => slack.connections.length > 0, 'the Socket Mode connection');
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
    const envelope = slack.sendEnvelope('slash_commands', {
      command: '/access', text: 'request sandbox 1h over the socket', user_id: PEOPLE.engineer, channel_id: 'C0GENERAL',
      team_id: 'T0TEAM', api_app_id: 'A0SESAME', response_url: slack.responseUrl('socket-1'), trigger_id: 'trigger-socket-1',
    });
    await slack.waitFor(() => slack.acks.get(envelope), 'the ack on the socket');
    const reply = await slack.waitFor(() => slack.responsesTo('socket-1')[0], 'the reply');
    expect(String(reply.text)).toMatch(/^✅ Granted: `sandbox` `admin`/);
  });

  it('serves health and metrics on PORT, but no /slack/events', async () => {
    const base = `http://127.0.0.1:${sesame.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/slack/events`, { method: 'POST' })).status).toBe(404);
  });
});
