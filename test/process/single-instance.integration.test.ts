// Two `sesame start` processes on one SQLite file: the second refuses with a sentence; read-only CLI commands still
// work beside the running one; a SIGKILLed process does not block the next start.
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceLockError, lockInstance, openDatabase } from '../../src/store/db.ts';
import { NOOP_PROVIDERS, PEOPLE, SIGNING_SECRET } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { freePort, spawnSesame, untilReady, type SesameProcess } from '../support/sesame-process.ts';

const REDIS_DB = 11;
const PORT = await freePort();

describe('one Sesame per database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-lock-'));
  const slack = new FakeSlack();
  const redis = new Redis({ host: '127.0.0.1', port: 6379, db: REDIS_DB });
  const running: SesameProcess[] = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer]);
    await redis.flushdb();
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(NOOP_PROVIDERS)));
    env = {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-lock-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(PORT),
      DATABASE_PATH: join(dir, 'sesame.db'),
      POLICY_PATH: join(dir, 'policy.yaml'),
      REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}`,
      LOG_LEVEL: 'fatal', // quiet, but a refusal to start is still said
    };
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited()));
    await redis.flushdb();
    redis.disconnect();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (extra: NodeJS.ProcessEnv = {}) => {
    const p = spawnSesame(['start'], { ...env, ...extra });
    running.push(p);
    return p;
  };

  it('refuses a second process, serves read-only commands beside the first, and restarts at once after SIGKILL', async () => {
    const first = start();
    await untilReady(first, PORT);

    const second = start({ PORT: String(PORT + 1) });
    expect(await second.exited()).toBe(1);
    expect(second.output()).toContain(`Another Sesame process is already running on ${join(dir, 'sesame.db')} (it holds ${join(dir, 'sesame.db')}.lock); stop it first, or give this one its own DATABASE_PATH.`);

    const verify = spawnSesame(['audit', 'verify'], env);
    expect(await verify.exited()).toBe(0);
    const explain = spawnSesame(['policy', 'explain', '--user', PEOPLE.engineer, '--resource', 'sandbox', '--duration', '1h'], env);
    expect(await explain.exited()).toBe(0);

    first.child.kill('SIGKILL');
    await first.exited();
    const third = start();
    await untilReady(third, PORT);
    third.child.kill('SIGTERM');
    expect(await third.exited()).toBe(0);
  }, 90_000);

  it('holds the lock within one process too, and releases it', () => {
    const path = join(dir, 'in-process.db');
    const held = lockInstance(path);
    expect(() => lockInstance(path)).toThrow(InstanceLockError);
    held.release();
    lockInstance(path).release();
  });

  it('says what to do when the lock cannot be made (DATABASE_PATH under a file, not a folder)', () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    expect(() => lockInstance(join(file, 'sesame.db'))).toThrow(
      new InstanceLockError(`Cannot create the lock file ${join(file, 'sesame.db')}.lock beside the database (EEXIST: file already exists, mkdir '${file}'); DATABASE_PATH must name a file in a folder Sesame can write to.`),
    );
  });

  it('refuses a database file with a second name (a hard link): each name would get its own lock and log', async () => {
    const path = join(dir, 'linked-twice.db');
    const other = join(dir, 'linked-twice-other.db');
    openDatabase(path).$client.close();
    linkSync(path, other);
    const said = `The database file ${other} has 2 names (hard links), so another Sesame could open it under another name beside this one and neither would see the other's writes; remove the other links (or copy the file) and start again.`;
    expect(() => lockInstance(other)).toThrow(new InstanceLockError(said));
    expect(() => lockInstance(path)).toThrow(InstanceLockError);
    const refused = start({ DATABASE_PATH: other, PORT: String(PORT + 2) });
    expect(await refused.exited()).toBe(1);
    expect(refused.output()).toContain(said);
  }, 60_000);

  it('shares one lock between two paths to the same database (a symlink)', () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'linked'));
    const held = lockInstance(join(real, 'sesame.db'));
    try {
      expect(() => lockInstance(join(dir, 'linked', 'sesame.db'))).toThrow(InstanceLockError);
    } finally {
      held.release();
    }
  });
});
