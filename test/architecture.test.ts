// The layout rules of ARCHITECTURE.md and STYLE.md, checked: dependency direction, SQL only in the store, file headers.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const importsOf = (file: string): string[] =>
  Array.from(readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms), (m) => m[1] as string);

describe('architecture', () => {
  const src = sourceFiles('src');

  it('keeps the core and the policy free of Slack, BullMQ, Redis and database drivers', () => {
    const forbidden = /^(@slack\/|bullmq|ioredis|better-sqlite3|drizzle-orm)/;
    const offenders = src
      .filter((f) => f.startsWith('src/core/') || f.startsWith('src/policy/'))
      .flatMap((f) => importsOf(f).filter((i) => forbidden.test(i)).map((i) => `${f} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps the policy independent of the store and the core use cases', () => {
    const offenders = src
      .filter((f) => f.startsWith('src/policy/'))
      .flatMap((f) => importsOf(f).filter((i) => i.includes('/store/') || /core\/(access-service|grant-keeper|lifecycle)/.test(i)).map((i) => `${f} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps the core on the store port: src/core imports no module of src/store', () => {
    const offenders = src.filter((f) => f.startsWith('src/core/')).flatMap((f) => importsOf(f).filter((i) => i.includes('/store/')).map((i) => `${f} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it("keeps Sesame's own SQL in src/store (providers speak SQL only to the databases they grant on)", () => {
    const sql = /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b|\.prepare\(/;
    const offenders = src.filter((f) => !f.startsWith('src/store/') && !f.startsWith('src/providers/') && sql.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('starts every source and test file with a one-line header comment', () => {
    const files = [...src, ...sourceFiles('test'), ...sourceFiles('scripts'), ...sourceFiles('bench')];
    const missing = files.filter((f) => !readFileSync(join(ROOT, f), 'utf8').startsWith('// '));
    expect(missing).toEqual([]);
  });

  it('registers Bolt listeners for buttons, selects and forms only through the router (one listener each kind)', () => {
    // Bolt runs every request through every listener: a listener per button would cost each command a chain per button.
    const offenders = src.filter((f) => f !== 'src/slack/routes.ts' && /\bapp\.(action|view)\s*[<(]/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('keeps source files small (under 300 lines)', () => {
    const long = src.map((f) => ({ f, lines: readFileSync(join(ROOT, f), 'utf8').split('\n').length })).filter((x) => x.lines > 300);
    expect(long).toEqual([]);
  });

  it('uses kebab-case file names', () => {
    expect([...src, ...sourceFiles('test')].filter((f) => !/^[a-z0-9-]+(\.[a-z0-9]+)*\.ts$/.test(f.split('/').at(-1) ?? ''))).toEqual([]);
  });
});
