// Post-access review through the core: asked for when a grant of a reviewed tier ends, given once, reminded daily, counted.
import { describe, expect, it } from 'vitest';
import { REVIEW_REMINDER_MS } from '../../src/core/review-reminder.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;
const REVIEWED = aLoadedPolicy({ tiers: { low: { review: 'sre-leads' } } });

describe('PostAccessReviews', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(REVIEWED);
  });
  const reviews = () => h.service.reviews.post;

  const grantAndExpire = async (resource = 'sandbox') => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource, duration: HOUR, reason: 'trying INC-1' });
    if (out.value?.kind !== 'granted') throw new Error('expected a grant');
    h.clock.advance(HOUR);
    expect((await h.service.expire(out.value.grant.id)).kind).toBe('ended');
    return out.value.grant;
  };

  it('asks the tier\'s reviewers when a grant ends, audited with who they are', async () => {
    const grant = await grantAndExpire();
    expect(await h.store.getGrant(grant.id)).toMatchObject({ reviewFrom: 'sre-leads', reviewLeads: null, reviewedBy: null });
    expect(h.notifier.events.find((e) => e.type === 'grant_review_requested')).toMatchObject({ grant: { id: grant.id } });
    const entry = await h.sql.get("SELECT actor, details FROM audit_log WHERE action = 'grant.review_requested'") as { actor: string; details: string };
    expect({ ...entry, details: JSON.parse(entry.details) }).toEqual({ actor: 'sesame', details: { tier: 'low', review: 'sre-leads', reviewers: 'sre-leads', leads: null } });
    expect(await reviews().waitingFor(PEOPLE.lead1)).toMatchObject([{ id: grant.id }]);
    expect(await reviews().waitingFor(PEOPLE.security)).toEqual([]);
    expect(await reviews().countPending()).toBe(1);
  });

  it('asks nothing for a tier without review', async () => {
    h.setPolicy(aLoadedPolicy());
    const grant = await grantAndExpire();
    expect((await h.store.getGrant(grant.id))?.reviewFrom).toBeNull();
    expect((await h.auditActions())).not.toContain('grant.review_requested');
  });

  it('records one verdict, refusing the grantee, a non-reviewer, a guest and a flag without a reason, each audited', async () => {
    const grant = await grantAndExpire();
    expect((await reviews().give(grant.id, PEOPLE.engineer, 'looks_right', null)).error?.code).toBe('review_own_grant');
    expect((await reviews().give(grant.id, PEOPLE.security, 'looks_right', null)).error?.code).toBe('not_reviewer');
    h.directory.standings.set(PEOPLE.lead2, 'guest');
    expect((await reviews().give(grant.id, PEOPLE.lead2, 'looks_right', null)).error?.code).toBe('outsider_refused');
    expect((await reviews().give(grant.id, PEOPLE.lead1, 'flagged', '  ')).error?.code).toBe('flag_reason_required');
    expect((await reviews().give(9999, PEOPLE.lead1, 'looks_right', null)).error?.code).toBe('grant_not_found');
    expect((await h.auditActions()).filter((a) => a === 'grant.review_refused')).toHaveLength(5);
    expect((await h.store.getGrant(grant.id))?.reviewedBy).toBeNull();

    const done = await reviews().give(grant.id, PEOPLE.lead1, 'flagged', 'why prod on a Sunday?');
    expect(done.value).toMatchObject({ reviewedBy: PEOPLE.lead1, reviewVerdict: 'flagged', reviewNote: 'why prod on a Sunday?' });
    const entry = await h.sql.get("SELECT actor, grant_id, details FROM audit_log WHERE action = 'grant.flagged'") as { actor: string; grant_id: string; details: string };
    expect({ ...entry, details: JSON.parse(entry.details) }).toEqual({ actor: PEOPLE.lead1, grant_id: `G${grant.id}`, details: { user: PEOPLE.engineer, resource: 'sandbox', role: 'admin', reviewers: 'sre-leads', note: 'why prod on a Sunday?' } });
    expect(h.notifier.events.at(-1)).toMatchObject({ type: 'grant_reviewed', by: PEOPLE.lead1 });
    expect((await reviews().give(grant.id, PEOPLE.lead2, 'looks_right', null)).error?.code).toBe('already_reviewed');
    expect(await reviews().countPending()).toBe(0);
  });

  it('counts break-glass uses waiting for review in the same gauge', async () => {
    await grantAndExpire();
    const glass = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-42 down', breakglass: true, channelId: 'C0INC42' });
    expect(glass.value?.kind).toBe('granted');
    expect(await reviews().countPending()).toBe(2);
  });

  it('reminds the reviewers a day after a grant ended, then daily, and stops once it is reviewed', async () => {
    const grant = await grantAndExpire();
    expect(await h.service.reviews.remindIfDue()).toBe(false);
    h.clock.advance(REVIEW_REMINDER_MS);
    expect(await h.service.reviews.remindIfDue()).toBe(true);
    expect(h.notifier.events.at(-1)).toMatchObject({ type: 'grant_review_reminder', grants: [{ id: grant.id }] });
    h.clock.advance(HOUR);
    expect(await h.service.reviews.remindIfDue()).toBe(false);
    h.clock.advance(REVIEW_REMINDER_MS);
    expect(await h.service.reviews.remindIfDue()).toBe(true);
    await reviews().give(grant.id, PEOPLE.lead1, 'looks_right', null);
    h.clock.advance(REVIEW_REMINDER_MS);
    expect(await h.service.reviews.remindIfDue()).toBe(false);
    expect((await h.auditActions()).filter((a) => a === 'grant.review_reminded')).toHaveLength(2);
    expect((await h.auditActions())).not.toContain('breakglass.review_reminded');
  });
});
