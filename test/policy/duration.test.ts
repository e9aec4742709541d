// Duration parsing and formatting.
import { describe, expect, it } from 'vitest';
import { describeDurationError, formatDuration, looksLikeDuration, parseDuration } from '../../src/policy/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s', 93_784_000],
    [' 2H ', 7_200_000],
    ['365d', 365 * 86_400_000],
    ['1hour', 3_600_000],
    ['2hours', 7_200_000],
    ['90min', 5_400_000],
    ['45mins', 2_700_000],
    ['1.5h', 5_400_000],
    ['1.1h', 3_960_000],
    ['1hr', 3_600_000],
    ['2d', 172_800_000],
    ['3days', 259_200_000],
    ['1hour30minutes', 5_400_000],
    ['0.5m', 30_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it.each([
    ['0m', 'duration_zero'],
    ['0h0m', 'duration_zero'],
    ['-1h', 'duration_malformed'],
    ['5x', 'duration_malformed'],
    ['', 'duration_malformed'],
    ['h', 'duration_malformed'],
    ['0.5s', 'duration_malformed'],
    ['1.5', 'duration_malformed'],
    ['500', 'duration_malformed'],
    ['1hourly', 'duration_malformed'],
    ['1h1h', 'duration_malformed'],
    ['2months', 'duration_malformed'],
    ['30m1h', 'duration_malformed'],
    ['1 h', 'duration_malformed'],
    ['99999d', 'duration_too_large'],
    ['366d', 'duration_too_large'],
    ['99999999999999999999d', 'duration_too_large'],
  ])('refuses %j with %s', (text, code) => {
    const result = parseDuration(text);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe(code);
  });

  it('explains a refusal with an example of what to type', () => {
    const result = parseDuration('5x');
    expect(result.error && describeDurationError(result.error)).toBe('"5x" is not a duration; write it like 90s, 30m, 2h, 1d, 1h30m, 1.5h, 90min or 2hours.');
  });
});

describe('formatDuration', () => {
  it.each([
    [5_400_000, '1h30m'],
    [86_400_000, '1d'],
    [90_000, '1m30s'],
    [0, '0s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const text of ['1d2h', '45m', '1h30m', '3h', '10s']) expect(formatDuration(parseDuration(text).value ?? 0)).toBe(text);
  });
});

describe('looksLikeDuration', () => {
  it('tells a duration-shaped word from a reason word', () => {
    expect(looksLikeDuration('2h')).toBe(true);
    expect(looksLikeDuration('0m')).toBe(true);
    expect(looksLikeDuration('INC-42')).toBe(false);
    expect(looksLikeDuration('debugging')).toBe(false);
    // A word starting with a digit is meant as a duration, so a typo is refused instead of joining the reason.
    expect(looksLikeDuration('1hour')).toBe(true);
    expect(looksLikeDuration('500')).toBe(true);
  });
});
