// The core's Directory port over the Slack Web API, with a short-lived cache so busy approvals stay fast.
import type { WebClient } from '@slack/web-api';
import type { Directory } from '../core/ports.ts';
import type { SlackCall } from './slack-api.ts';

/** How long group membership and channel names are trusted; leaving a group takes effect within this. */
export const DIRECTORY_TTL_MS = 60_000;

export function createSlackDirectory(client: WebClient, call: SlackCall, now: () => number = Date.now, ttlMs = DIRECTORY_TTL_MS): Directory {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = load();
    cache.set(key, { at: now(), value });
    // A failed look-up is not remembered: the next caller asks Slack again.
    value.then((v) => v === null && cache.delete(key), () => cache.delete(key));
    return value;
  };

  return {
    usergroupMembers: (usergroup) =>
      cached(`usergroup:${usergroup}`, async () => {
        try {
          const res = await call('usergroups.users.list', () => client.usergroups.users.list({ usergroup }));
          return res.users ?? [];
        } catch {
          return null;
        }
      }),
    channelName: (channel) =>
      cached(`channel:${channel}`, async () => {
        try {
          const res = await call('conversations.info', () => client.conversations.info({ channel }));
          const info = res.channel;
          if (!info || info.is_im || info.is_mpim) return null;
          return info.name ?? null;
        } catch {
          return null;
        }
      }),
    userEmail: (user) =>
      cached(`email:${user}`, async () => {
        try {
          const res = await call('users.info', () => client.users.info({ user }));
          return res.user?.profile?.email ?? null;
        } catch {
          return null;
        }
      }),
  };
}
