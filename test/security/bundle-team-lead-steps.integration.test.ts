// Adversary (careless operator): a bundle whose members' tiers both go to the requester's team lead. Merging the two
// team-lead steps kept `from: team_lead` but dropped the leads the step was routed to, so no lead could approve it
// (nobody is in a group called team_lead): the bundle could only time out, or be decided by an escalation group.
import { describe, expect, it } from 'vitest';
import { teamLeadBundlePolicy } from '../support/team-lead-policy.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';

const HOUR = 3_600_000;
const policy = teamLeadBundlePolicy();

describe('adversary: a bundle of team-lead tiers', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(policy);
  });

  it('keeps the leads on the merged team-lead step, so the lead (and only the lead) decides it', async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: HOUR, reason: 'INC-3 fix' });
    if (out.value?.kind !== 'pending') throw new Error(`expected a pending request, got ${JSON.stringify(out)}`);
    const request = out.value.request;
    expect(request.steps).toEqual([{ from: 'team_lead', count: 1, leads: [PEOPLE.lead1] }, { from: 'sre-leads', count: 1 }]);
    expect((await h.service.approve(request.id, PEOPLE.lead2)).error).toMatchObject({ code: 'not_team_lead' });
    expect((await h.service.approve(request.id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    expect((await h.service.approve(request.id, PEOPLE.lead2)).value?.kind).toBe('approved');
    expect((await h.store.grantsOfRequest(request.id)).map((g) => g.state)).toEqual(['active', 'active']);
  });
});
