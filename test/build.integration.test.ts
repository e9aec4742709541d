// The compiled build: bin/sesame.js picks dist/ when it is fresh, the build runs without tsx, and light commands load light modules.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from './support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'sesame-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(bin: string, args: string[], options: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...(options.nodeArgs ?? []), bin, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...options.env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A checkout of bin/sesame.js with stand-in entry points, to see which one the bin picks. */
function fakeCheckout(name: string, parts: { dist?: boolean; bundle?: boolean; src?: boolean; tsx?: boolean }): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(BIN, join(root, 'bin', 'sesame.js'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  if (parts.src) {
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), "export async function run(argv: string[]): Promise<void> {\n  process.stdout.write(`source ${argv.join(' ')}\\n`);\n}\n");
  }
  if (parts.dist) {
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), "export async function run(argv) {\n  process.stdout.write(`compiled ${argv.join(' ')}\\n`);\n}\n");
  }
  if (parts.bundle) {
    mkdirSync(join(root, 'dist', 'bundle'), { recursive: true });
    writeFileSync(join(root, 'dist', 'bundle', 'main.js'), "export async function run(argv) {\n  process.stdout.write(`bundled ${argv.join(' ')}\\n`);\n}\n");
  }
  if (parts.tsx ?? true) symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  return join(root, 'bin', 'sesame.js');
}

const setAge = (path: string, secondsAgo: number) => {
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, at, at);
};

describe('bin/sesame.js', () => {
  it('runs dist/ when it is newer than every source file', async () => {
    const bin = fakeCheckout('fresh', { dist: true, src: true });
    setAge(join(dir, 'fresh', 'src', 'cli', 'main.ts'), 60);
    expect(await run(bin, ['policy', 'check'])).toMatchObject({ code: 0, stdout: 'compiled policy check\n' });
  });

  it('runs the bundle in dist/bundle/ when the build made one, under the same freshness rule', async () => {
    const bin = fakeCheckout('bundled', { dist: true, bundle: true, src: true });
    setAge(join(dir, 'bundled', 'src', 'cli', 'main.ts'), 60);
    expect(await run(bin, ['policy', 'check'])).toMatchObject({ code: 0, stdout: 'bundled policy check\n' });
    // A bundle older than dist/ (tsc ran again without bundling) is not run.
    setAge(join(dir, 'bundled', 'dist', 'bundle', 'main.js'), 30);
    expect(await run(bin, ['x'])).toMatchObject({ code: 0, stdout: 'compiled x\n' });
    setAge(join(dir, 'bundled', 'dist', 'cli', 'main.js'), 120);
    expect(await run(bin, ['x'])).toMatchObject({ code: 0, stdout: 'source x\n' });
  });

  it('runs the source through tsx when a source file changed after the build', async () => {
    const bin = fakeCheckout('stale', { dist: true, src: true });
    setAge(join(dir, 'stale', 'dist', 'cli', 'main.js'), 60);
    expect(await run(bin, ['x'])).toMatchObject({ code: 0, stdout: 'source x\n' });
  });

  it('runs dist/ where there is no source (the container image), and the source where nothing was built', async () => {
    expect(await run(fakeCheckout('image', { dist: true, tsx: false }), ['x'])).toMatchObject({ code: 0, stdout: 'compiled x\n' });
    expect(await run(fakeCheckout('unbuilt', { src: true }), ['x'])).toMatchObject({ code: 0, stdout: 'source x\n' });
  });

  it('says what to do when nothing is built and tsx is not installed', async () => {
    const out = await run(fakeCheckout('bare', { src: true, tsx: false }), []);
    expect(out).toMatchObject({ code: 1, stdout: '', stderr: 'Sesame is not built and tsx is not installed; run `npm ci` (which builds it) or `npm run build`.\n' });
  });
});

