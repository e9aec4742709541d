// `sesame playground` as a newcomer runs it: a real process that prints its address, ignores Slack settings, stops on SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/playground/protocol.ts';
import { redisPrefixFor } from '../../src/playground/start.ts';
import { deleteKeys } from '../support/e2e.ts';
import { sesameNodeFlags } from '../../bench/node-flags.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'sesame.js');

/** A port nobody listens on right now (the CLI takes PORT, which cannot be 0). */
async function freePort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

function run(env: Record<string, string>, cwd = ROOT) {
  const child = spawn(process.execPath, [BIN, 'playground'], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sesame playground', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-playground-cli-'));
  afterAll(async () => {
    await deleteKeys(`${redisPrefixFor(join(dir, 'playground.db'))}:*`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page at PORT with the playground policy, reads no Slack variable, and exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const { port, server } = await freePort();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // A real workspace's settings, even malformed ones, must neither be used nor stop the playground.
    const p = run({ PORT: String(port), DATABASE_PATH: join(dir, 'playground.db'), SLACK_BOT_TOKEN: 'not-a-bot-token', SLACK_API_URL: 'http://127.0.0.1:9/api/', SLACK_APP_TOKEN: 'xapp-real' });
    try {
      await until(() => p.out().includes('Sesame playground:'), 'the address');
      expect(p.out()).toContain(`Sesame playground: http://127.0.0.1:${port}/`);

      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<label for="acting-as">Acting as</label>');
      const script = await fetch(`http://127.0.0.1:${port}/js/app.js`);
      expect(script.headers.get('content-type')).toContain('text/javascript');
      expect(await script.text()).not.toMatch(/:\s*(HTMLElement|Snapshot)\b/); // compiled, not TypeScript

      const state = (await (await fetch(`http://127.0.0.1:${port}/ui/state?user=U0FRANK`)).json()) as Snapshot;
      expect(state.me).toBe('U0FRANK');
      expect(state.people.map((x) => x.name)).toEqual(['alice', 'bob', 'carol', 'dan', 'erin', 'frank']);
      expect(state.channels.map((c) => c.name)).toEqual(['general', 'access-approvals', 'inc-42-db-down', 'sesame-audit']);
      expect(state.audit.map((a) => a.action)).toContain('policy.loaded');

      // Only /access is a command; other text is just a message in the channel.
      const say = (text: string) => fetch(`http://127.0.0.1:${port}/ui/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'U0BOB', channel: 'C0GENERAL', text }) });
      const unknown = await say('/deploy prod');
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toEqual({ problem: "/deploy is not a command here; Sesame's command is /access (try /access help)." });
      expect((await say('hello team')).status).toBe(200);
      const after = (await (await fetch(`http://127.0.0.1:${port}/ui/state?user=U0FRANK`)).json()) as Snapshot;
      expect(after.messages.map((m) => [m.channel, m.user, m.text])).toEqual([['C0GENERAL', 'U0BOB', 'hello team']]);

      // Another site open in the same browser cannot act in the playground.
      const forged: Record<string, string>[] = [
        { origin: 'https://evil.example', 'content-type': 'application/json' },
        { 'content-type': 'text/plain' },
      ];
      for (const headers of forged) {
        const res = await fetch(`http://127.0.0.1:${port}/ui/command`, { method: 'POST', headers, body: JSON.stringify({ user: 'U0BOB', channel: 'C0GENERAL', text: '/access request sandbox admin 1m forged' }) });
        expect(res.status).toBe(403);
      }
      // Nor can a page whose DNS name was rebound to this address read anyone's messages.
      const rebound = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/ui/state?user=U0ALICE', headers: { host: `evil.example:${port}` } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(rebound).toBe(403);
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    expect(p.err()).not.toMatch(/slack\.com|127\.0\.0\.1:9/);
    // No deployment findings (this Redis keeps nothing on disk, which a real Sesame is warned about).
    expect(p.out()).not.toMatch(/"check":"failed"|keeps its data only in memory/);
  });

  it('is what `npm run playground` runs', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.playground).toBe(['node', ...sesameNodeFlags(ROOT), 'bin/sesame.js', 'playground'].join(' '));
  });

  it('keeps its database in ./data/playground.db unless told otherwise, and its timers in the Redis REDIS_URL names', { timeout: 60_000 }, async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const database = join(cwd, 'data', 'playground.db');
    const prefix = redisPrefixFor(database);
    // Database 2 of the shared Redis, so the keys it finds can only have come from REDIS_URL.
    const redis = new Redis('redis://127.0.0.1:6379/2', { lazyConnect: true });
    await redis.connect();
    const { port, server } = await freePort();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const p = run({ PORT: String(port), POLICY_PATH: join(ROOT, 'policies', 'playground.yaml'), REDIS_URL: 'redis://127.0.0.1:6379/2' }, cwd);
    try {
      await until(() => p.out().includes('Sesame playground:'), 'the address');
      expect(existsSync(database)).toBe(true);
      // BullMQ writes its keys as its workers get going, a moment after the page is up.
      let keys: string[] = [];
      for (const end = Date.now() + 20_000; keys.length === 0 && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) keys = await redis.keys(`${prefix}:*`);
      expect(keys).not.toEqual([]);
    } finally {
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('says which port is in use and what to do', { timeout: 60_000 }, async () => {
    const { port, server } = await freePort();
    try {
      const p = run({ PORT: String(port), DATABASE_PATH: join(dir, 'playground.db') });
      expect(await p.exited).toBe(1);
      expect(p.err()).toContain(`Port ${port} is in use; stop what uses it, or set PORT to another port.`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
