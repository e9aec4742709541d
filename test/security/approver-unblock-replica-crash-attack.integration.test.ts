// Three real replicas on one PostgreSQL and one Redis. An accomplice's request is approved by a stolen lead account
// (lead1); its grant is at the (webhook) provider when an admin runs revoke-all on lead1 on replica r0. r0 dies
// mid-revoke-all (SIGKILL: a node lost, an OOM kill, a deploy gone wrong), so its wait for the pending grant never
// finishes; an admin then unblocks lead1 on r1 (the owner has the account back) before the provider answers.
// Activation asks only whether an approver is blocked *now* (for the holder it asks whether a `user.blocked` came after
// the grant was recorded as pending), and no sweep ends grants of an unblocked approver: the grant that rests on the
// stolen approval goes live. Held would be: it is taken back (grant.failed, naming revoke-all), as for the holder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { APPROVE, ReplicaCluster } from '../support/replica-cluster.ts';
import { sesame as runCli } from '../support/run-cli.ts';

describe('three replicas: the revoke-all replica dies, the approver is unblocked, the slow grant it approved lands', () => {
  const cluster = new ReplicaCluster();
  beforeAll(async () => {
    await cluster.start('advunblock');
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  it('does not let the grant resting on the stolen approval go live', async () => {
    const [r0, r1, r2] = cluster.replicas;
    const asked = await r1!.signer.command(`request ${APPROVE} use 1h INC-91 accomplice`, { user: PEOPLE.engineer });
    const reply = await cluster.until('the request reply', () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const ref = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    expect(ref, String(reply.text)).not.toBe('');

    const held = cluster.sink.holdNext('grant');
    await r2!.signer.click(PEOPLE.lead1, 'approve_request', ref); // the stolen lead account
    const call = await held.arrived;
    void call;
    const revoking = r0!.signer.command(`revoke-all <@${PEOPLE.lead1}> laptop stolen SEC-91`, { user: PEOPLE.security });
    await cluster.until('the block', async () => (await cluster.rows('SELECT "user" FROM blocked_users')).length === 1, 10_000);
    expect(await cluster.stop(0, 'SIGKILL')).toBe(null);
    await revoking.catch(() => undefined);

    const unblock = await r1!.signer.command(`unblock <@${PEOPLE.lead1}>`, { user: PEOPLE.security });
    await cluster.until('the unblock answer', () => cluster.slack.responsesTo(unblock.responseId)[0], 10_000);
    expect(await cluster.rows('SELECT * FROM blocked_users')).toEqual([]);
    held.release();

    await cluster.until('the grant to settle', async () => {
      const rows = await cluster.rows<{ state: string }>('SELECT state FROM grants WHERE request_id = $1', [Number(ref.slice(1))]);
      return rows.length > 0 && rows.every((g) => g.state !== 'pending') ? rows : null;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 3_000)); // a few sweeps (RECONCILE_INTERVAL 1s)
    const grants = await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [Number(ref.slice(1))]);
    const atProvider = grants.filter((g) => cluster.sink.present.has(`G${g.id}`)).map((g) => `G${g.id}`);
    expect({ grants, atProvider }).toEqual({ grants: [expect.objectContaining({ state: 'failed' })], atProvider: [] });
  }, 120_000);
  // The same crash and unblock with revoke-all on the holder: Sesame holds (activation sees a block after pending).
  it('held for comparison: revoke-all on the holder, its replica killed, the holder unblocked: the grant is taken back', async () => {
    await cluster.restart(0);
    const [r0, r1, r2] = cluster.replicas;
    const asked = await r1!.signer.command(`request ${APPROVE} use 1h INC-92 holder`, { user: PEOPLE.engineer2 });
    const reply = await cluster.until('the request reply', () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const ref = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    expect(ref, String(reply.text)).not.toBe('');
    const held = cluster.sink.holdNext('grant');
    await r2!.signer.click(PEOPLE.lead2, 'approve_request', ref);
    await held.arrived;
    const revoking = r0!.signer.command(`revoke-all <@${PEOPLE.engineer2}> laptop stolen SEC-92`, { user: PEOPLE.security });
    await cluster.until('the block', async () => (await cluster.rows('SELECT "user" FROM blocked_users')).length === 1, 10_000);
    expect(await cluster.stop(0, 'SIGKILL')).toBe(null);
    await revoking.catch(() => undefined);
    const unblock = await r1!.signer.command(`unblock <@${PEOPLE.engineer2}>`, { user: PEOPLE.security });
    await cluster.until('the unblock answer', () => cluster.slack.responsesTo(unblock.responseId)[0], 10_000);
    held.release();
    await cluster.until('the grant to settle', async () => {
      const rows = await cluster.rows<{ state: string }>('SELECT state FROM grants WHERE request_id = $1', [Number(ref.slice(1))]);
      return rows.length > 0 && rows.every((g) => g.state !== 'pending') ? rows : null;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 3_000));
    const grants = await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [Number(ref.slice(1))]);
    expect({ grants, atProvider: grants.filter((g) => cluster.sink.present.has(`G${g.id}`)).length }).toEqual({ grants: [expect.objectContaining({ state: 'failed' })], atProvider: 0 });
  }, 120_000);

  it('the audit chain and tables still verify with the bundled CLI (`sesame audit verify` on PostgreSQL)', async () => {
    await cluster.expectSettled();
    const url = (cluster as unknown as { database: { url: string } }).database.url;
    const out = await runCli(['audit', 'verify'], { DATABASE_URL: url });
    expect({ code: out.code, out: out.stdout + out.stderr }).toMatchObject({ code: 0 });
  }, 60_000);
});
