// Second adversarial pass (attack2), three real replicas on one PostgreSQL and one Redis. An accomplice's request for
// hook-high (security, then two sre-leads) has security's approval and one sre-lead approval from the stolen lead1
// account. An admin runs revoke-all on lead1 on r0; r0 dies after the block and before its cancel of the pending
// request (held deterministically here: the test holds the request's row lock, so the cancel waits, and r0 is killed
// meanwhile). Sweeps run on the survivors during the block: they end only live grants. The owner recovers the account
// and an admin unblocks lead1. The honest lead2 then gives the last approval: approve() asks only whether an earlier
// approver is blocked *now*, so the request is granted on the stolen account's approval.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { HIGH, ReplicaCluster } from '../support/replica-cluster.ts';

describe('three replicas: revoke-all cut short between its block and its cancels, then an unblock', () => {
  const cluster = new ReplicaCluster();
  beforeAll(async () => {
    await cluster.start('adv2cut');
  }, 120_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  it('the honest last approval does not grant a request resting on the stolen (since unblocked) account', async () => {
    const [r0, r1, r2] = cluster.replicas;
    const asked = await r1!.signer.command(`request ${HIGH} use 1h INC-61 accomplice`, { user: PEOPLE.engineer });
    const reply = await cluster.until('the request reply', () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const ref = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    expect(ref, String(reply.text)).not.toBe('');
    const id = Number(ref.slice(1));
    const approvals = async () => (await cluster.rows<{ approver: string }>('SELECT approver FROM approvals WHERE request_id = $1', [id])).map((a) => a.approver).sort();
    await r2!.signer.click(PEOPLE.security, 'approve_request', ref);
    await cluster.until('security\'s approval', async () => (await approvals()).length === 1, 10_000);
    await r2!.signer.click(PEOPLE.lead1, 'approve_request', ref); // the stolen account
    await cluster.until('lead1\'s approval', async () => (await approvals()).length === 2, 10_000);

    const url = (cluster as unknown as { database: { url: string } }).database.url;
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM requests WHERE id = $1 FOR UPDATE', [id]);
      const revoking = r0!.signer.command(`revoke-all <@${PEOPLE.lead1}> laptop stolen SEC-61`, { user: PEOPLE.security });
      await cluster.until('the block', async () => (await cluster.rows('SELECT "user" FROM blocked_users')).length === 1, 10_000);
      await new Promise((r) => setTimeout(r, 1_000)); // its cancel now waits for the row
      expect(await cluster.stop(0, 'SIGKILL')).toBe(null);
      await revoking.catch(() => undefined);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    expect((await cluster.rows<{ state: string }>('SELECT state FROM requests WHERE id = $1', [id]))[0]?.state).toBe('pending');
    await new Promise((r) => setTimeout(r, 3_000)); // a few sweeps on the survivors during the block

    const unblock = await r1!.signer.command(`unblock <@${PEOPLE.lead1}>`, { user: PEOPLE.security });
    await cluster.until('the unblock answer', () => cluster.slack.responsesTo(unblock.responseId)[0], 10_000);
    expect(await cluster.rows('SELECT * FROM blocked_users')).toEqual([]);

    await r2!.signer.click(PEOPLE.lead2, 'approve_request', ref); // honest
    // Refused: the request rests on an approval by an account blocked since it approved (an unblock does not restore it).
    await cluster.until('the honest click refused', async () => {
      const rows = await cluster.rows<{ details: string }>("SELECT details FROM audit_log WHERE action = 'approval.refused' AND actor = $1 AND request_id = $2", [PEOPLE.lead2, ref]);
      return rows.find((r) => r.details.includes('approval_by_blocked')) ?? null;
    }, 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    const request = (await cluster.rows<{ state: string }>('SELECT state FROM requests WHERE id = $1', [id]))[0];
    const grants = await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [id]);
    const atProvider = grants.filter((g) => cluster.sink.present.has(`G${g.id}`)).map((g) => `G${g.id}`);
    // Held would be: not granted (the step-2 approval by the since-blocked account carries nothing).
    expect({ request: request?.state, grants: grants.map((g) => g.state), atProvider }).toEqual({ request: expect.not.stringMatching(/^approved$/), grants: [], atProvider: [] });
  }, 180_000);
});
