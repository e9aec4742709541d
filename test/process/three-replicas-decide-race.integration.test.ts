// Three real replicas on one PostgreSQL and one Redis: Approve against Deny, Approve against Cancel, and two approvers of one step, each on another replica at the same instant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { APPROVE, HIGH, ReplicaCluster } from '../support/replica-cluster.ts';
import type { SlackSigner } from '../support/signed-client.ts';

/** Requests raced at once per scenario: more than one, so a narrow window is hit at least sometimes. */
const ROUNDS = 4;

describe('three replicas: one request decided two ways at once', () => {
  const cluster = new ReplicaCluster();
  let signers: SlackSigner[] = [];
  beforeAll(async () => {
    await cluster.start('decide');
    signers = cluster.replicas.map((r) => r.signer);
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  const ask = async (resource: string, tag: string, on = 0): Promise<{ ref: string; id: number }> => {
    const asked = await (signers[on] as SlackSigner).command(`request ${resource} use 1h ${tag}`, { user: PEOPLE.engineer });
    const reply = await cluster.until(`the reply to ${tag}`, () => cluster.slack.responsesTo(asked.responseId)[0], 20_000);
    const ref = /`(R\d+)`/.exec(String(reply.text))?.[1] ?? '';
    expect(ref, String(reply.text)).not.toBe('');
    return { ref, id: Number(ref.slice(1)) };
  };

  /** Once every click is answered and nothing moves any more: exactly one outcome, and a grant only for an approved request. */
  const expectOneOutcome = async (id: number, outcomes: string[]): Promise<string> => {
    const settled = await cluster.until(`R${id} to settle`, async () => {
      const [request] = await cluster.rows<{ state: string }>('SELECT state FROM requests WHERE id = $1', [id]);
      const grants = await cluster.rows<{ state: string }>('SELECT state FROM grants WHERE request_id = $1', [id]);
      if (request === undefined || request.state === 'pending' || grants.some((g) => g.state === 'pending')) return null;
      if (request.state === 'approved' && grants.length === 0) return null;
      return request.state;
    }, 30_000);
    // Long enough for a late second decision (or a grant after a deny) from a slower replica to show up, were there one.
    await new Promise((r) => setTimeout(r, 1_500));
    const [request] = await cluster.rows<{ state: string }>('SELECT state FROM requests WHERE id = $1', [id]);
    expect(request?.state).toBe(settled);
    expect(outcomes).toContain(settled);
    const grants = await cluster.rows<{ id: number; state: string }>('SELECT id, state FROM grants WHERE request_id = $1', [id]);
    const decisions = await cluster.rows<{ action: string }>("SELECT action FROM audit_log WHERE request_id = $1 AND action IN ('request.approved', 'request.denied', 'request.cancelled')", [`R${id}`]);
    expect(decisions, `R${id}`).toHaveLength(1);
    if (settled === 'approved') {
      expect(grants.map((g) => g.state)).toEqual(['active']);
      expect(cluster.callsFor('grant', grants[0]?.id ?? 0)).toBe(1);
    } else {
      expect(grants, `R${id} ${settled} yet granted`).toEqual([]);
    }
    return settled;
  };

  it('Approve on one replica and Deny on another: one outcome, never a grant after the deny', async () => {
    const asked = await Promise.all(Array.from({ length: ROUNDS }, (_, n) => ask(APPROVE, `approve-deny ${n}`, n % 3)));
    await Promise.all(asked.flatMap(({ ref }, n) => [
      (signers[n % 3] as SlackSigner).click(PEOPLE.lead1, 'approve_request', ref),
      (signers[(n + 1) % 3] as SlackSigner).click(PEOPLE.lead2, 'deny_request', ref),
    ]));
    const seen = [];
    for (const { id } of asked) seen.push(await expectOneOutcome(id, ['approved', 'denied']));
    expect(seen.length).toBe(ROUNDS);
    await cluster.expectSettled();
  }, 120_000);

  it('Approve on one replica and the requester\'s Cancel on another: one outcome, never a grant after the cancel', async () => {
    const asked = await Promise.all(Array.from({ length: ROUNDS }, (_, n) => ask(APPROVE, `approve-cancel ${n}`, n % 3)));
    await Promise.all(asked.flatMap(({ ref }, n) => [
      (signers[n % 3] as SlackSigner).click(PEOPLE.lead1, 'approve_request', ref),
      n % 2 === 0
        ? (signers[(n + 1) % 3] as SlackSigner).click(PEOPLE.engineer, 'cancel_request', ref)
        : (signers[(n + 2) % 3] as SlackSigner).command(`cancel ${ref}`, { user: PEOPLE.engineer }),
    ]));
    for (const { id } of asked) await expectOneOutcome(id, ['approved', 'cancelled']);
    await cluster.expectSettled();
  }, 120_000);

  it('two sre-leads of a two-approval step on two replicas at once: both count, one grant', async () => {
    const asked = await Promise.all(Array.from({ length: ROUNDS }, (_, n) => ask(HIGH, `two-step ${n}`, n % 3)));
    // Step one (security) on one replica, then both leads of step two at the same instant on the other two.
    await Promise.all(asked.map(({ ref }, n) => (signers[n % 3] as SlackSigner).click(PEOPLE.security, 'approve_request', ref)));
    for (const { id } of asked) await cluster.until(`R${id} step one`, async () => (await cluster.rows('SELECT approver FROM approvals WHERE request_id = $1', [id])).length === 1, 20_000);
    await Promise.all(asked.flatMap(({ ref }, n) => [
      (signers[(n + 1) % 3] as SlackSigner).click(PEOPLE.lead1, 'approve_request', ref),
      (signers[(n + 2) % 3] as SlackSigner).click(PEOPLE.lead2, 'approve_request', ref),
    ]));
    for (const { id } of asked) {
      expect(await expectOneOutcome(id, ['approved'])).toBe('approved');
      const approvers = await cluster.rows<{ approver: string }>('SELECT approver FROM approvals WHERE request_id = $1 ORDER BY approver', [id]);
      expect(approvers.map((a) => a.approver)).toEqual([PEOPLE.lead1, PEOPLE.lead2, PEOPLE.security]);
    }
    await cluster.expectSettled();
  }, 120_000);

  it('security and a lead of the next step clicking at once on two replicas, with a Deny on the third: one outcome', async () => {
    const asked = await Promise.all(Array.from({ length: ROUNDS }, (_, n) => ask(HIGH, `step-race ${n}`, n % 3)));
    await Promise.all(asked.flatMap(({ ref }, n) => [
      (signers[n % 3] as SlackSigner).click(PEOPLE.security, 'approve_request', ref),
      (signers[(n + 1) % 3] as SlackSigner).click(PEOPLE.lead1, 'approve_request', ref),
      (signers[(n + 2) % 3] as SlackSigner).click(PEOPLE.lead2, n % 2 === 0 ? 'deny_request' : 'approve_request', ref),
    ]));
    await new Promise((r) => setTimeout(r, 3_000));
    for (const [n, { id }] of asked.entries()) {
      const [request] = await cluster.rows<{ state: string }>('SELECT state FROM requests WHERE id = $1', [id]);
      const grants = await cluster.rows('SELECT id FROM grants WHERE request_id = $1', [id]);
      if (request?.state === 'pending') expect(grants, `R${id} pending yet granted`).toEqual([]);
      else await expectOneOutcome(id, n % 2 === 0 ? ['approved', 'denied'] : ['approved']);
    }
    await cluster.expectSettled();
  }, 120_000);
});
