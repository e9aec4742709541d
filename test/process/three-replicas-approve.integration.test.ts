// Three real replicas on one PostgreSQL and one Redis: one Approve clicked on all three at once (and twice more on one) grants once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { APPROVE, ReplicaCluster } from '../support/replica-cluster.ts';

describe('three replicas: concurrent Approve clicks', () => {
  const cluster = new ReplicaCluster();
  beforeAll(async () => {
    await cluster.start('approve');
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  it('makes exactly one grant however many replicas take the click', async () => {
    const [r0, r1, r2] = cluster.replicas.map((r) => r.signer);
    if (!r0 || !r1 || !r2) throw new Error('three replicas expected');
    const asked = await r0.command(`request ${APPROVE} use 1h concurrent approve`, { user: PEOPLE.engineer });
    const reply = await cluster.until('the pending reply', () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const id = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    expect(reply.text).toContain('waiting for `sre-leads`');
    const requestId = Number(id.slice(1));

    // The same instant on all three, and twice more on the first: both sre-leads, as two people clicking together.
    const clicks = await Promise.all([
      r0.click(PEOPLE.lead1, 'approve_request', id),
      r1.click(PEOPLE.lead2, 'approve_request', id),
      r2.click(PEOPLE.lead1, 'approve_request', id),
      r0.click(PEOPLE.lead2, 'approve_request', id),
      r0.click(PEOPLE.lead1, 'approve_request', id),
    ]);
    expect(clicks.map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);

    const [grant] = await cluster.until('the grant to go live', async () => {
      const rows = await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [requestId]);
      return rows[0]?.state === 'active' ? rows : null;
    }, 30_000);
    // Long enough for a second grant from a slower replica to show up, were there one.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await cluster.rows('SELECT id FROM grants WHERE request_id = $1', [requestId])).toHaveLength(1);
    expect(cluster.callsFor('grant', grant?.id ?? 0)).toBe(1);
    expect(cluster.sink.received.filter((r) => r.event === 'grant')).toHaveLength(1);
    expect(await cluster.rows("SELECT id FROM audit_log WHERE action = 'grant.activated' AND request_id = $1", [id])).toHaveLength(1);
    expect(await cluster.rows("SELECT approver FROM approvals WHERE request_id = $1", [requestId])).toHaveLength(1);
    expect(await cluster.rows('SELECT state FROM requests WHERE id = $1', [requestId])).toEqual([{ state: 'approved' }]);
    // The one click that counted is the requester's to hear of, once; each of the other four is told it changed nothing.
    const approvedDms = cluster.slack.callsTo('chat.postMessage').filter((c) => c.channel === PEOPLE.engineer && String(c.text).includes(`approved your request \`${id}\``));
    expect(approvedDms).toHaveLength(1);
    const answers = await cluster.until('an answer to every losing click', () => {
      const texts = clicks.flatMap((c) => cluster.slack.responsesTo(c.responseId).map((b) => String(b.text)));
      return texts.length >= 4 ? texts : null;
    }, 20_000);
    expect(answers).toHaveLength(4);
    for (const answer of answers) expect(answer).toMatch(/already approved/);

    await cluster.expectSettled();
  }, 120_000);
});
