// `sesame migrate --to` as a real process with a DATABASE_URL whose password holds an unencoded "/", "#" or "?": the
// URL does not parse, and the sentences that say so (and the "copying … into …" line) must still not show the password.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSesame } from '../support/sesame-process.ts';

const SECRET = 'pgleak7f3e';

describe('a postgres:// password with unencoded special characters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-pgleak-'));
  const sqlite = join(dir, 'sesame.db');
  const env = { PATH: process.env.PATH, DATABASE_PATH: sqlite };

  beforeAll(async () => {
    const made = spawnSesame(['migrate'], env);
    expect(await made.exited(), made.output()).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const password of [`${SECRET}/x`, `${SECRET}#x`, `${SECRET}?x`, `12/${SECRET}`]) {
    it(`is not printed by sesame migrate --to when it is "${password.replace(SECRET, '…')}"`, async () => {
      const copy = spawnSesame(['migrate', '--from', `sqlite:${sqlite}`, '--to', `postgres://sesame:${password}@127.0.0.1:1/sesame`], env);
      expect(await copy.exited()).not.toBe(0);
      expect(copy.output()).toMatch(/127\.0\.0\.1|URL/);
      expect(copy.output()).not.toContain(SECRET);
    }, 60_000);
  }
});
