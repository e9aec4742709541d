// The redaction helper: user:password and secret query parameters leave every URL shown, in URLs and in free text.
import { describe, expect, it } from 'vitest';
import { redactCredentials, redactUrl } from '../../src/core/redact.ts';

describe('redactUrl', () => {
  it('removes user and password and keeps host, port and database', () => {
    expect(redactUrl('redis://sesame:s3cr3t@127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
    expect(redactUrl('redis://:s3cr3t@127.0.0.1:6379/2')).toBe('redis://127.0.0.1:6379/2');
    expect(redactUrl('rediss://default:s%40cret@cache.internal:6380')).toBe('rediss://cache.internal:6380');
    expect(redactUrl('postgres://sesame:pa%2Fss@db.internal:5432/app?sslmode=require')).toBe('postgres://db.internal:5432/app?sslmode=require');
  });

  it('masks secret query parameters of connection strings', () => {
    expect(redactUrl('postgres://db.internal/app?user=sesame&password=hunter2&sslmode=require')).toBe('postgres://db.internal/app?user=sesame&password=***&sslmode=require');
  });

  it('leaves URLs without credentials alone', () => {
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('https://slack.com/api/')).toBe('https://slack.com/api/');
  });

  it('scrubs what does not parse as a URL as text', () => {
    expect(redactUrl('redis://u:p@ss word@host')).not.toContain('p@ss');
  });
});

describe('redactCredentials', () => {
  it('removes credentials of every URL inside a message, including an unencoded @ in the password', () => {
    const text = 'connect failed for postgres://admin:p@ss@db:5432/x and redis://u:pw@r:6379/1, see https://example.com/help';
    expect(redactCredentials(text)).toBe('connect failed for postgres://db:5432/x and redis://r:6379/1, see https://example.com/help');
  });

  it('scrubs inside JSON log lines without eating the surrounding fields', () => {
    const line = JSON.stringify({ msg: 'x', redis: 'redis://u:topsecret@h:1/0', next: 'a@b' });
    expect(JSON.parse(redactCredentials(line))).toEqual({ msg: 'x', redis: 'redis://h:1/0', next: 'a@b' });
  });

  it('keeps a JSON line valid when a secret parameter is followed by an escaped quote', () => {
    const line = JSON.stringify({ msg: 'failed: postgres://h/db?password=abc"quoted" here' });
    expect(() => JSON.parse(redactCredentials(line))).not.toThrow();
    expect(redactCredentials(line)).not.toContain('abc');
  });

  it('masks password= in a libpq keyword string quoted in an error', () => {
    expect(redactCredentials('bad conn postgres://h/db?password=topsecret&x=1')).toBe('bad conn postgres://h/db?password=***&x=1');
  });
});
