// `sesame audit verify` proves the requests and grants tables: a history made by the real core verifies, and any
// row edited, added or removed behind Sesame's back makes it exit 1 naming the row and the column.
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRow, replayAudit } from '../../src/core/audit-replay.ts';
import { PEOPLE, sqliteAccessHarness, type SqliteHarness } from '../support/access-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'sesame.js');
const HOUR = 3_600_000;

async function verify(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'audit', 'verify'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DATABASE_PATH: path } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sesame audit verify, against the tables', () => {
  let h: SqliteHarness;
  let extendedGrant = 0;
  const ids = { secondGrant: 0, denied: 0, cancelled: 0, twoSteps: 0 };
  beforeAll(async () => {
    h = await sqliteAccessHarness();
    const { service, clock, provider } = h;
    const ask = (requester: string, resource: string, role: string, duration: number, extra: { breakglass?: boolean; channelId?: string } = {}) =>
      service.request({ requester, resource, role, duration, reason: 'INC-42 verify history', ...extra });
    // A grant extended twice, then revoked; another that expires; a two-step approval; a denial; a cancellation;
    // a timeout; a failed grant; a break-glass use and its review. Every kind of row change Sesame makes.
    const first = await ask(PEOPLE.engineer, 'sandbox', 'admin', HOUR);
    if (first.value?.kind !== 'granted') throw new Error('expected a grant');
    extendedGrant = first.value.grant.id;
    clock.advance(60_000);
    await service.extend(extendedGrant, PEOPLE.engineer, 30 * 60_000);
    await service.extend(extendedGrant, PEOPLE.engineer, 30 * 60_000);
    await service.revoke(extendedGrant, PEOPLE.engineer);
    const second = await ask(PEOPLE.engineer2, 'sandbox', 'admin', HOUR);
    const twoSteps = await ask(PEOPLE.engineer, 'prod-db', 'write', HOUR);
    const denied = await ask(PEOPLE.engineer2, 'prod-db', 'write', HOUR);
    const cancelled = await ask(PEOPLE.engineer, 'prod-db', 'read', HOUR);
    const timedOut = await ask(PEOPLE.engineer2, 'prod-db', 'read', HOUR);
    if (twoSteps.value?.kind !== 'pending' || denied.value?.kind !== 'pending' || cancelled.value?.kind !== 'pending' || timedOut.value?.kind !== 'pending') throw new Error('expected pending requests');
    if (second.value?.kind !== 'granted') throw new Error('expected a second grant');
    Object.assign(ids, { secondGrant: second.value.grant.id, denied: denied.value.request.id, cancelled: cancelled.value.request.id, twoSteps: twoSteps.value.request.id });
    await service.approve(twoSteps.value.request.id, PEOPLE.security);
    await service.approve(twoSteps.value.request.id, PEOPLE.lead1);
    await service.approve(twoSteps.value.request.id, PEOPLE.lead2);
    await service.deny(denied.value.request.id, PEOPLE.security, 'not now');
    await service.cancel(cancelled.value.request.id, PEOPLE.engineer);
    const glass = await ask(PEOPLE.oncall, 'prod-db', 'write', HOUR, { breakglass: true, channelId: 'C0INC42' });
    if (glass.value?.kind !== 'granted') throw new Error('expected a break-glass grant');
    await service.reviews.acknowledge(glass.value.grant.id, PEOPLE.security);
    provider.failGrants = 3;
    await ask(PEOPLE.oncall, 'sandbox', 'admin', HOUR);
    clock.advance(2 * HOUR);
    await service.timeOut(timedOut.value.request.id);
    await service.expire(ids.secondGrant);
    h.temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  });
  afterAll(() => h.cleanup());

  /** A copy of the database with `sql` run on it, as someone with write access to the file could. */
  const tampered = (name: string, sql: string): string => {
    const copy = join(h.temp.dir, name);
    copyFileSync(h.temp.path, copy);
    const db = new Database(copy);
    db.exec(sql);
    db.close();
    return copy;
  };

  it('proves every row of a history made by Sesame itself', async () => {
    const states = h.temp.db.$client.prepare('SELECT state, count(*) AS n FROM grants GROUP BY state ORDER BY state').all();
    expect(states).toEqual([
      { state: 'active', n: 2 },
      { state: 'expired', n: 1 },
      { state: 'failed', n: 1 },
      { state: 'revoked', n: 1 },
    ]);
    const out = await verify(h.temp.path);
    expect(out.stderr).toBe('');
    expect(out).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ entries; 10 requests and 5 grants match the log\n$/) });
  });

  it('names the grant whose expires_at was pushed back in the table, with both times', async () => {
    const row = h.temp.db.$client.prepare('SELECT expires_at FROM grants WHERE id = ?').get(ids.secondGrant) as { expires_at: number };
    const later = row.expires_at + 24 * HOUR;
    const out = await verify(tampered('expires.db', `UPDATE grants SET expires_at = ${later} WHERE id = ${ids.secondGrant}`));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`grant G${ids.secondGrant}: expires_at is ${new Date(later).toISOString()} in the table but ${new Date(row.expires_at).toISOString()} in the audit log`);
    expect(out.stderr).toContain('the database was changed outside Sesame');
  });

  it('names a grant whose state was edited back to active, and an extension whose end was moved', async () => {
    const out = await verify(tampered('state.db', `UPDATE grants SET state = 'active', ended_at = NULL WHERE id = ${extendedGrant}; UPDATE grants SET expires_at = expires_at + 1 WHERE id = ${extendedGrant}`));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`grant G${extendedGrant}: state is active in the table but revoked in the audit log`);
    expect(out.stderr).toContain(`grant G${extendedGrant}: ended_at is empty in the table but`);
    expect(out.stderr).toMatch(new RegExp(`grant G${extendedGrant}: expires_at is \\S+ in the table but \\S+ in the audit log`));
  });

  it('names a request moved past its approval step or re-pointed at another role, and one marked approved by hand', async () => {
    const { twoSteps, cancelled, denied } = ids;
    const out = await verify(
      tampered('request.db', `UPDATE requests SET current_step = 0 WHERE id = ${twoSteps}; UPDATE requests SET role = 'write' WHERE id = ${cancelled}; UPDATE requests SET state = 'approved', decided_by = 'U0MALLORY' WHERE id = ${denied}`),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`request R${twoSteps}: current_step is 0 in the table but 2 in the audit log`);
    expect(out.stderr).toContain(`request R${cancelled}: role is write in the table but read in the audit log`);
    expect(out.stderr).toContain(`request R${denied}: state is approved in the table but denied in the audit log`);
    expect(out.stderr).toContain(`request R${denied}: decided_by is U0MALLORY in the table but U0SEC1 in the audit log`);
  });

  it('names an active grant whose provider block was swapped, so its revoke would do nothing', async () => {
    const glass = h.temp.db.$client.prepare("SELECT id FROM grants WHERE breakglass = 1").get() as { id: number };
    const out = await verify(tampered('provider.db', `UPDATE grants SET provider = '{"type":"noop"}' WHERE id = ${glass.id}`));
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(new RegExp(`grant G${glass.id}: provider_sha256 is [0-9a-f]{64} in the table but [0-9a-f]{64} in the audit log`));
  });

  it('names a grant whose access key, account or provider state was edited, each of which steers its revoke', async () => {
    const glass = h.temp.db.$client.prepare("SELECT id FROM grants WHERE breakglass = 1").get() as { id: number };
    const out = await verify(tampered('steering.db', `UPDATE grants SET access_key = 'shared', identity = 'someone-else', provider_state = '{"standing":true}' WHERE id = ${glass.id}`));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`grant G${glass.id}: identity is someone-else in the table but empty in the audit log`);
    expect(out.stderr).toContain(`grant G${glass.id}: access_key is shared in the table but empty in the audit log`);
    expect(out.stderr).toMatch(new RegExp(`grant G${glass.id}: provider_state_sha256 is [0-9a-f]{64} in the table but [0-9a-f]{64} in the audit log`));
  });

  it('names an approval slipped into the table, which would have let one real click complete a step', async () => {
    const out = await verify(tampered('approval.db', `INSERT INTO approvals (request_id, step, approver, at) VALUES (${ids.twoSteps}, 1, 'U0MALLORY', 0)`));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`request R${ids.twoSteps}: an approval of step 1 by U0MALLORY is in the table but the audit log never recorded it`);
  });

  it('names a grant row slipped in without any audit entry, and a row deleted', async () => {
    const out = await verify(
      tampered(
        'rows.db',
        `INSERT INTO grants (request_id, user, resource, role, provider, reason, state, created_at, starts_at, expires_at) SELECT ${ids.cancelled}, 'U0MALLORY', 'prod-db', 'write', provider, 'x', 'active', created_at, starts_at, expires_at + ${100 * HOUR} FROM grants WHERE id = 1;
         DELETE FROM grants WHERE id = ${ids.secondGrant}`,
      ),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('grant G6: is in the table but the audit log never recorded it');
    expect(out.stderr).toContain(`grant G${ids.secondGrant}: is recorded in the audit log but missing from the table`);
  });
});

