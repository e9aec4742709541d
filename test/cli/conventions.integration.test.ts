// CLI conventions, run as users run them: --help at every level, listings, --version, exit 2 for a bad command line, ./.env.
// Generous timeouts: each test spawns the CLI many times, and a shared machine can make each spawn take seconds.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { EXAMPLE_POLICY_PATH } from '../support/policy-fixtures.ts';
import { BIN, ROOT, sesame } from '../support/run-cli.ts';
import { tempDb } from '../support/temp-db.ts';

const dir = mkdtempSync(join(tmpdir(), 'sesame-cli-conventions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sesame --help, listings and --version', { timeout: 120_000 }, () => {
  it('answers --help at every level on standard output with exit 0', async () => {
    const top = await sesame(['--help']);
    expect(top).toMatchObject({ code: 0, stderr: '' });
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command.name} `);

    expect(await sesame(['policy', '--help'])).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^usage: sesame policy <command>[^]*policy check[^]*policy explain/) });
    for (const command of COMMANDS) {
      const out = await sesame([...command.name.split(' '), '--help']);
      expect(out, command.name).toMatchObject({ code: 0, stderr: '', stdout: `${command.help}\n` });
    }
    expect(await sesame(['help', 'audit', 'export'])).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: sesame audit export') });
  });

  it('lists a group\'s subcommands when the group is given alone, as a usage error', async () => {
    const out = await sesame(['policy']);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^usage: sesame policy <command> \[--help\]\n\n {2}policy check +validate a policy file\n {2}policy explain /);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await sesame(['--version'])).toMatchObject({ code: 0, stdout: `sesame ${version}\n` });
  });
});

describe('a bad command line', { timeout: 120_000 }, () => {
  it('exits 2 with the reason and the command\'s usage, for every kind of mistake', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^usage: sesame <command>/],
      [['polcy', 'check'], /^Unknown command "polcy check"\. Did you mean "sesame policy check"\?/],
      [['policy', 'chek'], /^Unknown command "policy chek"\. Did you mean "sesame policy check"\?/],
      [['policy', 'check', '--strict'], /Unknown option '--strict'[^]*\n\nusage: sesame policy check \[FILE\]/],
      [['policy', 'check', 'a.yaml', 'b.yaml'], /^sesame policy check takes one file, not 2\.\n\nusage: sesame policy check/],
      [['policy', 'explain', '--user'], /Option '--user <value>' argument missing[^]*\n\nusage: sesame policy explain/],
      [['audit', 'verify', 'extra'], /Unexpected argument 'extra'[^]*\n\nusage: sesame audit verify/],
      [['audit', 'export', '--format'], /argument missing[^]*\n\nusage: sesame audit export/],
      [['migrate', 'now'], /^sesame migrate takes no arguments, not "now"\.\n\nusage: sesame migrate/],
      [['doctor', '--fix'], /^sesame doctor takes no arguments/],
      [['start', '--port', '80'], /^sesame start takes no arguments/],
    ];
    for (const [args, message] of cases) {
      const out = await sesame(args, { DATABASE_PATH: join(dir, 'never.db') });
      expect({ args, code: out.code, stdout: out.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(out.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('an unknown flag', { timeout: 180_000 }, () => {
  it('exits 2 with the command\'s usage for every command, so none is left out', async () => {
    for (const command of COMMANDS) {
      const out = await sesame([...command.name.split(' '), '--no-such-flag'], { DATABASE_PATH: join(dir, 'never.db') });
      expect({ command: command.name, code: out.code, stdout: out.stdout }).toEqual({ command: command.name, code: 2, stdout: '' });
      expect(out.stderr, command.name).toContain('--no-such-flag');
      // The problem, a blank line, then the usage: the same layout for every command.
      expect(out.stderr, command.name).toContain(`\n\nusage: sesame ${command.name}`);
    }
  });
});

describe('output', { timeout: 120_000 }, () => {
  it('never runs standard output and standard error into one line when both go to one place', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\nsettings:\n  colour: blue\n');
    const merged = await new Promise<string>((resolve) => {
      // One pipe for both streams, as a terminal or `2>&1 | less` shows them.
      execFile('sh', ['-c', `"${process.execPath}" "${BIN}" policy check "${EXAMPLE_POLICY_PATH}" 2>&1; "${process.execPath}" "${BIN}" policy check "${broken}" 2>&1`], { env: { PATH: process.env.PATH ?? '' } }, (_error, stdout) => resolve(stdout));
    });
    const lines = merged.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    for (const text of lines) expect(text).toMatch(/^(\/\S+\.yaml(:\d+:\d+)?[: ]|\d+ problems? in )/);
  });

  it('says "ok: 1 entry" and "ok: 2 entries" after verifying the audit log', async () => {
    const temp = tempDb();
    try {
      const store = new SqliteStore(temp.db, () => 'c'.repeat(64));
      const entry = async () => await store.audit(new Date(), { actor: 'sesame', action: 'policy.loaded', details: {} });
      await entry();
      temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
      expect(await sesame(['audit', 'verify'], { DATABASE_PATH: temp.path })).toMatchObject({ code: 0, stdout: 'ok: 1 entry; 0 requests and 0 grants match the log\n' });
      await entry();
      temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
      expect(await sesame(['audit', 'verify'], { DATABASE_PATH: temp.path })).toMatchObject({ code: 0, stdout: 'ok: 2 entries; 0 requests and 0 grants match the log\n' });
    } finally {
      temp.cleanup();
    }
  });
});

describe('./.env', { timeout: 120_000 }, () => {
  it('is read from the current directory, and variables already set win', async () => {
    const project = mkdtempSync(join(dir, 'project-'));
    writeFileSync(join(project, '.env'), `# as .env.example\nDATABASE_PATH=${join(project, 'from-env-file.db')}\nPOLICY_PATH=${join(project, 'missing.yaml')}\n`);
    const fromFile = await sesame(['migrate'], {}, project);
    expect(fromFile).toMatchObject({ code: 0, stdout: expect.stringMatching(/^.*\/from-env-file\.db: created, \d+ migrations applied\n$/) });
    const overridden = await sesame(['migrate'], { DATABASE_PATH: join(project, 'from-environment.db') }, project);
    expect(overridden.stdout).toMatch(/^.*\/from-environment\.db: created, \d+ migrations applied\n$/);
    // POLICY_PATH came from the file too: the check looks where it says.
    expect(await sesame(['policy', 'check'], {}, project)).toMatchObject({ code: 1, stderr: expect.stringContaining(join(project, 'missing.yaml')) });
  });

  it('is read by `sesame start` (npm start) too', async () => {
    const project = mkdtempSync(join(dir, 'start-'));
    writeFileSync(join(project, '.env'), 'PORT=eighty\n');
    const out = await sesame(['start'], { SLACK_BOT_TOKEN: 'xoxb-env-file', SLACK_SIGNING_SECRET: 'env-file-secret' }, project);
    expect(out).toMatchObject({ code: 1, stderr: '' });
    expect((JSON.parse(out.stdout.trim()) as { msg: string }).msg).toMatch(/^PORT must be a port number/);
  });
});
