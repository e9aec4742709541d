// `sesame start` as a process: every line JSON, the fatal cause first and alone, doctor findings logged, SIGTERM noticed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.ts';
import { OwnRedis } from '../support/own-redis.ts';
import { BIN, ROOT, sesame } from '../support/run-cli.ts';
import { freePort } from '../support/sesame-process.ts';

const POLICY = `version: 1
settings: { approvals_channel: C0APPROVALS, audit_channel: C0AUDIT }
groups:
  leads: { users: [U0LEAD1] }
tiers:
  low: { auto_approve: always, max_duration: 8h }
resources:
  sandbox: { tier: low, roles: [admin], provider: { type: noop } }
`;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const parseLines = (stdout: string): LogLine[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as LogLine);

describe('sesame start output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-start-'));
  const slack = new FakeSlack();
  const redis = new OwnRedis();
  let env: Record<string, string>;

  beforeAll(async () => {
    await Promise.all([slack.start(), redis.start()]);
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    env = {
      SLACK_BOT_TOKEN: 'xoxb-start',
      SLACK_SIGNING_SECRET: 'start-signing-secret',
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: redis.url,
      DATABASE_PATH: join(dir, 'sesame.db'),
      POLICY_PATH: join(dir, 'policy.yaml'),
    };
  });
  afterAll(async () => {
    await Promise.all([slack.stop(), redis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says an invalid token in one JSON line and nothing else, not channel warnings first', async () => {
    slack.failNext('auth.test', { error: 'invalid_auth' });
    const out = await sesame(['start'], { ...env, PORT: String(await freePort()) });
    expect(out).toMatchObject({ code: 1, stderr: '' });
    expect(parseLines(out.stdout)).toEqual([
      expect.objectContaining({ level: 60, msg: 'Slack refused SLACK_BOT_TOKEN (invalid_auth); copy the Bot User OAuth Token again from your Slack app → OAuth & Permissions.' }),
    ]);
  });

  it('writes a malformed environment variable as a JSON line too', async () => {
    const out = await sesame(['start'], { ...env, PORT: 'eighty' });
    expect(out).toMatchObject({ code: 1, stderr: '' });
    expect(parseLines(out.stdout)).toEqual([expect.objectContaining({ level: 60, msg: expect.stringMatching(/^PORT must be a port number/) })]);
  });

  it('names the port in use and what to do', async () => {
    const taken: Server = await new Promise((resolve) => {
      const server = createServer().listen(0, '0.0.0.0', () => resolve(server));
    });
    try {
      const port = (taken.address() as AddressInfo).port;
      const out = await sesame(['start'], { ...env, PORT: String(port) });
      expect(out).toMatchObject({ code: 1, stderr: '' });
      expect(parseLines(out.stdout)).toEqual([
        expect.objectContaining({ level: 60, msg: `Port ${port} is already in use (another Sesame, or another program, listens on it); stop that, or set PORT to a free port.` }),
      ]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('logs the doctor findings after start, and the SIGTERM notice, all as JSON lines', async () => {
    slack.channels.set('C0APPROVALS', { name: 'approvals' });
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env, PORT: String(await freePort()) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await slack.waitFor(() => stdout.includes('settings.audit_channel: Slack does not know channel C0AUDIT'), 'the start-up findings', 60_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    expect(stderr).toBe('');
    const lines = parseLines(stdout);
    const messages = lines.map((l) => l.msg);
    expect(messages.indexOf('Sesame is running')).toBeGreaterThanOrEqual(0);
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, check: 'ok', msg: 'settings.approvals_channel: #approvals (C0APPROVALS) exists and Sesame is in it' }));
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, check: 'failed', msg: 'settings.audit_channel: Slack does not know channel C0AUDIT', fix: expect.stringContaining('fix the ID in the policy') }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, signal: 'SIGTERM', msg: 'finishing in-flight work and stopping' }));
    expect(messages.at(-1)).toBe('stopped');
  });

  it('runs the shipped policies/policy.yaml with nothing but Slack and Redis: no provider secret set', async () => {
    const { POLICY_PATH: _own, ...withDefaultPolicy } = env;
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...withDefaultPolicy, DATABASE_PATH: join(dir, 'default-policy.db'), PORT: String(await freePort()) } });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // The start-up findings come after the SIGTERM handler is in place; "Sesame is running" comes just before it.
    await slack.waitFor(() => stdout.includes('"check":') || child.exitCode !== null, 'Sesame to start and log its findings', 60_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = parseLines(stdout);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'Sesame is running', policy: './policies/policy.yaml' }));
  });
});
