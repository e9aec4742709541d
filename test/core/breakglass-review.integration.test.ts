// Break-glass oversight through the core: who may acknowledge, the audit entry, the listing and the daily reminder.
import { describe, expect, it } from 'vitest';
import { checkReview, REVIEW_REMINDER_MS, reviewReminderDue } from '../../src/core/breakglass-review.ts';
import type { GrantRow } from '../../src/store/schema.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;

describe('checkReview (pure)', () => {
  const { policy } = aLoadedPolicy();
  const grant = (overrides: Partial<GrantRow> = {}) => ({ id: 5, user: 'U0ONC1', breakglass: true, reviewedBy: null, ...overrides }) as GrantRow;
  it.each([
    ['a security member', grant(), 'U0SEC1', ['security'], { ok: true, value: 'security' }],
    ['an outsider', grant(), 'U0OUT1', [], { ok: false, error: { code: 'review_not_in_group', grantId: 'G5', group: 'security' } }],
    ['the user themself, even in security', grant({ user: 'U0SEC1' }), 'U0SEC1', ['security'], { ok: false, error: { code: 'review_own', grantId: 'G5' } }],
    ['a second review', grant({ reviewedBy: 'U0SEC2' }), 'U0SEC1', ['security'], { ok: false, error: { code: 'already_reviewed', grantId: 'G5', by: 'U0SEC2' } }],
    ['a routine grant', grant({ breakglass: false }), 'U0SEC1', ['security'], { ok: false, error: { code: 'not_breakglass', grantId: 'G5' } }],
  ] as const)('%s', (_who, g, reviewer, groups, expected) => {
    expect(checkReview(g, reviewer, new Set(groups), policy)).toEqual(expected);
  });

  it('falls back to the admins when the policy names no review_by, and refuses when it names neither', () => {
    const noReviewBy = aLoadedPolicy({ breakglass: { review_by: undefined } }).policy;
    expect(checkReview(grant(), 'U0SEC1', new Set(['security']), noReviewBy).ok).toBe(true);
    const nobody = aLoadedPolicy({ breakglass: { review_by: undefined }, settings: { admins: undefined } }).policy;
    expect(checkReview(grant(), 'U0SEC1', new Set(['security']), nobody)).toEqual({ ok: false, error: { code: 'review_not_configured' } });
  });
});

describe('reviewReminderDue (pure)', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  it.each([
    ['nothing waits', null, null, false],
    ['the oldest use is younger than a day', now.getTime() - REVIEW_REMINDER_MS + 1, null, false],
    ['a use is a day old and nobody was reminded', now.getTime() - REVIEW_REMINDER_MS, null, true],
    ['the last reminder is younger than a day', now.getTime() - 3 * REVIEW_REMINDER_MS, new Date(now.getTime() - HOUR), false],
    ['the last reminder is a day old', now.getTime() - 3 * REVIEW_REMINDER_MS, new Date(now.getTime() - REVIEW_REMINDER_MS), true],
  ] as const)('%s → %s', (_case, oldest, last, due) => {
    expect(reviewReminderDue(oldest, last, now)).toBe(due);
  });
});

describe('BreakglassReviews', () => {
  let h: Harness;
  useFreshHarness((fresh) => (h = fresh));

  const breakGlass = async () => {
    const out = await h.service.request({ requester: PEOPLE.oncall, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-42 primary down', breakglass: true, channelId: 'C0INC42' });
    if (out.value?.kind !== 'granted') throw new Error('expected a break-glass grant');
    return out.value.grant;
  };

  it('records an acknowledgement by a reviewer once, audited with who reviewed', async () => {
    const grant = await breakGlass();
    expect(await h.service.reviews.waitingFor(PEOPLE.security)).toMatchObject([{ id: grant.id }]);
    expect(await h.service.reviews.waitingFor(PEOPLE.engineer)).toEqual([]);

    const done = await h.service.reviews.acknowledge(grant.id, PEOPLE.security);
    expect(done.value).toMatchObject({ reviewedBy: PEOPLE.security, reviewedAt: h.clock.now().getTime() });
    expect((await h.auditActions()).at(-1)).toBe('breakglass.reviewed');
    const entry = await h.sql.get("SELECT actor, grant_id, details FROM audit_log WHERE action = 'breakglass.reviewed'") as { actor: string; grant_id: string; details: string };
    expect({ ...entry, details: JSON.parse(entry.details) }).toEqual({ actor: PEOPLE.security, grant_id: `G${grant.id}`, details: { used_by: PEOPLE.oncall, resource: 'prod-db', role: 'write', group: 'security' } });
    expect(h.notifier.types().at(-1)).toBe('breakglass_reviewed');
    expect(await h.service.reviews.waitingFor(PEOPLE.security)).toEqual([]);
    expect((await h.service.reviews.acknowledge(grant.id, PEOPLE.security)).error).toMatchObject({ code: 'already_reviewed', by: PEOPLE.security });
  });

  it('refuses the user themself and outsiders, auditing each refusal and changing nothing', async () => {
    const grant = await breakGlass();
    expect((await h.service.reviews.acknowledge(grant.id, PEOPLE.oncall)).error?.code).toBe('review_own');
    expect((await h.service.reviews.acknowledge(grant.id, PEOPLE.outsider)).error?.code).toBe('review_not_in_group');
    expect((await h.auditActions()).slice(-2)).toEqual(['breakglass.review_refused', 'breakglass.review_refused']);
    expect((await h.store.getGrant(grant.id))?.reviewedBy).toBeNull();
    expect((await h.service.reviews.acknowledge(9999, PEOPLE.security)).error?.code).toBe('grant_not_found');
    expect((await h.auditActions()).at(-1)).toBe('breakglass.review_refused');
  });

  it('refuses a reviewer who is now a Slack guest, as for approvals', async () => {
    const grant = await breakGlass();
    h.directory.standings.set(PEOPLE.security, 'guest');
    expect((await h.service.reviews.acknowledge(grant.id, PEOPLE.security)).error?.code).toBe('review_not_in_group');
    expect(await h.service.reviews.waitingFor(PEOPLE.security)).toEqual([]);
    expect((await h.auditActions()).at(-1)).toBe('breakglass.review_refused');
    expect((await h.store.getGrant(grant.id))?.reviewedBy).toBeNull();
  });

  it('reminds the reviewers a day after an unreviewed use, then daily, and stops once it is reviewed', async () => {
    const grant = await breakGlass();
    expect(await h.service.reviews.remindIfDue()).toBe(false);
    h.clock.advance(REVIEW_REMINDER_MS);
    expect(await h.service.reviews.remindIfDue()).toBe(true);
    expect(h.notifier.events.at(-1)).toMatchObject({ type: 'breakglass_review_reminder', grants: [{ id: grant.id }] });
    h.clock.advance(HOUR);
    expect(await h.service.reviews.remindIfDue()).toBe(false);
    h.clock.advance(REVIEW_REMINDER_MS);
    expect(await h.service.reviews.remindIfDue()).toBe(true);
    await h.service.reviews.acknowledge(grant.id, PEOPLE.security);
    h.clock.advance(REVIEW_REMINDER_MS);
    expect(await h.service.reviews.remindIfDue()).toBe(false);
    expect((await h.auditActions()).filter((a) => a === 'breakglass.review_reminded')).toHaveLength(2);
  });
});
