// `at …` in /access request: what is read from the words, and which instant that is in a time zone (DST included).
import { describe, expect, it } from 'vitest';
import { parseAccessCommand } from '../../src/slack/command-parser.ts';
import { explain } from '../../src/slack/messages.ts';
import { parseStart, resolveStart, type StartSpec } from '../../src/slack/start-time.ts';

const ROLES: Record<string, string[]> = { 'prod-db': ['read', 'write'], sandbox: ['admin'] };
const parse = (text: string) => parseAccessCommand(text, (r) => ROLES[r]);
const H = 3_600_000;
const spec = (words: string): StartSpec => {
  const parsed = parseStart(words.split(' '));
  if (!parsed.ok) throw new Error(`unreadable: ${words}`);
  return parsed.value.spec;
};

describe('/access request … at <start>', () => {
  it('takes the start after the duration and leaves the rest as the reason', () => {
    expect(parse('request prod-db read 2h at 14:00 CHG-881 planned migration')).toEqual({
      ok: true,
      value: { kind: 'request', resource: 'prod-db', role: 'read', duration: 2 * H, start: { kind: 'clock', day: 'next', hour: 14, minute: 0 }, reason: 'CHG-881 planned migration' },
    });
    expect(parse('request prod-db read at tomorrow 09:00 CHG-1')).toMatchObject({ ok: true, value: { duration: undefined, start: { kind: 'clock', day: 'tomorrow', hour: 9, minute: 0 }, reason: 'CHG-1' } });
    expect(parse('request sandbox 1h at 2026-12-03 14:30 CHG-2')).toMatchObject({ ok: true, value: { start: { kind: 'local', year: 2026, month: 12, day: 3, hour: 14, minute: 30, second: 0 }, reason: 'CHG-2' } });
    expect(parse('request sandbox 1h at 2026-12-03T14:30:05Z CHG-2')).toMatchObject({ ok: true, value: { start: { kind: 'instant', ms: Date.parse('2026-12-03T14:30:05Z') }, reason: 'CHG-2' } });
    expect(parse('explain prod-db write 1h at 20:00')).toMatchObject({ ok: true, value: { kind: 'explain', start: { kind: 'clock', hour: 20 } } });
  });

  it('keeps "at" that begins no time as part of the reason', () => {
    expect(parse('request sandbox 1h at customer request')).toEqual({ ok: true, value: { kind: 'request', resource: 'sandbox', role: undefined, duration: H, reason: 'at customer request' } });
  });

  it.each(['at 25:00 x', 'at 14 x', 'at tomorrow noon', 'at 2026-02-30T10:00Z', 'at 2026-12-03T10:00+5'])('refuses %j with a sentence showing the forms that work', (words) => {
    const parsed = parse(`request sandbox 1h ${words}`);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe('start_malformed');
    expect(explain(parsed.error)).toMatch(/is not a start time I can read; write it like `at 14:00`, `at tomorrow 09:00`/);
  });
});

describe('resolveStart', () => {
  const now = new Date('2026-11-23T09:00:00Z'); // 10:00 in Berlin, 04:00 in New York

  it('reads a clock time as the next one in the time zone: today while ahead, else tomorrow', () => {
    expect(resolveStart(spec('14:00'), now, 'Europe/Berlin')).toBe(Date.parse('2026-11-23T13:00:00Z'));
    expect(resolveStart(spec('09:30'), now, 'Europe/Berlin')).toBe(Date.parse('2026-11-24T08:30:00Z'));
    expect(resolveStart(spec('09:30'), now, 'America/New_York')).toBe(Date.parse('2026-11-23T14:30:00Z'));
    expect(resolveStart(spec('tomorrow 09:00'), now, 'UTC')).toBe(Date.parse('2026-11-24T09:00:00Z'));
  });

  it('keeps "today" in the past, for the policy to refuse, rather than moving it to tomorrow', () => {
    expect(resolveStart(spec('today 08:00'), now, 'Europe/Berlin')).toBe(Date.parse('2026-11-23T07:00:00Z'));
  });

  it('rolls tomorrow over a month end and follows daylight saving', () => {
    expect(resolveStart(spec('tomorrow 09:00'), new Date('2026-11-30T12:00:00Z'), 'UTC')).toBe(Date.parse('2026-12-01T09:00:00Z'));
    // Berlin moves to summer time on 2026-03-29: 09:00 is 08:00Z the day before and 07:00Z that day.
    expect(resolveStart(spec('tomorrow 09:00'), new Date('2026-03-28T12:00:00Z'), 'Europe/Berlin')).toBe(Date.parse('2026-03-29T07:00:00Z'));
    expect(resolveStart(spec('2026-03-28 09:00'), now, 'Europe/Berlin')).toBe(Date.parse('2026-03-28T08:00:00Z'));
  });

  it('takes an ISO time with an offset as that instant, whatever the time zone', () => {
    expect(resolveStart(spec('2026-12-03T14:00+01:00'), now, 'America/New_York')).toBe(Date.parse('2026-12-03T13:00:00Z'));
  });
});
