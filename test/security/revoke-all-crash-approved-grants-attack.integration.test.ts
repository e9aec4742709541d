// Three real replicas on one PostgreSQL and one Redis. The stolen lead account (lead1) holds a grant of its own and
// has approved an accomplice's grant. An admin runs revoke-all on lead1 on replica r0; r0 dies (SIGKILL) while revoking
// lead1's own grant (its provider is slow), before it reaches the accomplice's. lead1 stays blocked. The sweep ends
// the live grants of blocked *holders* (liveGrantIdsOfBlocked) after a crash like this, but not the live grants that
// rest on a blocked *approver*: the accomplice keeps the access until it expires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { APPROVE, AUTO, ReplicaCluster } from '../support/replica-cluster.ts';

describe('three replicas: revoke-all dies half-way; the sweep finishes it', () => {
  const cluster = new ReplicaCluster();
  beforeAll(async () => {
    await cluster.start('advcrash');
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  const ask = async (i: number, user: string, resource: string, tag: string) => {
    const asked = await cluster.replicas[i]!.signer.command(`request ${resource} use 1h ${tag}`, { user });
    const reply = await cluster.until(`the reply to ${tag}`, () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const ref = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    if (ref !== '') return Number(ref.slice(1));
    const grant = /`G(\d+)`/.exec(String(reply.text))?.[1];
    expect(grant, String(reply.text)).toBeDefined();
    return (await cluster.rows<{ request_id: number }>('SELECT request_id FROM grants WHERE id = $1', [Number(grant)]))[0]!.request_id;
  };
  const grantOf = async (requestId: number) => (await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [requestId]))[0];
  const active = (requestId: number) => cluster.until(`the grant of R${requestId}`, async () => ((await grantOf(requestId))?.state === 'active' ? grantOf(requestId) : null), 20_000);

  const cases = [
    { signal: 'SIGKILL', lead: PEOPLE.lead1, accomplice: PEOPLE.engineer, tag: 'INC-95' },
    // A rolling deploy: SIGTERM waits 5 s for running listeners, revoke-all is stuck on a slow provider for longer.
    { signal: 'SIGTERM', lead: PEOPLE.lead2, accomplice: PEOPLE.engineer2, tag: 'INC-96' },
  ] as const;
  for (const c of cases) {
    let own = 0;
    let theirs = 0;
    it(`${c.signal}: revoke-all is stopped on its first revoke; the sweep ends the lead's own grant (held)`, async () => {
      if (cluster.replicas[0]!.process.child.exitCode !== null || cluster.replicas[0]!.process.child.signalCode !== null) await cluster.restart(0);
      own = await ask(1, c.lead, AUTO, `${c.tag} lead own`);
      await active(own);
      theirs = await ask(2, c.accomplice, APPROVE, `${c.tag} accomplice`);
      await cluster.replicas[1]!.signer.click(c.lead, 'approve_request', `R${theirs}`);
      await active(theirs);

      const held = cluster.sink.holdNext('revoke');
      void cluster.replicas[0]!.signer.command(`revoke-all <@${c.lead}> laptop stolen ${c.tag}`, { user: PEOPLE.security }).catch(() => undefined);
      const call = await held.arrived;
      expect(cluster.replicaCalling(call.callerPort)).toBe(0);
      await cluster.stop(0, c.signal);
      held.release();
      expect((await cluster.rows<{ user: string }>('SELECT "user" FROM blocked_users')).map((r) => r.user)).toContain(c.lead);

      await cluster.until('the sweep to end the lead\'s own grant', async () => (await grantOf(own))?.state === 'revoked', 30_000);
    }, 120_000);

    it(`${c.signal}: HOLE: the sweep also ends the accomplice grant resting on the blocked approver`, async () => {
      await new Promise((r) => setTimeout(r, 5_000)); // five more sweeps (RECONCILE_INTERVAL 1s)
      const g = await grantOf(theirs);
      expect({ state: g?.state, atProvider: cluster.sink.present.has(`G${g?.id}`) }).toEqual({ state: 'revoked', atProvider: false });
    }, 30_000);
  }
});
