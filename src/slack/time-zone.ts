// Which time zone a person's `at 14:00` means: their Slack profile's, else the policy's settings.timezone.
import type { WebClient } from '@slack/web-api';
import type { Policy } from '../policy/schema.ts';
import { isTimeZone, resolveStart, type StartSpec } from './start-time.ts';

/** The person's Slack time zone (users.info `tz`); null when Slack does not say or cannot be asked. */
export async function slackTimeZone(client: WebClient, user: string): Promise<string | null> {
  try {
    const tz = (await client.users.info({ user })).user?.tz;
    return typeof tz === 'string' && isTimeZone(tz) ? tz : null;
  } catch {
    return null; // only the reading of a clock time depends on it; the policy's zone is a fair guess, and the reply names it
  }
}

/** A typed start as an instant, and the time zone it was read in (said back to the person; none for an ISO time with an offset). */
export async function placeStart(spec: StartSpec, client: WebClient, user: string, policy: Policy, now: Date = new Date()): Promise<{ startsAt: number; timeZone: string | undefined }> {
  if (spec.kind === 'instant') return { startsAt: spec.ms, timeZone: undefined };
  const timeZone = (await slackTimeZone(client, user)) ?? policy.settings.timezone;
  return { startsAt: resolveStart(spec, now, timeZone), timeZone };
}
