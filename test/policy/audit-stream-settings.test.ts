// settings.audit_stream: defaults, a key that must be set (at start and on reload), and no audit entry sent in clear.
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { auditStreamTarget } from '../../src/audit-stream.ts';
import { formatProblem, parsePolicy } from '../../src/policy/load.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';

const ENV = { PROD_DB_HOOK_SECRET: 's', STAGING_PG_URL: 'postgres://x' };
const parse = (audit_stream: Record<string, unknown>, env?: Record<string, string>) => parsePolicy(stringify(aPolicyInput({ settings: { audit_stream } as never })), 'p.yaml', env ? { env: { ...ENV, ...env } } : {});
const problems = (audit_stream: Record<string, unknown>, env?: Record<string, string>): string[] => (parse(audit_stream, env).error ?? []).map((p) => formatProblem(p).replace(/^p\.yaml:\d+:\d+ /, ''));

describe('audit_stream settings', () => {
  it('defaults to jsonl, batches of 100, a 10 s timeout and a warning past 1000 entries behind', () => {
    expect(parse({ url: 'https://siem.example.com/in', secret_env: 'STREAM_KEY' }).value?.policy.settings.audit_stream).toEqual({
      url: 'https://siem.example.com/in',
      secret_env: 'STREAM_KEY',
      format: 'jsonl',
      batch: 100,
      timeout: 10_000,
      warn_lag: 1000,
    });
  });

  it('refuses a stream in clear to another host, a missing key, an unknown format and a batch of 0', () => {
    expect(problems({ url: 'http://siem.example.com/in', secret_env: 'STREAM_KEY' })).toEqual(['settings.audit_stream.url: must be https (http only to localhost): audit entries sent in clear can be read and altered on the way']);
    expect(problems({ url: 'https://siem.example.com/in' })).toEqual(['settings.audit_stream.secret_env: is required']);
    expect(problems({ url: 'https://siem.example.com/in', secret_env: 'STREAM_KEY', format: 'xml' })).toEqual(['settings.audit_stream.format: must be jsonl, splunk_hec or elastic_bulk']);
    expect(problems({ url: 'https://siem.example.com/in', secret_env: 'STREAM_KEY', batch: 0 })).toEqual(['settings.audit_stream.batch: batch must be at least 1']);
  });

  it('elastic_bulk needs an index, named as Elasticsearch allows, and only elastic_bulk takes one', () => {
    const bulk = { url: 'https://es.example.com:9243/_bulk', secret_env: 'STREAM_KEY', format: 'elastic_bulk' };
    const parsed = parse({ ...bulk, index: 'sesame-audit', authorization_env: 'ES_API_KEY' }, { STREAM_KEY: 'k', ES_API_KEY: 'ApiKey abc' });
    const settings = parsed.value?.policy.settings;
    if (settings === undefined) throw new Error(`the policy did not parse: ${JSON.stringify(parsed.error)}`);
    expect(settings.audit_stream).toMatchObject({ format: 'elastic_bulk', index: 'sesame-audit' });
    expect(auditStreamTarget(settings, { STREAM_KEY: 'k', ES_API_KEY: 'ApiKey abc' })).toMatchObject({ format: 'elastic_bulk', index: 'sesame-audit', authorization: 'ApiKey abc' });
    expect(problems(bulk)).toEqual(['settings.audit_stream.index: is required with format: elastic_bulk: name the index (or data stream) the entries are created in, e.g. index: sesame-audit']);
    const badName = 'settings.audit_stream.index: must be an Elasticsearch index name: lowercase letters, digits, ".", "_" and "-", starting with a letter or digit';
    for (const index of ['Sesame-Audit', 'sesame audit', '_sesame', 'a/b', '']) expect(problems({ ...bulk, index })).toEqual([badName]);
    expect(problems({ ...bulk, index: 'a'.repeat(256) })).toEqual(['settings.audit_stream.index: must be at most 255 characters']);
    expect(problems({ url: 'https://siem.example.com/in', secret_env: 'STREAM_KEY', index: 'sesame-audit' })).toEqual(['settings.audit_stream.index: applies only to format: elastic_bulk; remove it or set format: elastic_bulk']);
  });

  it('refuses to start (or reload) when the signing key or the Authorization variable is not set', () => {
    const stream = { url: 'https://siem.example.com/in', secret_env: 'STREAM_KEY', authorization_env: 'SPLUNK_HEC' };
    expect(problems(stream, {})).toEqual([
      'settings.audit_stream.secret_env: environment variable STREAM_KEY is not set; audit_stream signs every POST with it; set it where Sesame runs, or remove audit_stream',
      'settings.audit_stream.authorization_env: environment variable SPLUNK_HEC is not set; audit_stream sends it as the Authorization header; set it where Sesame runs, or remove audit_stream',
    ]);
    expect(problems(stream, { STREAM_KEY: 'k', SPLUNK_HEC: 'Splunk t' })).toEqual([]);
  });
});
