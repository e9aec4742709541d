// Adversary: a team lead is taken off the team (policy reload) while a `review: team_lead` review of a grant still
// waits for them. An approval is re-checked against today's leads (the request is cancelled), and a group review
// against today's group; a lead review only against the leads stored at the grant's end, so the removed lead could
// still clear it as "looks right".
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;
const withLeads = (leads: string[]) =>
  aLoadedPolicy({ teams: { payments: { members: [PEOPLE.engineer], leads } }, tiers: { low: { review: 'team_lead' } } } as Parameters<typeof aLoadedPolicy>[0]);

describe('adversary: a lead removed from the team, with a review waiting', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(withLeads([PEOPLE.lead1]));
  });

  it('refuses (and audits) the removed lead\'s review; the new lead may give it', async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'poking' });
    if (!out.ok || out.value.kind !== 'granted') throw new Error('expected a grant');
    const id = out.value.grant.id;
    await h.service.revoke(id, PEOPLE.engineer);
    expect((await h.store.getGrant(id))?.reviewLeads).toEqual([PEOPLE.lead1]);

    h.setPolicy(withLeads([PEOPLE.lead2])); // lead1 is no longer the lead of payments
    const byOld = await h.service.reviews.post.give(id, PEOPLE.lead1, 'looks_right', null);
    expect(!byOld.ok && byOld.error.code).toBe('not_reviewer');
    expect((await h.store.getGrant(id))?.reviewedBy).toBeNull();
    const refused = await h.sql.all("SELECT actor FROM audit_log WHERE action = 'grant.review_refused'");
    expect(refused).toEqual([{ actor: PEOPLE.lead1 }]);
    expect((await h.service.reviews.post.give(id, PEOPLE.lead2, 'looks_right', null)).ok).toBe(true);
  });
});
