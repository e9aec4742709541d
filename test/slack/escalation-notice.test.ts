// What Slack shows of an escalation: the card's note before and after, the App Home tag, the pings and the DM cap.
import { describe, expect, it } from 'vitest';
import { announceEscalation, escalationCardNote, escalationTag, groupPing, MAX_ESCALATION_DMS } from '../../src/slack/escalation-notice.ts';
import type { RequestRow } from '../../src/store/schema.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const AT = Date.UTC(2026, 10, 23, 9, 30);
const aRequest = (overrides: Partial<RequestRow> = {}): RequestRow => ({
  id: 42, requester: 'U0ENG1', resource: 'prod-db', role: 'write', tier: 'high', durationMs: 3_600_000, reason: 'r', tickets: [],
  breakglass: false, state: 'pending', steps: [{ from: 'security', count: 1, escalate_after: 1_800_000, escalate_to: 'sre-leads' }, { from: 'sre-leads', count: 2 }], currentStep: 0, selfApproval: false,
  extendsGrantId: null, channelId: null, rule: 'r', createdAt: 0, timeoutAt: 0, startsAt: null, decidedAt: null, approvedAt: null, decidedBy: null, decisionNote: null, cardChannel: 'C0DBA', cardTs: '1.0', autoGroup: null, escalateAt: AT, escalatedStep: null, bundleMembers: null, ...overrides,
});

describe('escalation in Slack', () => {
  it('notes on the card when the step will escalate, then that it has, and nothing once decided or for a step without one', () => {
    expect(escalationCardNote(aRequest())).toBe(`Escalates to \`sre-leads\` at <!date^${AT / 1000}^{date_short_pretty} {time}|2026-11-23T09:30:00.000Z> if nobody decides.`);
    expect(escalationCardNote(aRequest({ escalatedStep: 0, escalateAt: null }))).toBe('⏫ Escalated to `sre-leads`: a member of either group may decide.');
    expect(escalationCardNote(aRequest({ escalatedStep: 0, state: 'approved' }))).toBeNull();
    expect(escalationCardNote(aRequest({ currentStep: 1, escalatedStep: 0, escalateAt: null }))).toBeNull();
  });

  it('tags an escalated request in App Home lists only while its current step is the escalated one', () => {
    expect(escalationTag(aRequest({ escalatedStep: 0 }))).toBe(' ⏫ escalated to `sre-leads`');
    expect(escalationTag(aRequest())).toBe('');
    expect(escalationTag(aRequest({ currentStep: 1, escalatedStep: 0 }))).toBe('');
  });

  it('pings a Slack user group as one mention, a listed group by its members', () => {
    const { policy } = aLoadedPolicy();
    expect(groupPing(policy, 'engineering')).toBe('<!subteam^S0ENG>');
    expect(groupPing(policy, 'sre-leads')).toBe('<@U0LEAD1> <@U0LEAD2>');
    expect(groupPing(policy, 'gone')).toBe('`gone`');
  });

  it(`replies in the card's thread and DMs at most ${MAX_ESCALATION_DMS} members, going on past a failed DM`, async () => {
    const replies: string[][] = [];
    const dms: string[] = [];
    const members = Array.from({ length: 60 }, (_, i) => `U0M${i}`);
    await announceEscalation(aRequest({ escalatedStep: 0 }), 'sre-leads', members, {
      policy: aLoadedPolicy().policy,
      reply: async (channel, ts, text) => replies.push([channel, ts, text]),
      dm: async (user) => {
        dms.push(user);
        if (user === 'U0M0') throw new Error('cannot DM');
      },
    });
    expect(replies).toHaveLength(1);
    expect(replies[0]?.slice(0, 2)).toEqual(['C0DBA', '1.0']);
    expect(replies[0]?.[2]).toContain('so it is escalated to <@U0LEAD1> <@U0LEAD2>');
    expect(dms).toEqual(members.slice(0, MAX_ESCALATION_DMS));
  });
});
