// Three real replicas on one PostgreSQL and one Redis: a replica SIGKILLed mid-grant and one mid-revoke; every grant still ends, none is granted twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_GRANT_AGE_MS } from '../../src/scheduler/reconciler.ts';
import { PEOPLE } from '../support/e2e.ts';
import { AUTO, ReplicaCluster } from '../support/replica-cluster.ts';

interface GrantRow {
  id: number;
  state: string;
  request_id: number;
  created_at: string;
  expires_at: string | null;
}

describe('three replicas: SIGKILL during a grant and during a revoke', () => {
  const cluster = new ReplicaCluster();
  beforeAll(async () => {
    await cluster.start('sigkill');
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  const grantOf = async (reason: string) => (await cluster.rows<GrantRow>('SELECT id, state, request_id, created_at::text, expires_at::text FROM grants WHERE reason = $1', [reason]))[0];
  const auditCount = async (action: string, grantId: number) => (await cluster.rows("SELECT id FROM audit_log WHERE action = $1 AND grant_id = $2", [action, `G${grantId}`])).length;

  it('settles the interrupted grant once and ends the interrupted revoke once', async () => {
    // A: the provider's grant call is held; the replica making it dies with the call unanswered.
    const grantHeld = cluster.sink.holdNext('grant');
    await cluster.replicas[1]?.signer.command(`request ${AUTO} use 1h killed while granting`, { user: PEOPLE.engineer });
    const call = await cluster.until('the grant call to reach the sink', () => Promise.race([grantHeld.arrived, new Promise<null>((r) => setTimeout(() => r(null), 100))]), 30_000);
    const granting = cluster.replicaCalling(call.callerPort);
    await cluster.stop(granting, 'SIGKILL');
    grantHeld.release();
    const interrupted = await grantOf('killed while granting');
    expect(interrupted?.state).toBe('pending');
    await cluster.restart(granting);

    // B, while A waits to count as interrupted: a short grant whose revoke call is held, and whose revoking replica dies.
    const short = await cluster.replicas[2]?.signer.command(`request ${AUTO} use 30s killed while revoking`, { user: PEOPLE.engineer2 });
    await cluster.until('the short grant reply', () => cluster.slack.responsesTo(short?.responseId ?? '')[0], 30_000);
    const live = await cluster.until('the short grant to go live', async () => ((await grantOf('killed while revoking'))?.state === 'active' ? grantOf('killed while revoking') : null), 30_000);
    const revokeHeld = cluster.sink.holdNext('revoke');
    const revoking = await revokeHeld.arrived;
    expect(revoking.grantId).toBe(`G${live?.id}`);
    const revoker = cluster.replicaCalling(revoking.callerPort);
    await cluster.stop(revoker, 'SIGKILL');
    revokeHeld.release();
    await cluster.restart(revoker);
    const expiresAt = Number(live?.expires_at);
    // Generous: BullMQ hands a dead worker's job on after its lock lapses (seconds), the sweeper revokes what is due.
    await cluster.until('the short grant to end', async () => (await grantOf('killed while revoking'))?.state === 'expired', Math.max(0, expiresAt - Date.now()) + 60_000);
    expect(await auditCount('grant.expired', live?.id ?? 0)).toBe(1);
    expect(await auditCount('grant.revoked', live?.id ?? 0)).toBe(0);
    expect(cluster.callsFor('grant', live?.id ?? 0)).toBe(1);
    expect(cluster.callsFor('revoke', live?.id ?? 0)).toBeGreaterThanOrEqual(2); // the interrupted one, then the one that finished
    expect(cluster.sink.present.has(`G${live?.id}`)).toBe(false);

    // A again: the sweep (on whichever replica holds its lease) undoes the grant the dead replica left pending.
    const createdAt = Number(interrupted?.created_at);
    await cluster.until('the interrupted grant to be settled', async () => (await grantOf('killed while granting'))?.state !== 'pending', createdAt + INTERRUPTED_GRANT_AGE_MS + 60_000 - Date.now());
    const settled = await grantOf('killed while granting');
    expect(settled?.state).toBe('failed');
    expect(await cluster.rows('SELECT state FROM requests WHERE id = $1', [settled?.request_id])).toEqual([{ state: 'failed' }]);
    expect(cluster.callsFor('grant', settled?.id ?? 0)).toBe(1);
    expect(cluster.callsFor('revoke', settled?.id ?? 0)).toBeGreaterThanOrEqual(1);
    expect(cluster.sink.present.has(`G${settled?.id}`)).toBe(false);
    expect(await auditCount('grant.activated', settled?.id ?? 0)).toBe(0);
    expect(await auditCount('grant.failed', settled?.id ?? 0)).toBe(1);

    await cluster.expectSettled();
  }, 240_000);
});
