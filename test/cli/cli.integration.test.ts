// The `sesame` command as users run it: a real process, real files, exit codes and output.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash } from '../../src/store/audit.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { EXAMPLE_POLICY_PATH } from '../support/policy-fixtures.ts';
import { sesame } from '../support/run-cli.ts';

/** Every migration in the journal, so adding one does not break this test. */
const MIGRATION_COUNT = (JSON.parse(readFileSync(new URL('../../migrations/sqlite/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] }).entries.length;
import { tempDb, type TempDb } from '../support/temp-db.ts';

describe('sesame CLI', () => {
  let temp: TempDb;
  beforeAll(async () => {
    temp = tempDb();
    const store = new SqliteStore(temp.db, () => 'c'.repeat(64));
    // Each entry with its row, as Sesame writes them, so verify can prove the table too.
    for (let i = 0; i < 4; i++) {
      const at = new Date(Date.UTC(2026, 10, 20 + i));
      await store.transaction(at, async (tx) => {
        const reason = i === 2 ? 'has, "quotes"\nand a newline' : 'plain';
        const row = await tx.insertRequest({ requester: 'U1', resource: 'sandbox', role: 'admin', tier: 'low', durationMs: 3_600_000, reason, tickets: [], state: 'pending', steps: [], rule: 'test', createdAt: at.getTime() });
        await tx.audit({ actor: 'U1', action: 'request.created', requestId: `R${row.id}`, details: { reason } });
      });
    }
    temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  });
  afterAll(() => temp.cleanup());
  const dbEnv = () => ({ DATABASE_PATH: temp.path });

  describe('policy check', () => {
    it('accepts the example policy with a one-line summary', async () => {
      const out = await sesame(['policy', 'check', EXAMPLE_POLICY_PATH]);
      expect(out.code).toBe(0);
      expect(out.stdout.trim().split('\n')).toHaveLength(1);
      expect(out.stdout).toMatch(/policy\.yaml: ok — 4 resources, 3 tiers, 4 groups, break-glass on \(sha256 [0-9a-f]{12}\)/);
    });

    it('checks POLICY_PATH when no file is given', async () => {
      const out = await sesame(['policy', 'check'], { POLICY_PATH: EXAMPLE_POLICY_PATH });
      expect(out.code).toBe(0);
    });

    it('exits 1 listing every problem as FILE:LINE:COL message', async () => {
      const file = join(temp.dir, 'broken.yaml');
      writeFileSync(file, 'version: 1\nsettings:\n  approvals_channel: general\n  colour: blue\ntiers: {}\nresources: {}\n');
      const out = await sesame(['policy', 'check', file]);
      expect(out.code).toBe(1);
      expect(out.stderr.split('\n').filter((l) => l.startsWith(file))).toEqual([
        `${file}:3:22 settings.approvals_channel: must be a Slack channel ID like C0123ABCD (channel details → bottom of the About tab)`,
        `${file}:4:3 settings.colour: unknown key; check its spelling (unknown keys are refused so a typo cannot weaken the policy)`,
      ]);
      expect(out.stderr).not.toMatch(/\bat .+\.ts:\d+/); // no stack trace
    });
  });

  describe('policy explain', () => {
    it('shows the decision and the rule, with its place in the file', async () => {
      const out = await sesame(['policy', 'explain', '--user', 'U0LEAD1', '--resource', 'staging-db', '--role', 'read', '--duration', '1h', '--policy', EXAMPLE_POLICY_PATH]);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('decision: auto-approve');
      expect(out.stdout).toContain('request:  staging-db read for 1h (tier low)');
      expect(out.stdout).toMatch(/rule: {5}tiers\.low\.auto_approve \(.*policy\.yaml:\d+:\d+\)/);
    });

    it('reads --duration in the one-word forms /access and the request form accept', async () => {
      for (const [typed, shown] of [['90min', '1h30m'], ['2hours', '2h'], ['1.5h', '1h30m']] as const) {
        const out = await sesame(['policy', 'explain', '--user', 'U0LEAD1', '--resource', 'staging-db', '--role', 'read', '--duration', typed, '--policy', EXAMPLE_POLICY_PATH]);
        expect(out.stdout, typed).toContain(`request:  staging-db read for ${shown} (tier low)`);
      }
    });

    it('explains approval steps and business hours at a given time', async () => {
      const out = await sesame(['policy', 'explain', '--user', 'U0LEAD1', '--resource', 'deployers', '--duration', '1h', '--reason', 'INC-42', '--at', '2026-11-23T19:00:00Z', '--policy', EXAMPLE_POLICY_PATH]);
      expect(out.stdout).toContain('decision: needs approval');
      expect(out.stdout).toContain('steps:    1) 1 from sre-leads');
      expect(out.stdout).toContain('outside business hours (Mon 20:00 Europe/Berlin');
      expect(out.stdout).toContain('Slack user groups were not looked up (engineering, oncall)');
    });

    it('explains a refusal in a sentence', async () => {
      const out = await sesame(['policy', 'explain', '--user', 'U0LEAD1', '--resource', 'prod-bd', '--policy', EXAMPLE_POLICY_PATH]);
      expect(out.stdout).toContain('decision: refuse — There is no resource "prod-bd". Did you mean "prod-db"?');
    });

    it('explains break-glass from a named channel', async () => {
      const out = await sesame(['policy', 'explain', '--user', 'U0LEAD1', '--resource', 'prod-db', '--role', 'write', '--breakglass', '--channel', 'general', '--reason', 'INC-1', '--policy', EXAMPLE_POLICY_PATH]);
      expect(out.stdout).toContain('Break-glass works only in incident channels ("inc-*"), not in #general');
    });

    it('exits 2 with usage when a required flag is missing or a value is wrong', async () => {
      expect(await sesame(['policy', 'explain', '--user', 'U1'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--user and --resource are required\.\n\nusage: sesame policy explain/) });
      expect(await sesame(['policy', 'explain', '--user', 'U1', '--resource', 'x', '--duration', '5x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('"5x" is not a duration') });
    });
  });

  describe('audit', () => {
    it('verifies an intact log', async () => {
      expect(await sesame(['audit', 'verify'], dbEnv())).toMatchObject({ code: 0, stdout: 'ok: 4 entries; 4 requests and 0 grants match the log\n' });
    });

    it('names the first broken entry of a tampered copy', async () => {
      const copy = join(temp.dir, 'tampered.db');
      copyFileSync(temp.path, copy);
      const db = new Database(copy);
      db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE id = 2;");
      db.close();
      const out = await sesame(['audit', 'verify'], { DATABASE_PATH: copy });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('broken at entry 2: entry 2 was changed after it was written');
    });

    it('checks the chain against a posted anchor', async () => {
      const head = temp.db.$client.prepare('SELECT id, hash FROM audit_log WHERE id = 3').get() as { id: number; hash: string };
      expect((await sesame(['audit', 'verify', '--anchor', `${head.id}:${head.hash}`], dbEnv())).code).toBe(0);
      expect(await sesame(['audit', 'verify', '--anchor', `3:${'0'.repeat(64)}`], dbEnv())).toMatchObject({ code: 1, stderr: expect.stringContaining('differs from the anchor') });
      expect(await sesame(['audit', 'verify', '--anchor', `9:${head.hash}`], dbEnv())).toMatchObject({ code: 1, stderr: expect.stringContaining('truncated') });
    });

    it('catches, with an anchor, a tail rewritten with recomputed hashes or cut off, which plain verify cannot', async () => {
      const anchor = temp.db.$client.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1').get() as { id: number; hash: string };
      const forge = (name: string, sql: string) => {
        const copy = join(temp.dir, name);
        copyFileSync(temp.path, copy);
        const db = new Database(copy);
        db.exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; ${sql}`);
        // Recompute the chain from entry 3 on, as a careful forger would.
        const rows = db.prepare('SELECT * FROM audit_log WHERE id >= 3 ORDER BY id').all() as Record<string, unknown>[];
        let prev = (db.prepare('SELECT hash FROM audit_log WHERE id = 2').get() as { hash: string }).hash;
        for (const row of rows) {
          const fields = { id: row.id, at: row.at, actor: row.actor, action: row.action, request_id: row.request_id, grant_id: row.grant_id, details: JSON.parse(String(row.details)) as unknown, policy_sha256: row.policy_sha256 };
          const hash = entryHash(prev, fields as Parameters<typeof entryHash>[1]);
          db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?').run(prev, hash, row.id);
          prev = hash;
        }
        db.close();
        return { DATABASE_PATH: copy };
      };
      // Since verify also replays the log against the tables, the forger has to change the row too; the anchor still catches it.
      expect(await sesame(['audit', 'verify'], forge('log-only.db', "UPDATE audit_log SET actor = 'mallory' WHERE id = 4;"))).toMatchObject({ code: 1, stderr: expect.stringContaining('request R4: requester is U1 in the table but mallory in the audit log') });
      const rewritten = forge('rewritten.db', "UPDATE audit_log SET actor = 'mallory' WHERE id = 4; UPDATE requests SET requester = 'mallory' WHERE id = 4;");
      expect(await sesame(['audit', 'verify'], rewritten)).toMatchObject({ code: 0 });
      expect(await sesame(['audit', 'verify', '--anchor', `${anchor.id}:${anchor.hash}`], rewritten)).toMatchObject({ code: 1, stderr: expect.stringContaining(`broken at entry ${anchor.id}: its hash differs from the anchor`) });
      const truncated = forge('truncated.db', `DELETE FROM audit_log WHERE id = ${anchor.id}; DELETE FROM requests WHERE id = 4;`);
      expect(await sesame(['audit', 'verify'], truncated)).toMatchObject({ code: 0 });
      expect(await sesame(['audit', 'verify', '--anchor', `${anchor.id}:${anchor.hash}`], truncated)).toMatchObject({ code: 1, stderr: expect.stringContaining('the tail was truncated') });
    });

    it('exports JSON lines within --since/--until', async () => {
      const out = await sesame(['audit', 'export', '--since', '2026-11-21', '--until', '2026-11-23'], dbEnv());
      const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; details: unknown });
      expect(lines.map((l) => l.id)).toEqual([2, 3]);
      expect(lines[1]?.details).toEqual({ reason: 'has, "quotes"\nand a newline' });
    });

    it('exports CSV with a header and quoted fields', async () => {
      const out = await sesame(['audit', 'export', '--format', 'csv'], dbEnv());
      const [header, , , third] = out.stdout.split('\r\n').join('\n').split('\n');
      expect(header).toBe('id,at,actor,action,request_id,grant_id,details,policy_sha256,prev_hash,hash');
      expect(third).toMatch(/^3,2026-11-22T00:00:00\.000Z,U1,request\.created,R3,,"\{""reason"":""has, \\""quotes\\""\\nand a newline""\}",/);
    });

    it('says what to do when there is no database', async () => {
      expect(await sesame(['audit', 'verify'], { DATABASE_PATH: join(temp.dir, 'missing.db') })).toMatchObject({ code: 1, stderr: expect.stringContaining('run `sesame migrate`') });
    });

    it('refuses an unknown export format', async () => {
      expect(await sesame(['audit', 'export', '--format', 'xml'], dbEnv())).toMatchObject({ code: 2, stderr: expect.stringContaining('--format must be jsonl or csv') });
    });
  });

  describe('migrate, start and configuration', () => {
    it('creates the database with its folder and applies migrations', async () => {
      const path = join(temp.dir, 'nested', 'dir', 'fresh.db');
      const out = await sesame(['migrate'], { DATABASE_PATH: path });
      expect(out).toMatchObject({ code: 0, stdout: `${path}: created, ${MIGRATION_COUNT} migrations applied\n` });
      expect(await sesame(['migrate'], { DATABASE_PATH: path })).toMatchObject({ code: 0, stdout: `${path}: already up to date (${MIGRATION_COUNT} migrations applied)\n` });
      expect(await sesame(['audit', 'verify'], { DATABASE_PATH: path })).toMatchObject({ code: 0, stdout: 'ok: 0 entries; 0 requests and 0 grants match the log\n' });
    });

    it('does not pretend to run: start names what is missing and exits non-zero', async () => {
      const out = await sesame(['start'], { DATABASE_PATH: join(temp.dir, 'start.db'), POLICY_PATH: EXAMPLE_POLICY_PATH });
      expect(out.code).toBe(1);
      expect(out.stderr).toBe('');
      const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(lines[0]).toMatchObject({ level: 60, msg: expect.stringContaining('SLACK_BOT_TOKEN is not set') });
    });

    it('reports malformed environment variables one sentence each', async () => {
      const out = await sesame(['migrate'], { PORT: 'eighty', REDIS_URL: 'http://x', SLACK_BOT_TOKEN: 'abc' });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('SLACK_BOT_TOKEN must be a bot token starting with xoxb-');
      expect(out.stderr).toContain('PORT must be a port number');
      expect(out.stderr).toContain('REDIS_URL must be a redis:// or rediss:// URL');
    });

    it('prints usage for an unknown command', async () => {
      expect(await sesame(['polcy', 'check'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command "polcy check". Did you mean "sesame policy check"?') });
    });
  });
});