describe('the compiled build', () => {
  const built = join(dir, 'built');
  const bin = join(built, 'bin', 'sesame.js');
  // Every module resolved, reported on standard error, so a test can see what a command loads.
  const recorder = join(dir, 'record-imports.mjs');

  beforeAll(() => {
    // Built into a copy, not the checkout's dist/, which other tests running at the same time may be using.
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(built, 'dist')], { stdio: 'pipe' });
    mkdirSync(join(built, 'bin'));
    copyFileSync(BIN, bin);
    for (const shared of ['package.json', 'migrations', 'node_modules', 'policies']) symlinkSync(join(ROOT, shared), join(built, shared));
    const hook = `export async function resolve(specifier, context, next) { const r = await next(specifier, context); process.stderr.write('IMPORT ' + r.url + '\\n'); return r; }`;
    writeFileSync(recorder, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));\n`);
  }, 180_000);

  const importsOf = async (args: string[]) => {
    const out = await run(bin, args, { nodeArgs: ['--import', recorder], env: { DATABASE_PATH: join(dir, 'graph.db') } });
    return out.stderr.split('\n').filter((l) => l.startsWith('IMPORT ')).map((l) => l.slice('IMPORT '.length));
  };

  it('runs from dist/ without the TypeScript toolchain and finds the migrations from there', async () => {
    const db = join(dir, 'compiled.db');
    expect(await run(bin, ['migrate'], { env: { DATABASE_PATH: db } })).toMatchObject({ code: 0, stdout: expect.stringMatching(/: created, \d+ migrations applied\n$/) });
    const imports = await importsOf(['migrate']);
    expect(imports.some((url) => url.includes('/built/dist/cli/migrate-command.js'))).toBe(true);
    expect(imports.filter((url) => /\/(tsx|esbuild|typescript)\//.test(url) || url.endsWith('.ts'))).toEqual([]);
  });

  it('loads no dependency at all for --help, and nothing of Slack, BullMQ, Redis, SQLite, PostgreSQL or logging for policy check', async () => {
    expect((await importsOf(['--help'])).filter((url) => url.includes('node_modules'))).toEqual([]);
    const heavy = /node_modules\/(@slack\/|bullmq|ioredis|better-sqlite3|drizzle-orm|pg\/|pino|prom-client)/;
    const check = await importsOf(['policy', 'check', join(ROOT, 'policies', 'policy.yaml')]);
    expect(check.some((url) => url.includes('/dist/policy/load.js'))).toBe(true);
    expect(check.filter((url) => heavy.test(url))).toEqual([]);
  });
});

describe('the bundled build', () => {
  const bundled = join(dir, 'bundled-build');
  const bin = join(bundled, 'bin', 'sesame.js');

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(bundled, 'dist')], { stdio: 'pipe' });
    mkdirSync(join(bundled, 'bin'));
    copyFileSync(BIN, bin);
    for (const shared of ['package.json', 'migrations', 'node_modules', 'policies']) symlinkSync(join(ROOT, shared), join(bundled, shared));
    const { bundle } = (await import(join(ROOT, 'scripts', 'bundle.js'))) as { bundle: (root: string) => Promise<boolean> };
    expect(await bundle(`${bundled}/`)).toBe(true);
  }, 180_000);

  it('finds the migrations and the version from inside the bundle, which is a few files rather than hundreds', async () => {
    const db = join(dir, 'bundled.db');
    expect(await run(bin, ['migrate'], { env: { DATABASE_PATH: db } })).toMatchObject({ code: 0, stdout: expect.stringMatching(/: created, \d+ migrations applied\n$/) });
    const version = await run(bin, ['--version']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/\d+\.\d+\.\d+/) });
    const files = readdirSync(join(bundled, 'dist', 'bundle')).filter((f) => f.endsWith('.js'));
    expect(files).toContain('main.js');
    expect(files.length).toBeLessThan(200);
    // A CommonJS package behind import() would get a default export only there (undici's `request` went missing).
    const defaultOnly = files.filter((f) => /^export default require_/m.test(readFileSync(join(bundled, 'dist', 'bundle', f), 'utf8')));
    expect(defaultOnly).toEqual([]);
  });
});
