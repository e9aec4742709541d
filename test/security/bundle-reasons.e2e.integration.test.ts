// Security: access auto-approved because of a group ends when the person leaves it, for bundles and extensions too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

/** Medium tier is automatic for on-call members alone, `eng` for engineers; bundles of such members. */
const POLICY = {
  ...NOOP_PROVIDERS,
  tiers: {
    medium: { auto_approve: { business_hours: undefined, ticket: undefined, max_duration: undefined, groups: ['oncall'] } },
    eng: { auto_approve: { groups: ['engineering'] }, max_duration: '4h' },
  },
  resources: { ...(NOOP_PROVIDERS as { resources: object }).resources, sandbox: { tier: 'eng' } },
  bundles: { 'oncall-kit': ['prod-db:read', 'deployers:member'], 'mixed-kit': ['prod-db:read', 'sandbox:admin'] },
} as Parameters<typeof startE2E>[0];

const ENGINEERS = [PEOPLE.engineer, PEOPLE.engineer2, PEOPLE.oncall];

describe('access that outlives its reason', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E(POLICY, { reconcileIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string, channel = 'C0GENERAL') => {
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const sweep = async () => (await e.sesame.reconcile()).reasonsEnded + (await e.sesame.reconcile()).reasonsEnded;
  const grantIds = (text: string) => [...text.matchAll(/`G(\d+)`/g)].map((m) => Number(m[1]));

  it('a bundle auto-approved because of on-call ends when the person leaves on-call (like a single grant does)', async () => {
    const text = await reply('request oncall-kit 1h INC-5 slow queries', PEOPLE.oncall);
    expect(text).toMatch(/^✅ Granted/);
    const ids = grantIds(text);
    expect(ids).toHaveLength(2);
    const request = await e.sesame.store.getRequest((await e.sesame.store.getGrant(ids[0] as number))?.requestId as number);
    e.slack.usergroups.set('S0ONCALL', []);
    await sweep();
    const states = (await Promise.all(ids.map((id) => e.sesame.store.getGrant(id)))).map((g) => g?.state);
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    expect({ autoGroup: request?.autoGroup, states }).toEqual({ autoGroup: 'oncall', states: ['revoked', 'revoked'] });
  });

  it('a bundle auto-approved because of two groups ends when the person leaves either of them', async () => {
    const text = await reply('request mixed-kit 1h INC-7 slow queries', PEOPLE.oncall);
    expect(text).toMatch(/^✅ Granted/);
    const ids = grantIds(text);
    expect(ids).toHaveLength(2);
    const request = await e.sesame.store.getRequest((await e.sesame.store.getGrant(ids[0] as number))?.requestId as number);
    expect(request?.autoGroup).toBe('oncall,engineering');
    // Still on call, but no longer an engineer: the engineering-approved member's reason is gone, and a bundle ends whole.
    e.slack.usergroups.set('S0ENG', ENGINEERS.filter((u) => u !== PEOPLE.oncall));
    await sweep();
    const states = (await Promise.all(ids.map((id) => e.sesame.store.getGrant(id)))).map((g) => g?.state);
    e.slack.usergroups.set('S0ENG', ENGINEERS);
    expect(states).toEqual(['revoked', 'revoked']);
    const reasons = (await e.sql.all("SELECT details FROM audit_log WHERE action = 'grant.revoked' AND grant_id IN (?, ?)", `G${ids[0]}`, `G${ids[1]}`)) as { details: string }[];
    expect(reasons.map((r) => r.details).join(' ')).toContain('engineering');
  });

  it('an extension auto-approved because of on-call ends the grant when the person leaves on-call', async () => {
    e.slack.usergroups.set('S0ONCALL', []);
    const asked = await reply('request prod-db read 1h INC-6 look', PEOPLE.oncall);
    const requestId = Number(/`R(\d+)`/.exec(asked)?.[1]);
    expect((await e.sesame.store.getRequest(requestId))?.state).toBe('pending');
    expect((await e.signer.click(PEOPLE.lead1, 'approve_request', `R${requestId}`)).status).toBe(200);
    const grant = await e.slack.waitFor(async () => ((await e.sesame.store.grantForRequest(requestId))?.state === 'active' ? await e.sesame.store.grantForRequest(requestId) : null), 'the approved grant');
    const before = grant.expiresAt as number;
    // Now on call: the extension is automatic because of it.
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    expect(await reply(`extend G${grant.id} 2h`, PEOPLE.oncall)).toMatch(/now lasts until/);
    expect((await e.sesame.store.getGrant(grant.id))?.expiresAt).toBe(before + 2 * 3_600_000);
    const ext = (await e.sql.all('SELECT auto_group FROM requests WHERE extends_grant_id = ?', grant.id));
    expect(ext).toEqual([{ auto_group: 'oncall' }]);
    // Still on call: the sweep leaves it alone.
    await sweep();
    expect((await e.sesame.store.getGrant(grant.id))?.state).toBe('active');
    // Leaves on-call: the on-call-approved extra time goes, with the grant.
    e.slack.usergroups.set('S0ONCALL', []);
    await sweep();
    const after = await e.sesame.store.getGrant(grant.id);
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    expect(after?.state).toBe('revoked');
  });

  it("a bundle's extension auto-approved because of on-call ends every member when the person leaves on-call", async () => {
    e.slack.usergroups.set('S0ONCALL', []);
    const asked = await reply('request oncall-kit 1h INC-8 look', PEOPLE.oncall);
    const requestId = Number(/`R(\d+)`/.exec(asked)?.[1]);
    expect((await e.sesame.store.getRequest(requestId))?.state).toBe('pending');
    expect((await e.signer.click(PEOPLE.lead1, 'approve_request', `R${requestId}`)).status).toBe(200);
    const members = await e.slack.waitFor(async () => {
      const granted = await e.sesame.store.grantsOfRequest(requestId);
      return granted.length === 2 && granted.every((g) => g.state === 'active') ? granted : null;
    }, 'the approved bundle');
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    expect(await reply(`extend G${members[1]?.id} 1h`, PEOPLE.oncall)).toMatch(/now lasts until/);
    e.slack.usergroups.set('S0ONCALL', []);
    await sweep();
    const states = (await Promise.all(members.map((g) => e.sesame.store.getGrant(g.id)))).map((g) => g?.state);
    e.slack.usergroups.set('S0ONCALL', [PEOPLE.oncall]);
    expect(states).toEqual(['revoked', 'revoked']);
  });
});
