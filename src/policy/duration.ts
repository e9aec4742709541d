// Durations as people type them ("90s", "30m", "2h", "1d", "1h30m", "1hour", "90min", "1.5h") to and from milliseconds.
import { err, ok, type Result } from '../core/result.ts';

export type Ms = number;

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** The spellings people use for each unit; `m` is minutes (nobody asks for access by the month). */
const UNIT_WORDS: Record<string, Unit> = {
  d: 'd', day: 'd', days: 'd',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
};
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's'];

/** The longest duration Sesame accepts anywhere: a year. Longer is almost certainly a typo. */
export const MAX_DURATION_MS: Ms = 365 * UNIT_MS.d;

/** What every duration error shows, so a person sees the forms that work. */
export const DURATION_FORMS = '90s, 30m, 2h, 1d, 1h30m, 1.5h, 90min or 2hours';

const PART = /(\d+(?:\.\d+)?)([a-z]+)/gy;

export type DurationError =
  | { code: 'duration_malformed'; input: string }
  | { code: 'duration_zero'; input: string }
  | { code: 'duration_too_large'; input: string; max: Ms };

/**
 * True when a word in a command is meant as a duration: it starts with a digit. Such a word is read as one or
 * refused, never taken silently as the start of the reason ("1hour testing" must not become a 2h default).
 */
export function looksLikeDuration(word: string): boolean {
  return /^\d/.test(word);
}

export function parseDuration(input: string): Result<Ms, DurationError> {
  const text = input.trim().toLowerCase();
  const malformed = err({ code: 'duration_malformed' as const, input });
  if (text === '') return malformed;
  PART.lastIndex = 0;
  let total = 0;
  let lastUnit = -1;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    const unit = UNIT_WORDS[match[2] ?? ''];
    const order = unit === undefined ? -1 : UNIT_ORDER.indexOf(unit);
    // Largest unit first and each once ("1h30m", not "30m1h" or "1h1h"), as people write them.
    if (unit === undefined || order <= lastUnit) return malformed;
    lastUnit = order;
    total += Math.round(Number(match[1]) * UNIT_MS[unit]);
    if (PART.lastIndex === text.length) break;
  }
  if (PART.lastIndex !== text.length) return malformed;
  if (!Number.isSafeInteger(total) || total > MAX_DURATION_MS) {
    return err({ code: 'duration_too_large', input, max: MAX_DURATION_MS });
  }
  // Fractions are for hours and minutes ("1.5h"); a result that is not whole seconds was not meant.
  if (total % 1000 !== 0) return malformed;
  if (total === 0) return err({ code: 'duration_zero', input });
  return ok(total);
}

export function describeDurationError(e: DurationError): string {
  switch (e.code) {
    case 'duration_malformed':
      return `"${e.input}" is not a duration; write it like ${DURATION_FORMS}.`;
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
  for (const unit of UNIT_ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out || '0s';
}
