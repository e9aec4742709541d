// `sesame` as a real child process (bin/sesame.js through tsx), with its output captured, for process-level tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

/**
 * Ends a process a test started: SIGTERM, then SIGKILL if it has not exited within `graceMs`. An afterAll hook that
 * only waited for a graceful exit could time out on a loaded machine and leave the process running for good.
 */
export async function stopSesame(sesame: SesameProcess, graceMs = 12_000): Promise<void> {
  if (sesame.child.exitCode !== null || sesame.child.signalCode !== null) return;
  sesame.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  if ((await Promise.race([sesame.exited(), late])) === 'late') sesame.child.kill('SIGKILL');
  clearTimeout(timer);
  await sesame.exited();
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

const handedOut = new Set<number>();

/**
 * A loopback port free right now, for a child process that must be told its port in advance. It comes from below the
 * kernel's ephemeral range (ip_local_port_range), because a port from inside it could be handed to some test's
 * outgoing connection in the gap between this check and the child's listen; below it, only another listener can
 * collide, and binding here first rules out one that is already there.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralPortsFrom();
  for (let tries = 0; ; tries++) {
    const port = randomInt(10_000, Math.max(10_001, low));
    // Never the same port twice in one process: nothing listens on it yet when a caller asks for a second one.
    if (!handedOut.has(port) && (await canListen(port))) {
      handedOut.add(port);
      return port;
    }
    if (tries > 50) throw new Error(`no free loopback port between 10000 and ${low} after 50 tries; free some ports or widen the range`);
  }
}

/** The first port the kernel hands to outgoing connections. */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 10_001) return low;
  } catch {
    // Not Linux: the IANA dynamic range.
  }
  return 49_152;
}

/** On every address (no host given): a child may listen on 0.0.0.0, where a listener on any one address would clash. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}
