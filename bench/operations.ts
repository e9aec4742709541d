// `npx tsx bench/operations.ts`: the CPU one operation of a lifecycle costs in this process, each measured alone against
// a minimal local answerer, so that the lifecycle's CPU can be read as a sum (see docs/benchmark.md). Not a budget.
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadOutbound, send } from '../src/http/outbound.ts';
import { createBullScheduler } from '../src/scheduler/bullmq-scheduler.ts';
import { createReplayGuard } from '../src/slack/replay-guard.ts';
import { createWebClient } from '../src/slack/slack-api.ts';
import { started, stopper } from './processes.ts';

const PORT = 39_135;
const REDIS_URL = 'redis://127.0.0.1:6379/13';
// Answers every request at once with a body that suits each Slack method asked, in a process of its own.
const ANSWERER = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"ts":"1700000000.000100","channel":"C1"}')); }).listen(${PORT}, '127.0.0.1');`;

/** Mean CPU (user + system) of this process per call of `op`, `concurrency` at a time, after a warm-up round. */
async function cpuPerCall(name: string, count: number, op: (i: number) => Promise<unknown>, concurrency = 8): Promise<void> {
  for (const round of [0, 1]) {
    let next = 0;
    const before = process.cpuUsage();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) await op(round * count + next++);
    }));
    const used = process.cpuUsage(before);
    if (round === 1) console.log(`| ${name.padEnd(58)} | ${((used.user + used.system) / count).toFixed(0).padStart(4)} µs |`);
  }
}

const answerer = spawn(process.execPath, ['-e', ANSWERER], { stdio: 'inherit' });
const log = pino({ level: 'silent' });
const scheduler = createBullScheduler({ redisUrl: REDIS_URL, prefix: 'bench-ops', log });
const guard = createReplayGuard({ redisUrl: REDIS_URL, prefix: 'bench-ops', log });
const redis = new Redis(REDIS_URL);
try {
  await started(answerer, `http://127.0.0.1:${PORT}/`, 'the answerer');
  await Promise.all([loadOutbound(), scheduler.connected(3_000)]);
  const client = createWebClient('xoxb-bench', `http://127.0.0.1:${PORT}/api/`);
  const hour = 3_600_000;
  console.log(`| ${'operation (CPU of this process per call, 8 at a time)'.padEnd(58)} | CPU     |\n|${'-'.repeat(60)}|---------|`);
  await cpuPerCall('Slack Web API call (chat.postMessage, the official client)', 3_000, () => client.chat.postMessage({ channel: 'U1', text: 'You have access', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'You have access' } }] }));
  await cpuPerCall('plain outbound POST (`send`: response_url, webhook)', 3_000, () => send(`http://127.0.0.1:${PORT}/response/r`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"You have access"}', timeoutMs: 10_000 }));
  await cpuPerCall('a new grant\'s revoke and warning jobs, then both removed', 2_000, async (i) => {
    await scheduler.scheduleRevoke(i + 1, new Date(Date.now() + hour), new Date(Date.now() + hour - 600_000), true);
    await scheduler.cancelRevoke(i + 1);
  });
  await cpuPerCall('replay guard check (SET NX EX, and in memory)', 3_000, (i) => guard.firstTime([`sig:${i}:${process.pid}`], 300));
  await cpuPerCall('plain Redis SET (ioredis), for comparison', 3_000, (i) => redis.set(`bench-ops:k${i}`, '1', 'EX', 30));
} finally {
  redis.disconnect();
  await guard.close();
  await scheduler.close();
  await stopper(answerer)();
  const cleaner = new Redis(REDIS_URL);
  await cleaner.flushdb();
  cleaner.disconnect();
}
