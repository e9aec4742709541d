// The policy's decisions, rule by rule, including the edges (max duration, 17:59 vs 18:00, DST days).
import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/core/describe-error.ts';
import { decide, type AccessQuery, type Facts } from '../../src/policy/decide.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;
const policy = aLoadedPolicy().policy;
/** Monday 2026-11-23, 10:00 in Berlin (CET, UTC+1). */
const MONDAY_10 = new Date('2026-11-23T09:00:00Z');

/** Facts with groups as a plain list, for readable tables. */
type TestFacts = Omit<Partial<Facts>, 'groups'> & { groups?: string[] };

const ask = (query: Partial<AccessQuery> & { resource: string }, facts: TestFacts = {}, now = MONDAY_10, p = policy) =>
  decide(p, { reason: 'debugging INC-42', ...query }, { ...facts, groups: new Set(facts.groups ?? []) }, now);

describe('decide', () => {
  describe('resolving what is asked for', () => {
    it('names the closest resources for a typo', () => {
      const d = ask({ resource: 'prod-bd' });
      expect(d).toMatchObject({ kind: 'refuse', error: { code: 'unknown_resource', input: 'prod-bd', closest: ['prod-db'] } });
    });

    it('refuses a resource with no near names without guessing', () => {
      expect(ask({ resource: 'kubernetes' })).toMatchObject({ kind: 'refuse', error: { code: 'unknown_resource', closest: [] } });
    });

    it('uses the only role of a resource when none is given', () => {
      expect(ask({ resource: 'sandbox' })).toMatchObject({ kind: 'auto_approve', request: { role: 'admin' } });
    });

    it('asks for a role, listing them, when the resource has several', () => {
      expect(ask({ resource: 'staging-db' })).toMatchObject({ kind: 'refuse', error: { code: 'role_required', roles: ['read', 'write'] } });
    });

    it('refuses an unknown role, listing the real ones', () => {
      expect(ask({ resource: 'staging-db', role: 'admin' })).toMatchObject({ kind: 'refuse', error: { code: 'unknown_role', input: 'admin', roles: ['read', 'write'] } });
    });

    it('does not treat inherited object properties as resources or roles', () => {
      expect(ask({ resource: 'constructor' })).toMatchObject({ kind: 'refuse', error: { code: 'unknown_resource' } });
      expect(ask({ resource: 'sandbox', role: 'toString' })).toMatchObject({ kind: 'refuse', error: { code: 'unknown_role' } });
    });

    it('lets a role override its resource tier', () => {
      const facts = { groups: ['engineering'] };
      expect(ask({ resource: 'prod-db', role: 'read', duration: HOUR }, facts)).toMatchObject({ request: { tier: 'medium' } });
      expect(ask({ resource: 'prod-db', role: 'write', duration: HOUR }, facts)).toMatchObject({ request: { tier: 'high' } });
    });
  });

  describe('eligibility', () => {
    it('refuses someone outside the eligible groups and says who is eligible', () => {
      expect(ask({ resource: 'prod-db', role: 'write' })).toMatchObject({ kind: 'refuse', error: { code: 'not_eligible', eligible: ['engineering'] }, rule: { path: ['resources', 'prod-db', 'eligible'] } });
    });

    it('lets everyone request a resource without an eligible list', () => {
      expect(ask({ resource: 'sandbox' }).kind).toBe('auto_approve');
    });
  });

  describe('durations', () => {
    it.each([
      ['exactly the maximum', 8 * HOUR, 'auto_approve'],
      ['one second over the maximum', 8 * HOUR + 1000, 'refuse'],
    ])('%s of a tier', (_label, duration, kind) => {
      expect(ask({ resource: 'sandbox', duration }).kind).toBe(kind);
    });

    it('names the maximum when refusing', () => {
      expect(ask({ resource: 'sandbox', duration: 9 * HOUR })).toMatchObject({ error: { code: 'duration_too_long', requested: 9 * HOUR, max: 8 * HOUR, tier: 'low' }, rule: { path: ['tiers', 'low', 'max_duration'] } });
    });

    it("uses the tier's default_duration, else settings.default_duration", () => {
      expect(ask({ resource: 'sandbox' })).toMatchObject({ request: { duration: 2 * HOUR } });
      expect(ask({ resource: 'deployers' }, { groups: ['oncall'] })).toMatchObject({ request: { duration: HOUR } });
    });
  });

  describe('auto_approve conditions', () => {
    const onCall = { groups: ['oncall'] };

    it('auto-approves a medium request when every condition holds, saying which held', () => {
      const d = ask({ resource: 'deployers', duration: HOUR }, onCall);
      expect(d.kind).toBe('auto_approve');
      expect(d.rule).toMatchObject({ path: ['tiers', 'medium', 'auto_approve'] });
      expect(d.rule.why).toContain('within business hours (Mon 10:00 Europe/Berlin)');
      expect(d.rule.why).toContain('ticket INC-42');
    });

    it('names the group whose membership made it automatic, and none when membership played no part', () => {
      expect(ask({ resource: 'deployers', duration: HOUR }, onCall)).toMatchObject({ kind: 'auto_approve', group: 'oncall' });
      expect(ask({ resource: 'sandbox' }, onCall)).not.toHaveProperty('group');
      expect(ask({ resource: 'prod-db', role: 'write', breakglass: true }, { groups: ['oncall', 'engineering'], channelName: 'inc-1' })).not.toHaveProperty('group');
    });

    it('refuses everything, break-glass too, while an admin has blocked the requester', () => {
      for (const d of [ask({ resource: 'sandbox' }, { blocked: true }), ask({ resource: 'prod-db', role: 'write', breakglass: true }, { groups: ['oncall', 'engineering'], channelName: 'inc-1', blocked: true })]) {
        expect(d).toMatchObject({ kind: 'refuse', error: { code: 'user_blocked' }, rule: { path: ['settings', 'admins'] } });
      }
    });

    it.each([
      ['no ticket in the reason', { reason: 'just looking' }, onCall, 'no ticket reference in the reason'],
      ['longer than the condition allows', { duration: 3 * HOUR }, onCall, '3h is longer than 2h'],
      ['requester not in the groups', {}, { groups: [] }, 'requester is not in oncall'],
    ])('falls back to approval steps when %s', (_label, query, facts, unmet) => {
      const d = ask({ resource: 'deployers', duration: HOUR, ...query }, facts);
      expect(d).toMatchObject({ kind: 'needs_approval', steps: [{ from: 'sre-leads', count: 1 }], rule: { path: ['tiers', 'medium', 'approvals'] } });
      expect(d.rule.why).toContain(unmet);
    });

    it.each([
      ['17:59 is inside', '2026-11-23T16:59:00Z', 'auto_approve'],
      ['18:00 is outside', '2026-11-23T17:00:00Z', 'needs_approval'],
      ['09:00 is inside', '2026-11-23T08:00:00Z', 'auto_approve'],
      ['08:59 is outside', '2026-11-23T07:59:00Z', 'needs_approval'],
      ['Saturday is outside', '2026-11-21T10:00:00Z', 'needs_approval'],
      ['Monday after the spring DST change, 09:00 CEST', '2026-03-30T07:00:00Z', 'auto_approve'],
      ['Monday after the spring DST change, 08:59 CEST', '2026-03-30T06:59:00Z', 'needs_approval'],
      ['Friday 17:30 CEST before the autumn change', '2026-10-23T15:30:00Z', 'auto_approve'],
      ['Friday 18:30 CEST before the autumn change', '2026-10-23T16:30:00Z', 'needs_approval'],
    ])('business hours in Europe/Berlin: %s', (_label, iso, kind) => {
      expect(ask({ resource: 'deployers', duration: HOUR }, onCall, new Date(iso)).kind).toBe(kind);
    });

    it('reads the clock in the policy time zone on the DST change day itself', () => {
      const sundays = aLoadedPolicy({ settings: { business_hours: { days: ['sun'], from: '09:00', to: '18:00' } } }).policy;
      // 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin, so 07:00Z is 09:00 local (UTC+2).
      expect(ask({ resource: 'deployers', duration: HOUR }, onCall, new Date('2026-03-29T07:00:00Z'), sundays).kind).toBe('auto_approve');
      expect(ask({ resource: 'deployers', duration: HOUR }, onCall, new Date('2026-03-29T06:59:00Z'), sundays).kind).toBe('needs_approval');
      // 2026-10-25: clocks fall back from 03:00 to 02:00, so 08:00Z is 09:00 local (UTC+1).
      expect(ask({ resource: 'deployers', duration: HOUR }, onCall, new Date('2026-10-25T08:00:00Z'), sundays).kind).toBe('auto_approve');
      expect(ask({ resource: 'deployers', duration: HOUR }, onCall, new Date('2026-10-25T07:59:00Z'), sundays).kind).toBe('needs_approval');
    });

    it('refuses, listing what failed, when a tier has conditions but no approval steps', () => {
      const strict = aLoadedPolicy({ tiers: { medium: { approvals: undefined } } }).policy;
      const d = ask({ resource: 'deployers', duration: HOUR }, {}, MONDAY_10, strict);
      expect(d).toMatchObject({ kind: 'refuse', error: { code: 'conditions_unmet', unmet: ['requester is not in oncall'] } });
    });
  });

  describe('approval steps', () => {
    it('returns the ordered steps of a high tier', () => {
      const d = ask({ resource: 'prod-db', role: 'write', duration: HOUR }, { groups: ['engineering'] });
      expect(d).toMatchObject({ kind: 'needs_approval', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }], request: { selfApproval: false } });
    });

    it('carries self_approval from the tier', () => {
      const lenient = aLoadedPolicy({ tiers: { high: { self_approval: true } } }).policy;
      expect(ask({ resource: 'prod-db', role: 'write', duration: HOUR }, { groups: ['engineering'] }, MONDAY_10, lenient)).toMatchObject({ request: { selfApproval: true } });
    });

    it('extracts ticket references from the reason', () => {
      expect(ask({ resource: 'sandbox', reason: 'INC-42 and OPS-7, again INC-42' })).toMatchObject({ request: { tickets: ['INC-42', 'OPS-7'] } });
    });
  });

  describe('extensions', () => {
    const grant = { grantId: 'G5', startsAt: MONDAY_10.getTime() - 6 * HOUR, expiresAt: MONDAY_10.getTime() + HOUR };
    const extend = (by: number, g = grant) => ask({ resource: 'sandbox', duration: by, extending: g });

    it('grants an extension that keeps the whole grant within the tier maximum', () => {
      expect(extend(HOUR)).toMatchObject({ kind: 'auto_approve', request: { duration: HOUR } });
    });

    it('refuses one that would pass the maximum from start to new end, with the maximum, the room left and the time left', () => {
      const decision = extend(90 * 60_000);
      expect(decision).toMatchObject({
        kind: 'refuse',
        error: { code: 'extension_too_long', grantId: 'G5', by: 90 * 60_000, total: 8.5 * HOUR, max: 8 * HOUR, tier: 'low', allowance: HOUR, endsIn: HOUR },
        rule: { path: ['tiers', 'low', 'max_duration'] },
      });
      expect(decision.kind === 'refuse' && describeError(decision.error, (t) => `\`${t}\``)).toBe(
        'Extending `G5` by 1h30m would make it last 8h30m from start to end, more than the 8h maximum for low-tier access; it can be extended by at most 1h more (it ends in 1h). If you need more after that, request access again.',
      );
    });

    it('cannot be chained past the maximum: thirty 1h extensions of an 8h tier stop at 8h in all', () => {
      let current = { grantId: 'G5', startsAt: MONDAY_10.getTime(), expiresAt: MONDAY_10.getTime() + 2 * HOUR };
      let granted = 0;
      for (let i = 0; i < 30; i++) {
        if (extend(HOUR, current).kind !== 'auto_approve') continue;
        current = { ...current, expiresAt: current.expiresAt + HOUR };
        granted++;
      }
      expect(granted).toBe(6);
      expect(current.expiresAt - current.startsAt).toBe(8 * HOUR);
    });
  });

  describe('guests and other workspaces', () => {
    it.each(['guest', 'external'] as const)('refuses a %s by default, whatever they ask for', (standing) => {
      expect(ask({ resource: 'sandbox' }, { standing })).toMatchObject({ kind: 'refuse', error: { code: 'outsider_refused', standing }, rule: { path: ['settings', 'allow_guests'] } });
      expect(ask({ resource: 'prod-db', role: 'write', breakglass: true, reason: 'INC-1' }, { standing, groups: ['oncall', 'engineering'], channelName: 'inc-1' }).kind).toBe('refuse');
    });

    it('lets them in when settings.allow_guests is true', () => {
      const open = aLoadedPolicy({ settings: { allow_guests: true } }).policy;
      expect(ask({ resource: 'sandbox' }, { standing: 'guest' }, MONDAY_10, open).kind).toBe('auto_approve');
    });
  });

  describe('break-glass', () => {
    const incident = { groups: ['oncall', 'engineering'], channelName: 'inc-db-down' };
    const glass = (query: Partial<AccessQuery> = {}, facts: TestFacts = incident) =>
      ask({ resource: 'prod-db', role: 'write', breakglass: true, reason: 'INC-9 db down', ...query }, facts);

    it('grants at once from an incident channel to someone on call', () => {
      expect(glass({ duration: HOUR })).toMatchObject({ kind: 'auto_approve', request: { duration: HOUR }, rule: { path: ['breakglass'] } });
    });

    it('caps a long duration instead of refusing it', () => {
      expect(glass({ duration: 4 * HOUR })).toMatchObject({ kind: 'auto_approve', request: { duration: HOUR, capped: { requested: 4 * HOUR, max: HOUR } } });
    });

    it.each([
      ['outside an incident channel', { ...incident, channelName: 'general' }, 'breakglass_wrong_channel'],
      ['in a DM (no channel name)', { ...incident, channelName: null }, 'breakglass_wrong_channel'],
      ['when not on call', { ...incident, groups: [] }, 'breakglass_not_in_group'],
      ['after max_per_hour uses', { ...incident, breakglassUsesLastHour: 3 }, 'breakglass_rate_limited'],
    ])('refuses %s', (_label, facts, code) => {
      expect(glass({}, facts)).toMatchObject({ kind: 'refuse', error: { code } });
    });

    it("honours the resource's eligible list: on call is not enough for a resource one may not hold at all", () => {
      expect(glass({}, { ...incident, groups: ['oncall'] })).toMatchObject({ kind: 'refuse', error: { code: 'not_eligible', resource: 'prod-db', eligible: ['engineering'] }, rule: { path: ['resources', 'prod-db', 'eligible'] } });
    });

    it('refuses without a reason, or with only spaces', () => {
      expect(glass({ reason: '   ' })).toMatchObject({ kind: 'refuse', error: { code: 'reason_required' } });
    });

    it('matches channel globs case-insensitively', () => {
      expect(glass({}, { ...incident, channelName: 'INC-42' }).kind).toBe('auto_approve');
    });

    it('refuses when the policy has no breakglass section', () => {
      const none = aLoadedPolicy({ breakglass: undefined }).policy;
      expect(ask({ resource: 'prod-db', role: 'write', breakglass: true }, incident, MONDAY_10, none)).toMatchObject({ error: { code: 'breakglass_not_configured' } });
    });
  });
});
