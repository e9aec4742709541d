// The bundled CLI (dist/bundle/, what bin/sesame.js runs) against the unbundled one (dist/cli/main.js), command by
// command, from a copy of the runtime layout the Docker image has (dist, bin, package.json, migrations, policies; no
// src/, node_modules linked): same exit code and the same output, so nothing is missing or found at another path.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/run-cli.ts';
import { spawn } from 'node:child_process';
import { OwnRedis } from '../support/own-redis.ts';
import { freePort } from '../support/sesame-process.ts';

interface Run { code: number; out: string }

describe('bundled CLI behaves like the unbundled one (runtime layout, no src/)', () => {
  let app: string;
  let data: string;
  beforeAll(() => {
    expect(existsSync(join(ROOT, 'dist', 'bundle', 'main.js')), 'run npm run build first').toBe(true);
    app = mkdtempSync(join(tmpdir(), 'sesame-adv-app-'));
    data = mkdtempSync(join(tmpdir(), 'sesame-adv-data-'));
    for (const part of ['dist', 'bin', 'package.json', 'migrations', 'policies']) cpSync(join(ROOT, part), join(app, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    writeFileSync(join(app, 'unbundled.mjs'), "const { run } = await import(new URL('./dist/cli/main.js', import.meta.url).href);\nawait run(process.argv.slice(2));\n");
  });
  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  const run = (entry: string, args: string[], db: string): Promise<Run> =>
    new Promise((resolve) => {
      const env = { PATH: process.env.PATH ?? '', HOME: data, NODE_ENV: 'production', DATABASE_PATH: join(data, db), POLICY_PATH: join(app, 'policies', 'policy.yaml'), SLACK_BOT_TOKEN: 'xoxb-parity', SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef', SLACK_API_URL: 'http://127.0.0.1:9/api/', REDIS_URL: 'redis://127.0.0.1:9/0' };
      execFile(process.execPath, [join(app, entry), ...args], { cwd: data, env, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, out: `${stdout}${stderr}`.replaceAll(db, 'DB').replace(/\d+(\.\d+)? ?ms\b/g, 'N ms').replace(/\(node:\d+\)/g, '(node)').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME') });
      });
    });

  const commands: string[][] = [
    ['--version'],
    ['--help'],
    ['migrate'],
    ['migrate'],
    ['policy', 'check'],
    ['policy', 'test'],
    ['policy', 'explain', '--no-slack', '--help'],
    ['policy', 'replay', 'policies/policy.yaml'],
    ['policy', 'diff', 'policies/policy.yaml', 'policies/playground.yaml'],
    ['audit', 'verify'],
    ['audit', 'export'],
    ['report'],
    ['doctor'],
  ];
  for (const args of commands) {
    it(`sesame ${args.join(' ')}`, async () => {
      const fix = (a: string[]) => a.map((x) => (x.startsWith('policies/') ? join(app, x) : x));
      const bundled = await run('bin/sesame.js', fix(args), 'bundled.db');
      const unbundled = await run('unbundled.mjs', fix(args), 'unbundled.db');
      expect(bundled).toEqual(unbundled);
      expect(bundled.out).not.toMatch(/Cannot find (module|package)|ENOENT|ERR_MODULE_NOT_FOUND|is not a function|TypeError/);
    }, 120_000);
  }

  it('sesame playground starts bundled and serves its page and compiled browser module', async () => {
    const redis = await new OwnRedis().start();
    // A port free when asked can be taken by another test's outgoing connection before the playground listens on it: then
    // the playground says so and exits, and the test asks for another port.
    const start = async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [join(app, 'bin', 'sesame.js'), 'playground'], { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: data, PORT: String(port), REDIS_URL: redis.url, DATABASE_PATH: join(data, 'playground.db') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const until = Date.now() + 30_000;
      while (!output.includes(`http://127.0.0.1:${port}/`)) {
        if (Date.now() > until || child.exitCode !== null) return { child, port, started: false, output };
        await new Promise((r) => setTimeout(r, 100));
      }
      return { child, port, started: true, output };
    };
    let attempt = await start();
    for (let retries = 2; !attempt.started && retries > 0 && /Port \d+ is in use/.test(attempt.output); retries--) attempt = await start();
    const { child, port } = attempt;
    try {
      if (!attempt.started) throw new Error(`playground did not start:\n${attempt.output}`);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      const script = /src="([^"]+\.js)"/.exec(await page.text())?.[1] ?? '';
      const js = await fetch(`http://127.0.0.1:${port}${script}`);
      expect({ status: js.status, type: js.headers.get('content-type') }).toMatchObject({ status: 200, type: expect.stringContaining('javascript') as unknown });
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await redis.stop();
    }
  }, 60_000);
});
