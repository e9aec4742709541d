// Cold start: each `sesame` command loads only the packages it uses. A policy check never loads a cloud SDK, Slack,
// Redis, BullMQ or a database driver, and `start` with webhook and noop providers loads no cloud SDK (they load on first use),
// nor in HTTP mode Socket Mode's client or Express.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.ts';
import { OwnRedis } from '../support/own-redis.ts';
import { sesame } from '../support/run-cli.ts';
import { freePort, spawnSesame, untilReady } from '../support/sesame-process.ts';

const RECORDER = fileURLToPath(new URL('../support/record-imports.mjs', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../policies/examples/', import.meta.url));

/** The SDKs the providers import on first use: @googleapis/* brings google-auth-library, pg its pg-* helpers. */
const CLOUD_SDKS = /^(@kubernetes\/client-node|@aws-sdk\/.*|@googleapis\/.*|google-auth-library|googleapis-common|@octokit\/.*|pg|pg-.*)$/;
/** What only `start` (or the database commands) need. */
const BOT_ONLY = /^(@slack\/bolt|@slack\/web-api|bullmq|ioredis|better-sqlite3|drizzle-orm|pino|prom-client|undici)$/;
/** What only Bolt's Socket Mode and Express receivers need. */
const RECEIVERS_ONLY = /^(@slack\/socket-mode|express|ws)$/;

const BUNDLE = fileURLToPath(new URL('../../dist/bundle/', import.meta.url));

/** What each file of the bundle holds (scripts/bundle.js writes it), when `sesame` runs bundled. */
function bundledPackages(): Record<string, string[]> {
  return existsSync(join(BUNDLE, 'packages.json')) ? (JSON.parse(readFileSync(join(BUNDLE, 'packages.json'), 'utf8')) as Record<string, string[]>) : {};
}

/**
 * The packages whose files a command loaded, by the innermost node_modules folder of each; a file of the bundle counts
 * as every package bundled into it.
 */
function packagesIn(file: string): Set<string> {
  const inBundle = bundledPackages();
  const names = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const path = decodeURIComponent(line);
      const bundled = path.match(/\/dist\/bundle\/([^/]+\.js)$/)?.[1];
      if (bundled !== undefined) return inBundle[bundled] ?? [];
      const name = path.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];
      return name === undefined ? [] : [name];
    });
  return new Set(names);
}

