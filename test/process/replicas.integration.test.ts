// Two real `sesame start` replicas on one Redis: one holds the sweeper lease; SIGKILL it and the other takes over.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, SIGNING_SECRET } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { OwnRedis } from '../support/own-redis.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';

const LEASE_KEY = 'sesame:lease:sweeper';
const SWEEPS_NOW = 'this replica sweeps now';

describe('several replicas on one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-replicas-'));
  const slack = new FakeSlack();
  const ownRedis = new OwnRedis();
  const running: SesameProcess[] = [];
  let redis: Redis;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await ownRedis.start();
    redis = new Redis(ownRedis.url);
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer]);
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(NOOP_PROVIDERS)));
    env = {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-replicas-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      POLICY_PATH: join(dir, 'policy.yaml'),
      REDIS_URL: ownRedis.url,
      RECONCILE_INTERVAL: '1s',
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited()));
    redis.disconnect();
    await ownRedis.stop();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A replica: its own port and (until the store moves to PostgreSQL) its own SQLite file; the Redis is shared. */
  const start = async (name: string) => {
    const port = await freePort();
    const p = spawnSesame(['start'], { ...env, PORT: String(port), DATABASE_PATH: join(dir, `${name}.db`) });
    running.push(p);
    await untilReady(p, port);
    return p;
  };
  const holderPid = async () => Number((await redis.get(LEASE_KEY))?.split('/')[1]);
  const sweepsNow = (p: SesameProcess) => p.output().split('\n').filter((line) => line.includes(SWEEPS_NOW)).length;
  async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${running.map((p) => p.output()).join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('sweeps on one replica; a SIGKILLed holder is replaced by the other', async () => {
    const first = await start('first');
    await until('the first replica to take the lease', async () => (await holderPid()) === first.child.pid, 10_000);
    const second = await start('second');
    // Several renewals later the lease is still the first's, and the second never said it sweeps.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await holderPid()).toBe(first.child.pid);
    expect((await redis.get(LEASE_KEY))?.split('/')[0]).toMatch(new RegExp(`^${hostname()}~[0-9]+$`)); // the host and its pid namespace
    expect(sweepsNow(first)).toBe(1);
    expect(sweepsNow(second)).toBe(0);

    first.child.kill('SIGKILL');
    await first.exited();
    // Within a lease period (15 s); on one host sooner, since the dead holder's pid is seen to be gone.
    await until('the second replica to take over', async () => (await holderPid()) === second.child.pid && sweepsNow(second) === 1, 20_000);

    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);
    // A clean stop frees the lease at once rather than leaving it to run out.
    expect(await redis.exists(LEASE_KEY)).toBe(0);
  }, 90_000);
});
