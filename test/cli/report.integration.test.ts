// `sesame report` over a database made by driving the real access service: auto, approved, denied, break-glass and
// refused requests, grants ended on time and late; every figure checked exactly, and the database left untouched.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import type { Config } from '../../src/config.ts';
import { report } from '../../src/cli/report-command.ts';
import type { Report } from '../../src/report/figures.ts';
import { PEOPLE, sqliteAccessHarness, type SqliteHarness } from '../support/access-harness.ts';
import { captureIo } from '../support/capture-io.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('sesame report', () => {
  let h: SqliteHarness;
  let t0: number;
  const at = (ms: number) => new Date(t0 + ms);
  const to = (ms: number) => h.clock.advance(t0 + ms - h.clock.now().getTime());
  const grantOf = (out: Awaited<ReturnType<SqliteHarness['service']['request']>>) => {
    if (!out.ok || out.value.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(out)}`);
    return out.value.grant.id;
  };
  const run = async (args: string[]) => {
    const cli = captureIo();
    const code = await report(args, { io: cli.io, config: { databasePath: h.temp.path } as Config }, at(3 * HOUR));
    return { code, out: cli.stdout(), err: cli.stderr() };
  };
  const window = ['--since', '', '--until', ''];

  beforeAll(async () => {
    h = await sqliteAccessHarness();
    t0 = h.clock.now().getTime(); // Monday 10:00 in Berlin
    window[1] = at(-MINUTE).toISOString();
    window[3] = at(2 * HOUR).toISOString();
    const s = h.service;
    // R1 → G1, low tier, automatic; expires at 1h and is revoked 5 s late.
    const g1 = grantOf(await s.request({ requester: PEOPLE.engineer, resource: 'staging-db', role: 'read', duration: HOUR, reason: 'checking data' }));
    // R2 → G2, medium tier, needs an sre-lead (engineer2 is not on call): approved after 10 minutes; expires 1 s late.
    to(MINUTE);
    const r2 = await s.request({ requester: PEOPLE.engineer2, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'INC-42 look' });
    if (!r2.ok || r2.value.kind !== 'pending') throw new Error('R2 should wait for approval');
    to(11 * MINUTE);
    const approved = await s.approve(r2.value.request.id, PEOPLE.lead1);
    if (!approved.ok || approved.value.kind !== 'approved' || approved.value.fulfilled.kind !== 'granted') throw new Error('R2 should be granted');
    const g2 = approved.value.fulfilled.grant.id;
    // R3, high tier, denied by security.
    to(12 * MINUTE);
    const r3 = await s.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'schema change' });
    if (!r3.ok || r3.value.kind !== 'pending') throw new Error('R3 should wait for approval');
    to(13 * MINUTE);
    await s.deny(r3.value.request.id, PEOPLE.security, 'not today');
    // R4 → G3, break-glass (tier high), acknowledged by security, revoked by its holder.
    to(14 * MINUTE);
    const g3 = grantOf(await s.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-42 primary down', breakglass: true, channelId: 'C0INC42' }));
    // Two refusals: not eligible for prod-db; longer than tier low allows.
    to(15 * MINUTE);
    await s.request({ requester: PEOPLE.outsider, resource: 'prod-db', role: 'read', duration: HOUR, reason: 'curious' });
    await s.request({ requester: PEOPLE.engineer, resource: 'staging-db', role: 'read', duration: 10 * HOUR, reason: 'all day' });
    to(16 * MINUTE);
    expect((await s.reviews.acknowledge(g3, PEOPLE.security)).ok).toBe(true);
    // R5 → G4, low tier, automatic, with no reason (so its audit record is incomplete); expires exactly on time.
    to(17 * MINUTE);
    const g4 = grantOf(await s.request({ requester: PEOPLE.engineer2, resource: 'sandbox', duration: 30 * MINUTE, reason: '' }));
    to(20 * MINUTE);
    expect((await s.revoke(g3, PEOPLE.oncall)).ok).toBe(true);
    to(47 * MINUTE);
    expect((await s.expire(g4)).kind).toBe('ended');
    to(HOUR + 5_000);
    expect((await s.expire(g1)).kind).toBe('ended');
    to(71 * MINUTE + 1_000);
    expect((await s.expire(g2)).kind).toBe('ended');
    // Outside the window: a request made after --until.
    to(2 * HOUR + MINUTE);
    await s.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'later' });
  });
  afterAll(() => h.cleanup());

  it('computes every figure overall, per tier and per resource', async () => {
    const { code, out, err } = await run([...window, '--format', 'json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(out) as Report;
    expect(r.since).toBe(window[1]);
    expect(r.overall).toEqual({
      requests: 5,
      timeToGrant: { count: 4, meanMs: 150_000, p95Ms: 600_000 },
      lateness: { count: 3, meanMs: 2_000, p95Ms: 5_000 },
      withoutHuman: 0.6,
      auditComplete: 0.75,
      endedGrants: 4,
      refusals: { duration_too_long: 1, not_eligible: 1 },
      breakglass: { uses: 1, reviewed: 1, awaitingReview: 0 },
    });
    expect(Object.keys(r.tiers)).toEqual(['high', 'low', 'medium']);
    expect(r.tiers.low).toMatchObject({ requests: 2, lateness: { count: 2, meanMs: 2_500, p95Ms: 5_000 }, withoutHuman: 1, auditComplete: 0.5, refusals: { duration_too_long: 1 } });
    expect(r.tiers.medium).toMatchObject({ requests: 1, timeToGrant: { count: 1, meanMs: 600_000, p95Ms: 600_000 }, withoutHuman: 0, auditComplete: 1 });
    expect(r.tiers.high).toMatchObject({ requests: 2, timeToGrant: { count: 1, meanMs: 0, p95Ms: 0 }, lateness: { count: 0, meanMs: null, p95Ms: null }, withoutHuman: 0.5, breakglass: { uses: 1, reviewed: 1, awaitingReview: 0 } });
    expect(Object.keys(r.resources)).toEqual(['prod-db', 'sandbox', 'staging-db']);
    expect(r.resources['prod-db']).toMatchObject({ requests: 3, endedGrants: 2, refusals: { not_eligible: 1 } });
    expect(r.resources.sandbox).toMatchObject({ requests: 1, auditComplete: 0, lateness: { count: 1, meanMs: 0, p95Ms: 0 } });
    expect(r.resources['staging-db']).toMatchObject({ requests: 1, lateness: { count: 1, meanMs: 5_000, p95Ms: 5_000 }, refusals: { duration_too_long: 1 } });
  });

  it('prints the same figures as a table and as Markdown', async () => {
    const table = await run(window);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^overall\s+5\s+2m30s\s+10m\s+2s\s+5s\s+60\.0%\s+75\.0%\s+2\s+1 \(1\)$/m);
    expect(table.out).toMatch(/^tier medium\s+1\s+10m\s+10m\s+1s\s+1s\s+0\.0%\s+100\.0%\s+0\s+0 \(0\)$/m);
    expect(table.out).toContain('  duration_too_long: 1\n  not_eligible: 1\n');
    expect(table.out).toContain('break-glass: 1 used, 1 reviewed, 0 awaiting review');
    const md = await run([...window, '--format', 'markdown']);
    expect(md.out).toContain('| overall | 5 | 2m30s | 10m | 2s | 5s | 60.0% | 75.0% | 2 | 1 (1) |');
    expect(md.out).toContain('- not_eligible: 1');
  });

  it('takes --since as a duration back from now, and counts nothing outside the period', async () => {
    const recent = JSON.parse((await run(['--since', '1h', '--format', 'json'])).out) as Report;
    expect(recent.since).toBe(at(2 * HOUR).toISOString());
    expect(recent.overall.requests).toBe(1); // only the request made after the window above
    expect(recent.overall.refusals).toEqual({});
  });

  it('never writes to the database', async () => {
    const digest = () => createHash('sha256').update(readFileSync(h.temp.path)).digest('hex');
    h.temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    const before = digest();
    await run([...window, '--format', 'json']);
    expect(digest()).toBe(before);
  });

  it('refuses a bad command line with a sentence (the dispatcher adds the usage and exits 2)', async () => {
    await expect(run(['--format', 'csv'])).rejects.toThrow(new UsageError('--format must be table, json or markdown, not "csv".'));
    await expect(run(['--since', 'yesterday'])).rejects.toThrow('--since "yesterday" is neither a duration like 30d nor a date like 2026-11-01T09:00:00Z.');
    await expect(run(['--since', '1h', '--until', '2h'])).rejects.toThrow(/^--since \(.*\) must be before --until \(.*\)\.$/);
    await expect(run(['--colour'])).rejects.toThrow("Unknown option '--colour'");
  });
});
