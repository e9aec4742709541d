// Cold starts as people meet them: `sesame policy check` and `sesame --help` in a pre-commit hook, `sesame start` to ready.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sesameNodeFlags } from './node-flags.ts';
import { ROOT, started, stopper } from './processes.ts';
import { percentile, type Row } from './stats.ts';

const RUNS = 7;
const BIN = join(ROOT, 'bin', 'sesame.js');

/** Median wall time of a whole `sesame …` process, from spawn to exit. */
function commandMs(args: readonly string[], env: Record<string, string>): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const begun = performance.now();
    const out = spawnSync(process.execPath, [...sesameNodeFlags(ROOT), BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
    times.push(performance.now() - begun);
    if (out.status !== 0) throw new Error(`bench: sesame ${args.join(' ')} exited ${out.status}: ${out.stderr}`);
  }
  return percentile(times, 50);
}

/** Median time from spawning `sesame start` (fresh database each time) until /readyz answers 200. */
async function startToReadyMs(env: Record<string, string>, port: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-start-'));
    const begun = performance.now();
    const child = spawn(process.execPath, [...sesameNodeFlags(ROOT), BIN, 'start'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env, DATABASE_PATH: join(dir, 'sesame.db'), PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
    await started(child, `http://127.0.0.1:${port}/readyz`, 'Sesame', 5);
    times.push(performance.now() - begun);
    await stopper(child)();
    rmSync(dir, { recursive: true, force: true });
  }
  return percentile(times, 50);
}

export async function benchColdStart(env: Record<string, string>, port: number): Promise<Row[]> {
  const policyPath = env.POLICY_PATH ?? '';
  return [
    { figure: '`sesame policy check`, cold (median of 7)', value: commandMs(['policy', 'check', policyPath], env), unit: 'ms', budget: { max: 300 } },
    { figure: '`sesame --help`, cold (median of 7)', value: commandMs(['--help'], env), unit: 'ms', budget: { max: 300 } },
    { figure: '`sesame start` to ready (median of 7)', value: await startToReadyMs(env, port), unit: 'ms', budget: { max: 700 } },
  ];
}
