// Environment parsing: defaults, nesting, and one sentence per problem.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES, loadConfig, slackConfigProblems } from '../src/config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(loadConfig({}).value).toEqual({
      slack: { botToken: undefined, signingSecret: undefined, appToken: undefined, apiUrl: undefined },
      port: 3000,
      databasePath: './data/sesame.db',
      databaseUrl: undefined,
      redisUrl: 'redis://127.0.0.1:6379',
      policyPath: './policies/policy.yaml',
      logLevel: 'info',
      reconcileIntervalMs: 30_000,
      secrets: {},
    });
  });

  it('treats empty variables, as .env files leave them, as unset', () => {
    expect(loadConfig({ PORT: '', SLACK_APP_TOKEN: '' }).value).toMatchObject({ port: 3000, slack: { appToken: undefined } });
  });

  it('reads every variable into nested camelCase', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret-123', SLACK_APP_TOKEN: 'xapp-1', SLACK_API_URL: 'http://127.0.0.1:9000/api/',
      PORT: '8080', DATABASE_PATH: '/tmp/s.db', REDIS_URL: 'redis://10.0.0.1:6380/2', POLICY_PATH: 'p.yaml', LOG_LEVEL: 'debug', RECONCILE_INTERVAL: '1m',
    });
    expect(config.value).toEqual({
      slack: { botToken: 'xoxb-1', signingSecret: 'secret-123', appToken: 'xapp-1', apiUrl: 'http://127.0.0.1:9000/api/' },
      port: 8080, databasePath: '/tmp/s.db', databaseUrl: undefined, redisUrl: 'redis://10.0.0.1:6380/2', policyPath: 'p.yaml', logLevel: 'debug', reconcileIntervalMs: 60_000,
      secrets: expect.objectContaining({ SLACK_BOT_TOKEN: 'xoxb-1' }),
    });
  });

  it('selects PostgreSQL with a postgres:// or postgresql:// DATABASE_URL, and SQLite while it is unset or empty', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://sesame:pw@db:5432/sesame' }).value?.databaseUrl).toBe('postgres://sesame:pw@db:5432/sesame');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/sesame' }).value?.databaseUrl).toBe('postgresql://db/sesame');
    expect(loadConfig({ DATABASE_URL: '', DATABASE_PATH: '/tmp/s.db' }).value).toMatchObject({ databaseUrl: undefined, databasePath: '/tmp/s.db' });
  });

  it('refuses any other DATABASE_URL in one sentence that does not repeat it (it may carry a password)', () => {
    for (const url of ['mysql://root:hunter2@db/sesame', 'sqlite:./data/sesame.db', 'not a url hunter2']) {
      const result = loadConfig({ DATABASE_URL: url });
      expect(result.error).toEqual([
        'DATABASE_URL must be a postgres:// or postgresql:// URL, like postgres://db.example:5432/sesame (leave it empty to use SQLite at DATABASE_PATH).',
      ]);
      expect(JSON.stringify(result.error)).not.toContain('hunter2');
    }
  });

  it('says what each malformed variable should look like', () => {
    const result = loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', RECONCILE_INTERVAL: 'often', SLACK_API_URL: 'http://x/api' });
    expect(result.error).toEqual([
      'SLACK_API_URL must end with a slash, like https://slack.com/api/.',
      'PORT must be a port number between 1 and 65535.',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent.',
      'RECONCILE_INTERVAL must be a duration like 90s, 30m, 2h, 1d or 1h30m.',
    ]);
  });
});

describe('slackConfigProblems', () => {
  it('needs a bot token, and a signing secret unless Socket Mode is on', () => {
    const base = loadConfig({}).value;
    if (!base) throw new Error('defaults must parse');
    expect(slackConfigProblems(base)).toHaveLength(2);
    expect(slackConfigProblems({ ...base, slack: { ...base.slack, botToken: 'xoxb-1', appToken: 'xapp-1' } })).toEqual([]);
  });
});

describe('.env.example', () => {
  it('lists every variable Sesame reads, each under a comment', () => {
    const lines = readFileSync(new URL('../.env.example', import.meta.url), 'utf8').split('\n');
    expect(ENV_VARIABLES).toHaveLength(11);
    for (const name of ENV_VARIABLES) {
      const at = lines.findIndex((l) => l.startsWith(`${name}=`));
      expect(at, `${name} is missing`).toBeGreaterThan(0);
      expect(lines[at - 1], `${name} has no comment`).toMatch(/^# /);
    }
  });
});
