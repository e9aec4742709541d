// Three real replicas on one PostgreSQL and one Redis: revoke-all on one replica while another grants the person's request and a third takes their Approve; break-glass sprayed over the hourly limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { APPROVE, AUTO, HIGH, INCIDENT_CHANNEL, ReplicaCluster } from '../support/replica-cluster.ts';
import type { SlackSigner } from '../support/signed-client.ts';

const LIVE = ['active', 'revoke_failed'];

describe('three replicas: revoke-all racing a grant and an approval; break-glass sprayed', () => {
  const cluster = new ReplicaCluster();
  let signers: SlackSigner[] = [];
  beforeAll(async () => {
    await cluster.start('blockrace');
    cluster.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    signers = cluster.replicas.map((r) => r.signer);
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  const signer = (i: number) => signers[i % 3] as SlackSigner;
  const ask = async (user: string, resource: string, tag: string, on: number): Promise<string> => {
    const asked = await signer(on).command(`request ${resource} use 1h ${tag}`, { user });
    const reply = await cluster.until(`the reply to ${tag}`, () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const ref = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    expect(ref, String(reply.text)).not.toBe('');
    return ref;
  };
  /** Grants live now that rest on `user`: theirs, or one whose request they approved. */
  const liveRestingOn = (user: string) =>
    cluster.rows<{ id: number; user: string; state: string }>(
      `SELECT g.id, g."user", g.state FROM grants g JOIN requests r ON r.id = g.request_id
        WHERE g.state = ANY($2) AND (g."user" = $1 OR EXISTS (SELECT 1 FROM approvals a WHERE a.request_id = r.id AND a.approver = $1))`,
      [user, LIVE],
    );

  for (const held of [false, true]) {
    it(`revoke-all @lead1 while lead1's request is granted and lead1 approves another (${held ? 'grant call held' : 'at once'}); unblock restores`, async () => {
      const own = await ask(PEOPLE.lead1, APPROVE, `lead1 own ${held}`, 0);
      const theirs = await ask(PEOPLE.engineer, APPROVE, `approved by lead1 ${held}`, 1);
      const grantHeld = held ? cluster.sink.holdNext('grant') : null;
      const [, , , blocked] = await Promise.all([
        signer(1).click(PEOPLE.lead2, 'approve_request', own),
        signer(2).click(PEOPLE.lead1, 'approve_request', theirs),
        grantHeld ? grantHeld.arrived.then(() => undefined) : Promise.resolve(),
        (async () => {
          if (grantHeld) await grantHeld.arrived;
          return signer(0).command(`revoke-all <@${PEOPLE.lead1}> stolen laptop`, { user: PEOPLE.security });
        })(),
      ]);
      const answer = await cluster.until('the revoke-all answer', () => cluster.slack.responsesTo(blocked.responseId)[0], 60_000);
      grantHeld?.release();
      // Whatever order the replicas took them in: nothing of lead1's is live and nothing rests on lead1's approval.
      await cluster.until('every grant to settle', async () => (await cluster.rows("SELECT id FROM grants WHERE state = 'pending'")).length === 0, 60_000);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await liveRestingOn(PEOPLE.lead1), `revoke-all said: ${String(answer.text)}`).toEqual([]);
      const grants = await cluster.rows<{ id: number; state: string }>("SELECT g.id, g.state FROM grants g JOIN requests r ON r.id = g.request_id WHERE r.id = ANY($1)", [[own, theirs].map((r) => Number(r.slice(1)))]);
      for (const g of grants) expect(cluster.sink.present.has(`G${g.id}`), `G${g.id} (${g.state}) still at the provider`).toBe(false);
      await cluster.expectSettled();

      // Unblocked on another replica: lead1 asks and is granted as before.
      const unblocked = await signer(2).command(`unblock <@${PEOPLE.lead1}>`, { user: PEOPLE.security });
      const said = await cluster.until('the unblock answer', () => cluster.slack.responsesTo(unblocked.responseId)[0], 20_000);
      expect(await cluster.rows('SELECT * FROM blocked_users'), String(said.text)).toEqual([]);
      const again = await ask(PEOPLE.lead1, APPROVE, `lead1 after unblock ${held}`, 1);
      await signer(0).click(PEOPLE.lead2, 'approve_request', again);
      const [grant] = await cluster.until('the grant after unblock', async () => {
        const rows = await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [Number(again.slice(1))]);
        return rows[0]?.state === 'active' ? rows : null;
      }, 30_000);
      const revoked = await signer(2).command(`revoke G${grant?.id}`, { user: PEOPLE.lead1 });
      await cluster.until('lead1 to revoke it', async () => (await cluster.rows("SELECT id FROM grants WHERE id = $1 AND state = 'revoked'", [grant?.id])).length === 1 && revoked, 30_000);
    }, 120_000);
  }

  it('break-glass sprayed over three replicas: only max_per_hour granted', async () => {
    const max = 3;
    const tries = 12;
    const resources = [AUTO, APPROVE, HIGH];
    const sent = await Promise.all(Array.from({ length: tries }, (_, n) =>
      signer(n).command(`breakglass ${resources[n % 3]} use 30m INC-${n} db down`, { user: PEOPLE.oncall, channel: INCIDENT_CHANNEL })));
    await cluster.until('every break-glass answered', () => sent.every((s) => cluster.slack.responsesTo(s.responseId).length > 0) || null, 60_000);
    await cluster.until('every grant to settle', async () => (await cluster.rows("SELECT id FROM grants WHERE state = 'pending'")).length === 0, 60_000);
    const requests = await cluster.rows<{ id: number }>('SELECT id FROM requests WHERE requester = $1 AND breakglass', [PEOPLE.oncall]);
    const grants = await cluster.rows<{ id: number }>('SELECT g.id FROM grants g JOIN requests r ON r.id = g.request_id WHERE r.requester = $1', [PEOPLE.oncall]);
    // Exactly the limit: fewer would mean the spray never reached Sesame (or a refusal for some other reason).
    expect(requests.length).toBe(max);
    expect(grants.length, cluster.output().slice(-4_000)).toBe(max);
    expect(cluster.sink.received.filter((r) => r.event === 'grant' && grants.every((g) => r.payload?.grant_id !== `G${g.id}`) && r.payload?.user.slack_id === PEOPLE.oncall)).toEqual([]);
    await cluster.expectSettled();
  }, 120_000);
});
