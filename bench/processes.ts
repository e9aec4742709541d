// Sesame (`sesame start`) and the bare Bolt reference as real child processes, so the load generator does not share their CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sesameNodeFlags } from './node-flags.ts';
import { sleep } from './stats.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Waits until `probe` answers below 500, polling every `everyMs`. */
export async function started(child: ChildProcess, probe: string, what: string, everyMs = 100): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    if (await fetch(probe).then((r) => r.status < 500, () => false)) return;
    if (Date.now() > until || child.exitCode !== null) throw new Error(`bench: ${what} did not start`);
    await sleep(everyMs);
  }
}

export function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

export async function startSesameProcess(env: Record<string, string>, port: number): Promise<Child> {
  // BENCH_PROFILE=DIR writes a CPU profile of Sesame there, for finding where a budget goes; BENCH_NODE_ARGS adds
  // Node flags; BENCH_SESAME_ROOT runs another checkout's build (an A/B pair of runs on a noisy machine); BENCH_STDOUT=FILE
  // keeps Sesame's standard output there (its log lines, and V8's with BENCH_NODE_ARGS=--trace-gc).
  const root = process.env.BENCH_SESAME_ROOT ?? ROOT;
  const nodeArgs = [...sesameNodeFlags(root), ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const stdout = process.env.BENCH_STDOUT ? openSync(process.env.BENCH_STDOUT, 'a') : 'ignore';
  const child = spawn(process.execPath, [...nodeArgs, `${root}/bin/sesame.js`, 'start'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) }, stdio: ['ignore', stdout, 'inherit'] });
  await started(child, `http://127.0.0.1:${port}/readyz`, 'Sesame');
  return { url: `http://127.0.0.1:${port}/slack/events`, pid: child.pid ?? 0, stop: stopper(child) };
}

export async function startBareBoltProcess(env: Record<string, string>, port: number): Promise<Child> {
  const child = spawn(process.execPath, [`${ROOT}/bench/bare-bolt.mjs`], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  await started(child, `http://127.0.0.1:${port}/`, 'the bare Bolt app');
  return { url: `http://127.0.0.1:${port}/slack/events`, pid: child.pid ?? 0, stop: stopper(child) };
}
