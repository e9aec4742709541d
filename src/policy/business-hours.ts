// Whether an instant falls inside business hours in the policy's time zone (DST included, via Intl).
import type { BusinessHours, Weekday } from './schema.ts';

export interface LocalTime {
  day: Weekday;
  minutes: number;
  /** e.g. "Mon 09:30 Europe/Berlin", for explanations. */
  label: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function localTime(now: Date, timeZone: string): LocalTime {
  const parts = Object.fromEntries(formatterFor(timeZone).formatToParts(now).map((p) => [p.type, p.value]));
  const weekday = String(parts.weekday);
  const hour = Number(parts.hour);
  const minute = Number(parts.minute);
  return {
    day: weekday.toLowerCase().slice(0, 3) as Weekday,
    minutes: hour * 60 + minute,
    label: `${weekday} ${parts.hour}:${parts.minute} ${timeZone}`,
  };
}

const toMinutes = (clock: string): number => {
  const [h, m] = clock.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** `from` is inclusive and `to` exclusive: with 09:00–18:00, 17:59 is inside and 18:00 is not. */
export function isWithinBusinessHours(hours: BusinessHours, local: LocalTime): boolean {
  return hours.days.includes(local.day) && local.minutes >= toMinutes(hours.from) && local.minutes < toMinutes(hours.to);
}

export function describeBusinessHours(hours: BusinessHours): string {
  return `${hours.days.join('/')} ${hours.from}–${hours.to}`;
}
