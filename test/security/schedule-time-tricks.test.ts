// Adversary: time-zone and calendar tricks on `at …` to get a window longer than the tier allows, or one that starts
// somewhere the policy did not judge. The start is only ever a start: the window ends at start + the approved duration,
// and the duration is checked against the tier whatever the start says.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/decide.ts';
import { windowEnd } from '../../src/core/scheduled-windows.ts';
import { parseStart, resolveStart } from '../../src/slack/start-time.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const H = 3_600_000;
const now = new Date('2026-03-28T12:00:00Z'); // the day before Berlin skips 02:00-03:00
const policy = aLoadedPolicy().policy;
const facts = { groups: new Set(['engineering']), standing: 'member' as const, user: 'U0ENG1' };
const startOf = (words: string) => {
  const parsed = parseStart(words.split(' '));
  return parsed.ok ? resolveStart(parsed.value.spec, now, 'Europe/Berlin') : parsed.error.code;
};

describe('adversary: tricks with the start of a window', () => {
  it('refuses clock times and dates that do not exist rather than rolling them over', () => {
    expect(startOf('25:00')).toBe('start_malformed');
    expect(startOf('24:00')).toBe('start_malformed');
    expect(startOf('12:60')).toBe('start_malformed');
    expect(startOf('2026-02-30 10:00')).toBe('start_malformed');
    expect(startOf('2026-13-01T10:00Z')).toBe('start_malformed');
  });

  it('a start inside the DST gap lands after it, and the window still lasts exactly the approved duration', () => {
    const start = startOf('2026-03-29 02:30');
    expect(start).toBe(Date.parse('2026-03-29T01:30:00Z')); // 03:30 summer time: the hour that does not exist is skipped
    expect(windowEnd({ startsAt: start as number, durationMs: 2 * H })).toBe((start as number) + 2 * H);
  });

  it('an odd offset moves only the start; the tier maximum and max_schedule_ahead still hold', () => {
    const far = startOf('2026-03-28T12:00-99:99') as number; // offset of 100 h 39 m behind: four days ahead
    const decideAt = (startsAt: number, duration: number) => decide(policy, { resource: 'sandbox', duration, reason: 'x', startsAt }, facts, now).kind;
    expect(decideAt(far, 8 * H)).toBe('auto_approve');
    expect(decideAt(far, 9 * H)).toBe('refuse'); // sandbox's tier maximum is 8h, wherever the start lands
    expect(decide(policy, { resource: 'sandbox', duration: H, reason: 'x', startsAt: now.getTime() + 8 * 24 * H }, facts, now)).toMatchObject({ kind: 'refuse', error: { code: 'start_too_far' } });
  });
});
