// Three real replicas on one PostgreSQL and one Redis, restarted one by one (SIGTERM) under a steady stream of requests: none lost, none granted twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE } from '../support/e2e.ts';
import { APPROVE, AUTO, ReplicaCluster } from '../support/replica-cluster.ts';
import type { SentRequest, SignedResponse, SlackSigner } from '../support/signed-client.ts';

const DURATION = '30s';

describe('three replicas: a rolling restart under load', () => {
  const cluster = new ReplicaCluster();
  beforeAll(async () => {
    await cluster.start('rolling');
  }, 90_000);
  afterAll(async () => {
    await cluster.stopAll();
  }, 30_000);

  let next = 0;
  /** The id a signed command's or click's response_url ends in (where the fake Slack records the replies). */
  const responseIdOf = (sent: SentRequest): string => {
    const form = new URLSearchParams(sent.body);
    const url = form.get('response_url') ?? (JSON.parse(form.get('payload') ?? '{}') as { response_url?: string }).response_url ?? '';
    return url.slice(url.lastIndexOf('/') + 1);
  };
  /**
   * Sent round robin, as a load balancer does with a backend going away: a refused connection surely never reached
   * Sesame and goes to the next replica. Any other failure (a reset keep-alive socket of a replica shutting down) may
   * or may not have: the same signed request goes to the next replica, as a client retrying would. Had it arrived, the
   * shared replay guard acks the copy without acting, and the checks below find anything handled twice or lost.
   */
  const sendRoundRobin = async (send: (signer: SlackSigner) => Promise<SignedResponse & { responseId: string }>, problems: string[]): Promise<SignedResponse & { responseId: string }> => {
    let copy: SentRequest | null = null;
    for (let tries = 0; tries < 12; tries++) {
      const replica = cluster.replicas[next++ % cluster.replicas.length];
      const signer = replica?.signer as SlackSigner;
      // The signer is shared by concurrent flows: what this attempt sent is read before any await lets another send.
      const attempt = copy === null ? send(signer) : signer.deliver(copy).then((answer) => ({ ...answer, responseId: responseIdOf(copy as SentRequest) }));
      const sentNow = signer.lastSent;
      try {
        const answer = await attempt;
        if (answer.status === 200) return answer;
        problems.push(`${replica?.name} answered ${answer.status}`);
      } catch (error) {
        const cause = (error as { code?: string }).code ?? String(error);
        problems.push(`${replica?.name}: ${cause}`);
        if (cause !== 'ECONNREFUSED') copy ??= sentNow;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no replica took the request: ${problems.join('; ')}`);
  };

  it('answers every request once, grants each once and ends every grant', async () => {
    const problems: string[] = [];
    const sent: { tag: string; resource: string; requester: string }[] = [];
    const flows: Promise<void>[] = [];
    let restarting = true;
    const requester = (n: number) => (n % 2 === 0 ? PEOPLE.engineer : PEOPLE.engineer2);

    /** One request start to finish: asked on one replica, and (when it needs one) approved on the next. */
    const flow = async (n: number) => {
      const resource = n % 3 === 2 ? APPROVE : AUTO;
      const tag = `rolling ${n}`;
      sent.push({ tag, resource, requester: requester(n) });
      const asked = await sendRoundRobin((s) => s.command(`request ${resource} use ${DURATION} ${tag}`, { user: requester(n) }), problems);
      const reply = await cluster.until(`the reply to "${tag}"`, () => cluster.slack.responsesTo(asked.responseId)[0], 30_000);
      if (resource === AUTO) return void expect(String(reply.text)).toMatch(/^✅ Granted/);
      const id = /`(R\d+)`/.exec(String(reply.text))?.[1];
      expect(id, String(reply.text)).toBeDefined();
      await sendRoundRobin((s) => s.click(PEOPLE.lead1, 'approve_request', id ?? ''), problems);
    };

    const stream = (async () => {
      for (let n = 0; restarting; n++) {
        flows.push(flow(n));
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    await new Promise((r) => setTimeout(r, 2_000));
    for (let i = 0; i < cluster.replicas.length; i++) {
      const code = await cluster.stop(i, 'SIGTERM');
      expect(code, `replica ${i} after SIGTERM:\n${cluster.replicaOutput(i).slice(-8_000)}`).toBe(0);
      await cluster.restart(i);
      await new Promise((r) => setTimeout(r, 1_500));
    }
    restarting = false;
    await stream;
    await Promise.all(flows);

    // Every request sent is in the store once, granted once (one grant, one call at the provider).
    const requests = await cluster.rows<{ id: number; reason: string; state: string }>("SELECT id, reason, state FROM requests WHERE reason LIKE 'rolling %'");
    expect(requests.map((r) => r.reason).sort()).toEqual(sent.map((s) => s.tag).sort());
    const grants = await cluster.until('every request to be granted', async () => {
      const rows = await cluster.rows<{ id: number; request_id: number; state: string }>('SELECT id, request_id, state FROM grants');
      return rows.length >= sent.length && rows.every((g) => g.state !== 'pending') ? rows : null;
    }, 60_000);
    expect(grants).toHaveLength(sent.length);
    expect(new Set(grants.map((g) => g.request_id)).size).toBe(sent.length);
    for (const g of grants) expect(cluster.callsFor('grant', g.id), `grant calls for G${g.id}`).toBe(1);
    expect(await cluster.rows("SELECT id FROM audit_log WHERE action = 'grant.activated'")).toHaveLength(sent.length);

    // Every grant ends, once.
    await cluster.until('every grant to end', async () => (await cluster.rows("SELECT id FROM grants WHERE state <> 'expired'")).length === 0, 90_000);
    const ends = await cluster.rows<{ grant_id: string; n: string }>("SELECT grant_id, count(*)::text AS n FROM audit_log WHERE action IN ('grant.expired', 'grant.revoked') GROUP BY grant_id");
    expect(ends).toHaveLength(sent.length);
    expect(ends.every((e) => e.n === '1')).toBe(true);
    for (const g of grants) expect(cluster.sink.present.has(`G${g.id}`)).toBe(false);

    await cluster.expectSettled();
  }, 240_000);
});
