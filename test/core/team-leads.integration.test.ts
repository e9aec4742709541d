// Team-lead steps through the core: only the stored leads decide, admins may still deny, and a change of leads makes the request stale.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
const withLeads = (leads: string[]) =>
  aLoadedPolicy({
    teams: { payments: { members: [PEOPLE.engineer], leads } },
    tiers: { high: { approvals: [{ from: 'team_lead', count: 1, fallback: 'security' }, { from: 'sre-leads', count: 1 }] } },
  });

describe('team-lead steps', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(withLeads([PEOPLE.lead1]));
  });

  const ask = async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-3 fix' });
    if (out.value?.kind !== 'pending') throw new Error('expected a pending request');
    return out.value.request;
  };

  it('stores the leads with the step, and counts a lead once across steps', async () => {
    const request = await ask();
    expect(request.steps).toEqual([{ from: 'team_lead', count: 1, leads: [PEOPLE.lead1] }, { from: 'sre-leads', count: 1 }]);
    expect((await h.service.approve(request.id, PEOPLE.lead2)).error).toMatchObject({ code: 'not_team_lead', leads: [PEOPLE.lead1] });
    expect((await h.service.approve(request.id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    // lead1 is in sre-leads too, but one person counts once per request.
    expect((await h.service.approve(request.id, PEOPLE.lead1)).error?.code).toBe('approved_earlier_step');
    expect((await h.service.approve(request.id, PEOPLE.lead2)).value?.kind).toBe('approved');
  });

  it('lets a lead or an admin deny, and nobody else', async () => {
    const request = await ask();
    expect((await h.service.prepareDeny(request.id, PEOPLE.lead2)).error?.code).toBe('not_team_lead');
    expect((await h.service.prepareDeny(request.id, PEOPLE.lead1)).ok).toBe(true);
    expect((await h.service.deny(request.id, PEOPLE.security, 'no')).value?.state).toBe('denied');
  });

  it('cancels the request when, at approval, the requester\'s leads are no longer the ones it went to', async () => {
    const request = await ask();
    h.setPolicy(withLeads([PEOPLE.lead2]));
    // The new lead was not asked; the old one is no lead any more, so their click cancels rather than grants.
    expect((await h.service.approve(request.id, PEOPLE.lead2)).error).toMatchObject({ code: 'not_team_lead' });
    expect((await h.service.approve(request.id, PEOPLE.lead1)).error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'approvals_changed' } });
    expect((await h.store.getRequest(request.id))?.state).toBe('cancelled');
  });
  it('refuses a lead whom an admin has blocked: a stolen lead account decides nothing', async () => {
    const request = await ask();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    expect((await h.service.approve(request.id, PEOPLE.lead1)).error).toMatchObject({ code: 'blocked_decider' });
    expect((await h.service.prepareDeny(request.id, PEOPLE.lead1)).error).toMatchObject({ code: 'blocked_decider' });
    expect((await h.store.getRequest(request.id))?.currentStep).toBe(0);
  });
});