describe('replayAudit (pure)', () => {
  it('checks only what an entry recorded: an older entry without a detail leaves that column unchecked', () => {
    const replayed = replayAudit([{ at: '2026-11-23T09:00:00.000Z', actor: 'U1', action: 'request.created', request_id: 'R1', grant_id: null, details: { resource: 'sandbox' } }]);
    const row = { requester: 'U1', resource: 'sandbox', role: 'anything', state: 'pending', created_at: Date.UTC(2026, 10, 23, 9), timeout_at: 123, decided_at: null, decided_by: null, current_step: 0, escalated_step: null, extends_grant_id: null, auto_group: null };
    expect(compareRow('request', 1, row, replayed.requests.get(1))).toEqual([]);
    expect(compareRow('request', 1, { ...row, resource: 'prod-db' }, replayed.requests.get(1))).toEqual([{ row: 'request R1', problem: 'resource is prod-db in the table but sandbox in the audit log' }]);
  });

  it('notices an approval count that includes approvals the log never recorded', () => {
    const at = '2026-11-23T09:00:00.000Z';
    const replayed = replayAudit([
      { at, actor: 'U1', action: 'request.created', request_id: 'R1', grant_id: null, details: {} },
      { at, actor: 'U2', action: 'request.approval_recorded', request_id: 'R1', grant_id: null, details: { step: 0, have: 2, need: 2 } },
    ]);
    expect(replayed.problems).toEqual([{ row: 'request R1', problem: `step 0 counted 2 approvals at ${at} but the audit log records 1 (approvals were added outside Sesame)` }]);
  });

  it('ignores refusals, which change no row', () => {
    const replayed = replayAudit([{ at: '2026-11-23T09:00:00.000Z', actor: 'U2', action: 'grant.revoke_refused', request_id: 'R1', grant_id: 'G1', details: { code: 'not_grant_owner' } }]);
    expect(replayed.requests.size + replayed.grants.size).toBe(0);
  });
});
