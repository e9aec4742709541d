// The start of a scheduled window as typed (`at 14:00`, `at tomorrow 09:00`, `at 2026-12-03T14:00Z`): parsed, then placed in a time zone.
import { err, ok, type Result } from '../core/result.ts';

/** What was typed after `at`, before a time zone gives it an instant. */
export type StartSpec =
  /** A clock time: `next` is today if still ahead, else tomorrow. */
  | { kind: 'clock'; day: 'next' | 'today' | 'tomorrow'; hour: number; minute: number }
  /** A date and time without an offset, read in the time zone. */
  | { kind: 'local'; year: number; month: number; day: number; hour: number; minute: number; second: number }
  /** An ISO time with `Z` or an offset: the same instant in every time zone. */
  | { kind: 'instant'; ms: number };

export type StartError = { code: 'start_malformed'; input: string };

/** The forms a start may take, for error messages and help. */
export const START_FORMS = '`at 14:00`, `at tomorrow 09:00`, `at 2026-12-03 14:00` or `at 2026-12-03T14:00Z`';

const CLOCK = /^([01]?\d|2[0-3]):([0-5]\d)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Whether the word after `at` begins a start (a digit, `today` or `tomorrow`); otherwise `at` is just part of the reason. */
export const looksLikeStart = (word: string | undefined): boolean => word !== undefined && /^(\d|today$|tomorrow$)/i.test(word);

/**
 * Reads a start from the words after `at`; `used` says how many words it took (one or two). The words are
 * one of the START_FORMS; anything else is an error naming what was typed.
 */
export function parseStart(words: readonly string[]): Result<{ spec: StartSpec; used: number }, StartError> {
  const [first = '', second] = words;
  const malformed = (input: string) => err({ code: 'start_malformed' as const, input });
  const day = first.toLowerCase();
  if (day === 'today' || day === 'tomorrow') {
    const clock = CLOCK.exec(second ?? '');
    if (!clock) return malformed(`${first} ${second ?? ''}`.trim());
    return ok({ spec: { kind: 'clock', day, hour: Number(clock[1]), minute: Number(clock[2]) }, used: 2 });
  }
  const clock = CLOCK.exec(first);
  if (clock) return ok({ spec: { kind: 'clock', day: 'next', hour: Number(clock[1]), minute: Number(clock[2]) }, used: 1 });
  const joined = DATE.test(first) && second !== undefined && /^\d/.test(second) ? { text: `${first} ${second}`, used: 2 } : { text: first, used: 1 };
  const m = DATE_TIME.exec(joined.text);
  if (!m) return malformed(joined.text);
  const [year, month, dayOfMonth, hour, minute, second_ = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  const local = { year: year as number, month: month as number, day: dayOfMonth as number, hour: hour as number, minute: minute as number, second: Number.isNaN(second_) ? 0 : second_ };
  // Refused rather than rolled over: 2026-02-30 is a typo, not 2 March.
  const probe = new Date(Date.UTC(local.year, local.month - 1, local.day));
  if (probe.getUTCMonth() !== local.month - 1 || probe.getUTCDate() !== local.day) return malformed(joined.text);
  const offset = m[7];
  if (offset === undefined) return ok({ spec: { kind: 'local', ...local }, used: joined.used });
  const ms = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second) - offsetMs(offset);
  return ok({ spec: { kind: 'instant', ms }, used: joined.used });
}

function offsetMs(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const sign = offset.startsWith('-') ? -1 : 1;
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}

/** Whether Intl knows this IANA time zone name. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date and time at `ms` in `timeZone`. */
function wallClock(ms: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(new Date(ms)).map((p) => [p.type, Number(p.value)]));
  return { year: parts.year ?? 0, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

/** How far `timeZone` is ahead of UTC at `ms`. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time names in `timeZone`. Across a daylight-saving change the offset is taken again at
 * the first guess, so a time that exists is found exactly; one skipped by the change lands an hour later.
 */
export function zonedInstant(local: { year: number; month: number; day: number; hour: number; minute: number; second: number }, timeZone: string): number {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  const first = asUtc - zoneOffsetMs(asUtc, timeZone);
  return asUtc - zoneOffsetMs(first, timeZone);
}

/** The instant a start names, read in `timeZone` at `now`. A start in the past is returned as is: the policy refuses it. */
export function resolveStart(spec: StartSpec, now: Date, timeZone: string): number {
  if (spec.kind === 'instant') return spec.ms;
  if (spec.kind === 'local') return zonedInstant(spec, timeZone);
  const today = wallClock(now.getTime(), timeZone);
  const on = (plusDays: number) => {
    // Date.UTC rolls day 32 into the next month, so "tomorrow" works on the last day of a month.
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + plusDays));
    return zonedInstant({ year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: spec.hour, minute: spec.minute, second: 0 }, timeZone);
  };
  if (spec.day === 'tomorrow') return on(1);
  const todayAt = on(0);
  return spec.day === 'today' || todayAt > now.getTime() ? todayAt : on(1);
}
