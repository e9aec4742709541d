// Durations as people type them ("90s", "30m", "2h", "1d", "1h30m") to and from milliseconds.
import { err, ok, type Result } from '../core/result.ts';

export type Ms = number;

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** The longest duration Sesame accepts anywhere: a year. Longer is almost certainly a typo. */
export const MAX_DURATION_MS: Ms = 365 * UNIT_MS.d;

const DURATION_SHAPE = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

export type DurationError =
  | { code: 'duration_malformed'; input: string }
  | { code: 'duration_zero'; input: string }
  | { code: 'duration_too_large'; input: string; max: Ms };

/** True when the word has the shape of a duration, even if its value is out of range ("0m"). */
export function looksLikeDuration(word: string): boolean {
  return word.length > 0 && DURATION_SHAPE.test(word.toLowerCase());
}

export function parseDuration(input: string): Result<Ms, DurationError> {
  const text = input.trim().toLowerCase();
  const match = text === '' ? null : DURATION_SHAPE.exec(text);
  if (!match) return err({ code: 'duration_malformed', input });
  const units: Unit[] = ['d', 'h', 'm', 's'];
  let total = 0;
  units.forEach((unit, i) => {
    const digits = match[i + 1];
    if (digits !== undefined) total += Number(digits) * UNIT_MS[unit];
  });
  if (total === 0) return err({ code: 'duration_zero', input });
  if (!Number.isSafeInteger(total) || total > MAX_DURATION_MS) {
    return err({ code: 'duration_too_large', input, max: MAX_DURATION_MS });
  }
  return ok(total);
}

export function describeDurationError(e: DurationError): string {
  switch (e.code) {
    case 'duration_malformed':
      return `"${e.input}" is not a duration; write it like 90s, 30m, 2h, 1d or 1h30m.`;
    case 'duration_zero':
      return `"${e.input}" is no time at all; give a duration longer than zero, like 30m.`;
    case 'duration_too_large':
      return `"${e.input}" is longer than Sesame allows anywhere (${formatDuration(e.max)}); ask for less.`;
  }
}

/** Shortest exact spelling: 5_400_000 → "1h30m". */
export function formatDuration(ms: Ms): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out || '0s';
}