describe('what each command loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-lazy-'));
  let runs = 0;
  const recording = () => {
    const file = join(dir, `imports-${++runs}.txt`);
    writeFileSync(file, '');
    return { file, env: { NODE_OPTIONS: `--import=${RECORDER}`, IMPORTS_FILE: file } };
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Every example, the cloud providers' included: checking their blocks must not need their SDKs.
  it.each(readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')))('policy check %s loads neither an SDK nor the bot', async (example) => {
    const { file, env } = recording();
    const out = await sesame(['policy', 'check', join(EXAMPLES, example)], env);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(': ok — ');
    const loaded = [...packagesIn(file)];
    expect(loaded).toContain('zod'); // the recorder sees what the check does need
    expect(loaded).toContain('yaml');
    expect(loaded.filter((p) => CLOUD_SDKS.test(p) || BOT_ONLY.test(p))).toEqual([]);
  });

  // `policy test` runs in a pull request's CI, where there is no Slack, Redis or database.
  it.each([
    ['policy', 'test'],
    ['policy', 'diff', 'policies/policy.yaml', 'policies/examples/full-policy.yaml'],
  ])('%s %s loads neither an SDK nor Slack, Redis or a database driver', async (...args) => {
    const { file, env } = recording();
    const out = await sesame(args, env);
    expect(out.code).toBe(0);
    const loaded = [...packagesIn(file)];
    expect(loaded).toContain('yaml');
    expect(loaded.filter((p) => CLOUD_SDKS.test(p) || BOT_ONLY.test(p))).toEqual([]);
  });

  it('--help loads no package at all of its own', async () => {
    const { file, env } = recording();
    const out = await sesame(['--help'], env);
    expect(out).toMatchObject({ code: 0 });
    expect(out.stdout).toContain('policy check');
    expect([...packagesIn(file)].filter((p) => CLOUD_SDKS.test(p) || BOT_ONLY.test(p) || p === 'zod' || p === 'yaml')).toEqual([]);
  });

  describe('start', () => {
    const slack = new FakeSlack();
    const redis = new OwnRedis();
    beforeAll(async () => {
      await Promise.all([slack.start(), redis.start()]);
      writeFileSync(
        join(dir, 'policy.yaml'),
        [
          'version: 1',
          'settings: { approvals_channel: C0APPROVALS }',
          'tiers:',
          '  low: { auto_approve: always, max_duration: 8h }',
          'resources:',
          '  sandbox: { tier: low, roles: [admin], provider: { type: noop } }',
          '  deploys: { tier: low, roles: [admin], provider: { type: webhook, url: "http://127.0.0.1:9/hook", secret_env: HOOK_SECRET } }',
          '',
        ].join('\n'),
      );
    });
    afterAll(async () => {
      await Promise.all([slack.stop(), redis.stop()]);
    });

    /** `sesame start` on its own database, recording what it loads; `mode` is its Slack secret (HTTP) or app token (Socket Mode). */
    async function startRecorded(database: string, mode: { SLACK_SIGNING_SECRET: string } | { SLACK_APP_TOKEN: string }) {
      const { file, env } = recording();
      const port = await freePort();
      const bot = spawnSesame(['start'], {
        PATH: process.env.PATH,
        ...env,
        ...mode,
        SLACK_BOT_TOKEN: 'xoxb-lazy',
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: redis.url,
        PORT: String(port),
        DATABASE_PATH: join(dir, database),
        POLICY_PATH: join(dir, 'policy.yaml'),
        HOOK_SECRET: 'lazy-hook-secret',
        LOG_LEVEL: 'warn',
      });
      return { file, port, bot };
    }

    it('with webhook and noop providers loads the bot but no cloud SDK', async () => {
      const { file, port, bot } = await startRecorded('sesame.db', { SLACK_SIGNING_SECRET: 'lazy-signing-secret' });
      try {
        await untilReady(bot, port);
      } finally {
        bot.child.kill('SIGTERM');
      }
      expect(await bot.exited()).toBe(0);
      const loaded = [...packagesIn(file)];
      expect(loaded).toEqual(expect.arrayContaining(['@slack/bolt', 'bullmq', 'better-sqlite3']));
      expect(loaded.filter((p) => CLOUD_SDKS.test(p))).toEqual([]);
      // Bolt's other receivers: HTTP mode uses neither (the bundle loads them on first use, see scripts/bundle.js).
      expect(loaded.filter((p) => RECEIVERS_ONLY.test(p))).toEqual([]);
    });

    it('in Socket Mode loads its client when it needs it, connects, and answers a command over the socket', async () => {
      const connectionsBefore = slack.connections.length;
      const { file, port, bot } = await startRecorded('socket.db', { SLACK_APP_TOKEN: 'xapp-lazy' });
      try {
        await untilReady(bot, port);
        await slack.waitFor(() => slack.connections.length > connectionsBefore, 'the Socket Mode connection');
        const envelope = slack.sendEnvelope('slash_commands', {
          command: '/access', text: 'request sandbox 1h lazy socket', user_id: 'U0LAZY', channel_id: 'C0GENERAL',
          team_id: 'T0TEAM', api_app_id: 'A0SESAME', response_url: slack.responseUrl('lazy-socket'), trigger_id: 'trigger-lazy-socket',
        });
        await slack.waitFor(() => slack.acks.get(envelope), 'the ack on the socket');
        const reply = await slack.waitFor(() => slack.responsesTo('lazy-socket')[0], 'the reply');
        expect(String(reply.text)).toMatch(/^✅ Granted: `sandbox` `admin`/);
      } finally {
        bot.child.kill('SIGTERM');
      }
      expect(await bot.exited()).toBe(0);
      expect([...packagesIn(file)]).toContain('@slack/socket-mode');
    });
  });
});
