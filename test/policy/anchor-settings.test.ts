// The anchor settings: a default interval, a signed destination that needs its key, and no anchor sent in clear.
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatProblem, parsePolicy } from '../../src/policy/load.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';

const problems = (settings: Record<string, unknown>, env?: Record<string, string>): string[] => {
  const result = parsePolicy(stringify(aPolicyInput({ settings })), 'p.yaml', env ? { env: { PROD_DB_HOOK_SECRET: 's', STAGING_PG_URL: 'postgres://x', ...env } } : {});
  return (result.error ?? []).map((p) => formatProblem(p).replace(/^p\.yaml:\d+:\d+ /, ''));
};

describe('anchor settings', () => {
  it('anchors every 10 minutes unless anchor_every says otherwise', () => {
    expect(parsePolicy(stringify(aPolicyInput()), 'p.yaml').value?.policy.settings.anchor_every).toBe(600_000);
    expect(parsePolicy(stringify(aPolicyInput({ settings: { anchor_every: '1m' } })), 'p.yaml').value?.policy.settings.anchor_every).toBe(60_000);
  });

  it('refuses anchor_url without anchor_secret_env, over plain http to another host, and with its variable unset', () => {
    expect(problems({ anchor_url: 'https://anchors.example.com/in' })).toEqual(['settings.anchor_secret_env: anchor_url needs anchor_secret_env: the environment variable holding the key anchors are signed with']);
    expect(problems({ anchor_url: 'http://anchors.example.com/in', anchor_secret_env: 'ANCHOR_KEY' })).toEqual([
      'settings.anchor_url: must be https (http only to localhost): an anchor sent in clear can be altered on the way',
    ]);
    expect(problems({ anchor_url: 'https://anchors.example.com/in', anchor_secret_env: 'ANCHOR_KEY' }, {})).toEqual([
      'settings.anchor_secret_env: environment variable ANCHOR_KEY is not set; audit anchors POSTed to anchor_url are signed with it; set it where Sesame runs, or remove anchor_url',
    ]);
    expect(problems({ anchor_url: 'http://127.0.0.1:8080/in', anchor_secret_env: 'ANCHOR_KEY' }, { ANCHOR_KEY: 'k' })).toEqual([]);
  });
});
