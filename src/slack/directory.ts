// The core's Directory port over the Slack Web API, with a short-lived cache so busy approvals stay fast.
import type { WebClient } from '@slack/web-api';
import type { Directory } from '../core/ports.ts';
import { isPlatformAnswer, SlackUnavailableError, type SlackCall } from './slack-api.ts';

/** How long group membership and channel names are trusted; leaving a group takes effect within this. */
export const DIRECTORY_TTL_MS = 60_000;

/**
 * Look-ups remembered at most; beyond it the least recently fetched is forgotten, and expired ones go with the next
 * look-up. Before, a workspace's every user, channel and group stayed in memory for the life of the process.
 */
export const DIRECTORY_MAX_ENTRIES = 10_000;

export function createSlackDirectory(client: WebClient, call: SlackCall, now: () => number = Date.now, ttlMs = DIRECTORY_TTL_MS, maxEntries = DIRECTORY_MAX_ENTRIES): Directory {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, load: () => Promise<T>, fresh = false): Promise<T> => {
    const hit = cache.get(key);
    if (hit && !fresh && now() - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = load();
    // Deleted first so the Map's order is the order of fetching: the first key is always the one to forget.
    cache.delete(key);
    cache.set(key, { at: now(), value });
    // Oldest first: what has expired, and then what is over the limit, goes (a quiet hour leaves nothing behind).
    for (const [oldKey, entry] of cache) {
      if (cache.size <= maxEntries && now() - entry.at < ttlMs) break;
      cache.delete(oldKey);
    }
    // A failed look-up is not remembered: the next caller asks Slack again. Only this one's entry goes: a fresh
    // look-up that replaced it meanwhile stays.
    const forget = () => cache.get(key)?.value === value && cache.delete(key);
    value.then((v) => v === null && forget(), forget);
    return value;
  };

  /** Slack's "no such thing" becomes null; an outage throws, because guessing "not a member" would mislead. */
  const lookUp = async <T>(method: string, request: () => Promise<T>): Promise<T | null> => {
    try {
      return await call(method, request);
    } catch (error) {
      if (isPlatformAnswer(error)) return null;
      throw new SlackUnavailableError(method, { cause: error });
    }
  };

  // Only what Sesame reads is kept: Slack's user object (profile, image URLs, custom fields) is kilobytes, times thousands.
  const userInfo = (user: string) =>
    cached(`user:${user}`, async () => {
      const found = (await lookUp('users.info', () => client.users.info({ user })))?.user;
      return found ? { email: found.profile?.email ?? null, guest: found.is_restricted === true || found.is_ultra_restricted === true, teamId: found.team_id ?? null } : null;
    });
  // The workspace the app is installed in; anyone whose team_id differs came in over Slack Connect.
  const homeTeam = () => cached('team', async () => (await lookUp('auth.test', () => client.auth.test()))?.team_id ?? null);

  return {
    usergroupMembers: (usergroup) =>
      cached(`usergroup:${usergroup}`, async () => (await lookUp('usergroups.users.list', () => client.usergroups.users.list({ usergroup })))?.users ?? null),
    channelName: (channel, options) =>
      cached(
        `channel:${channel}`,
        async () => {
          const info = (await lookUp('conversations.info', () => client.conversations.info({ channel })))?.channel;
          // DMs and group DMs have no name; break-glass never matches them.
          return !info || info.is_im || info.is_mpim ? null : (info.name ?? null);
        },
        options?.fresh,
      ),
    // Always fresh: an archived incident channel must end its break-glass grants on the next sweep.
    channelArchived: async (channel) => {
      const info = (await lookUp('conversations.info', () => client.conversations.info({ channel })))?.channel;
      return info ? info.is_archived === true : null;
    },
    // The email only decorates provider payloads; an outage there must not block a grant.
    userEmail: (user) => userInfo(user).then((u) => u?.email ?? null, () => null),
    standing: async (user) => {
      const [info, team] = await Promise.all([userInfo(user), homeTeam()]);
      if (info === null) return 'external'; // Slack does not know them here: never treat that as a member
      if (info.guest) return 'guest';
      return team !== null && info.teamId === team ? 'member' : 'external';
    },
  };
}
