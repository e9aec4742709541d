// Three real replicas on one PostgreSQL and one Redis: the sweeper-lease holder frozen (SIGSTOP) while grants fall due, and Redis restarted or flushed while grants are live — every grant still ends, once.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { AUTO, ReplicaCluster } from '../support/replica-cluster.ts';
import type { SlackSigner } from '../support/signed-client.ts';

/** Generous: a lease runs out in 15 s, a frozen worker's job is handed on when its lock lapses, the sweep runs every second. */
const LATE_BOUND_MS = 75_000;

describe('three replicas: a frozen sweeper and a lost Redis', () => {
  const cluster = new ReplicaCluster();
  const frozen = new Set<number>();
  beforeAll(async () => {
    await cluster.start('sweeper');
  }, 90_000);
  afterAll(async () => {
    for (const i of frozen) cluster.signal(i, 'SIGCONT');
    await cluster.stopAll();
  }, 30_000);

  const signer = (i: number) => cluster.replicas[i]?.signer as SlackSigner;
  /** `count` 30-second grants, asked on replicas other than `avoid` (which may be frozen later) and live. */
  const shortGrants = async (tag: string, count: number, avoid = -1): Promise<{ id: number; expiresAt: number }[]> => {
    const on = [0, 1, 2].filter((i) => i !== avoid);
    const asked = await Promise.all(Array.from({ length: count }, (_, n) =>
      signer(on[n % on.length] ?? 0).command(`request ${AUTO} use 30s ${tag} ${n}`, { user: n % 2 === 0 ? PEOPLE.engineer : PEOPLE.engineer2 })));
    const replies = await cluster.until(`${tag} replies`, () => {
      const first = asked.map((a) => cluster.slack.responsesTo(a.responseId)[0]);
      return first.every((reply) => reply !== undefined) ? first : null;
    }, 30_000);
    // A refusal (Redis still coming back) fails the attempt at once rather than after waiting for grants that never come.
    const refused = replies.find((reply) => !/^✅ Granted/.test(String(reply?.text)));
    if (refused) throw new Error(`${tag}: ${String(refused.text)}`);
    return cluster.until(`${tag} grants live`, async () => {
      const rows = await cluster.rows<{ id: number; state: string; expires_at: string }>("SELECT id, state, expires_at::text FROM grants WHERE reason LIKE $1", [`${tag} %`]);
      return rows.length === count && rows.every((r) => r.state === 'active') ? rows.map((r) => ({ id: r.id, expiresAt: Number(r.expires_at) })) : null;
    }, 30_000);
  };
  const untilEnded = async (grants: { id: number; expiresAt: number }[]) => {
    const last = Math.max(...grants.map((g) => g.expiresAt));
    await cluster.until('every grant to end', async () => (await cluster.rows("SELECT id FROM grants WHERE id = ANY($1) AND state NOT IN ('expired', 'revoked')", [grants.map((g) => g.id)])).length === 0, last - Date.now() + LATE_BOUND_MS);
  };
  /** Each grant ended once in the audit, and is gone at the provider. */
  const expectEndedOnce = async (grants: { id: number }[]) => {
    for (const g of grants) {
      const ends = await cluster.rows('SELECT action FROM audit_log WHERE grant_id = $1 AND action IN ($2, $3)', [`G${g.id}`, 'grant.expired', 'grant.revoked']);
      expect(ends, `G${g.id}`).toEqual([{ action: 'grant.expired' }]);
      expect(cluster.sink.present.has(`G${g.id}`), `G${g.id} still at the provider`).toBe(false);
      expect(cluster.callsFor('grant', g.id)).toBe(1);
    }
  };

  it('the sweeper-lease holder frozen while grants fall due: another replica takes over; on SIGCONT nothing happens twice', async () => {
    const holder = await cluster.until('a sweeper-lease holder', async () => {
      const i = await cluster.sweeperHolder();
      return i >= 0 ? i + 1 : null;
    }, 30_000) - 1;
    const grants = await shortGrants('frozen sweeper', 4, holder);
    cluster.signal(holder, 'SIGSTOP');
    frozen.add(holder);
    await untilEnded(grants);
    const taker = await cluster.until('another holder', async () => {
      const i = await cluster.sweeperHolder();
      return i >= 0 && i !== holder ? i + 1 : null;
    }, 30_000) - 1;
    expect(taker).not.toBe(holder);
    cluster.signal(holder, 'SIGCONT');
    frozen.delete(holder);
    // Long enough for the thawed replica to finish whatever it was doing when it stopped.
    await new Promise((r) => setTimeout(r, 5_000));
    await expectEndedOnce(grants);
    await cluster.expectSettled();
  }, 150_000);

  it('the replica making a revoke frozen mid-call: the grant still ends, once, and nothing happens twice on SIGCONT', async () => {
    const grants = await shortGrants('frozen revoker', 1);
    const held = cluster.sink.holdNext('revoke');
    const call = await held.arrived;
    const revoker = cluster.replicaCalling(call.callerPort);
    cluster.signal(revoker, 'SIGSTOP');
    frozen.add(revoker);
    held.release();
    await untilEnded(grants);
    cluster.signal(revoker, 'SIGCONT');
    frozen.delete(revoker);
    await new Promise((r) => setTimeout(r, 5_000));
    await expectEndedOnce(grants);
    expect(await cluster.rows('SELECT state FROM grants WHERE id = $1', [grants[0]?.id])).toEqual([{ state: 'expired' }]);
    await cluster.expectSettled();
  }, 150_000);

  it('Redis restarted empty, then flushed, while grants are live on three replicas: every grant still ends', async () => {
    const first = await shortGrants('redis restarted', 3);
    await cluster.ownRedis.stop();
    await cluster.ownRedis.start();
    // Each attempt its own tag: what an attempt that was partly refused granted is not counted for the next.
    let attempt = 0;
    await cluster.until('requests answered again after the restart', async () => shortGrants(`after restart ${++attempt}`, 3).catch(() => null), 60_000);
    const flush = new Redis(cluster.ownRedis.url);
    await flush.flushall();
    flush.disconnect();
    // Every grant made, the partly refused attempts' included, ends once.
    const all = (await cluster.rows<{ id: number; expires_at: string }>("SELECT id, expires_at::text FROM grants WHERE state <> 'failed' AND (reason LIKE 'redis restarted %' OR reason LIKE 'after restart %')")).map((g) => ({ id: g.id, expiresAt: Number(g.expires_at) }));
    expect(all.length).toBeGreaterThanOrEqual(first.length + 3);
    await untilEnded(all);
    await expectEndedOnce(all);
    await cluster.expectSettled();
  }, 180_000);
});
