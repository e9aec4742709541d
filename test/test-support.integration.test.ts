// The test-support pieces CI leans on: ports handed to child processes, and the report of tests that needed a retry.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, stopSesame } from './support/sesame-process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('freePort', () => {
  it('hands out ports below the range the kernel gives outgoing connections, free to listen on', async () => {
    const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralFrom);
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '0.0.0.0', resolve));
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('stopSesame', () => {
  it('ends with SIGKILL a process that ignores SIGTERM, once the grace has passed', async () => {
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('up')"], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    await stopSesame({ child, output: () => '', exited: () => exit }, 300);
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // it waited its grace first
  });
});

describe('the retried-test reporter', () => {
  it('names a test that passed on its retry and one that failed after it, and neither a passing nor an expected-fail test', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-retried-'));
    try {
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      writeFileSync(
        join(dir, 'fixture.test.mjs'),
        [
          "import { expect, it } from 'vitest';",
          'let runs = 0;',
          "it('passes', () => expect(1).toBe(1));",
          "it('flaky', () => { runs++; expect(runs).toBe(2); });",
          "it('broken', () => expect(1).toBe(2));",
          "it.fails('a known hole', () => expect(1).toBe(2));",
        ].join('\n'),
      );
      const retriedFile = join(dir, 'retried.txt');
      writeFileSync(retriedFile, '');
      const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--retry=1', '--reporter=dot', `--reporter=${join(ROOT, 'test/support/retried-reporter.ts')}`], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', SESAME_RETRIED_FILE: retriedFile },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stdout + run.stderr).toBe(1); // 'broken' fails the run
      expect(readFileSync(retriedFile, 'utf8').trim().split('\n').sort()).toEqual(['[ci] failed after 1 retries: fixture.test.mjs > broken', '[ci] passed on retry 1: fixture.test.mjs > flaky']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
