// `sesame` as a real child process (bin/sesame.js through tsx), with its output captured, for process-level tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface SesameProcess {
  child: ChildProcess;
  output(): string;
  exited(): Promise<number | null>;
}

export function spawnSesame(args: string[], env: NodeJS.ProcessEnv): SesameProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sesame.js'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited: () => exit };
}

/** Waits until /readyz answers 200 on `port`; fails if the process exits first or 30 s pass. */
export async function untilReady(sesame: SesameProcess, port: number): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) return;
    if (Date.now() > until || sesame.child.exitCode !== null) throw new Error(`sesame did not become ready:\n${sesame.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A loopback port free right now, for a child process that must be told its port in advance. Asking the kernel beats
 * a random pick, which can land on a port an outgoing connection holds.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
