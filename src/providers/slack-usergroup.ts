// The `slack_usergroup` provider: adds the requester to a Slack user group for the window, keeping everyone else.
import { z } from 'zod';
import { KeyedQueue } from '../core/keyed-queue.ts';
import type { GrantSubject, KeyedSerializer } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { errorText, failed, passed } from '../doctor/finding.ts';
import { usergroupIdSchema } from '../policy/fields.ts';
import { defineProvider, type UsergroupApi } from './provider-module.ts';

const schema = z.object({ type: z.literal('slack_usergroup'), usergroup: usergroupIdSchema }).strict();

/** What a grant remembers: whether the user was in the group before, so the revoke leaves standing members alone. */
const stateSchema = z.object({ standing: z.boolean() });

/**
 * How long one change may hold its group's queue. Below the provider call deadline, so the caller hears this
 * sentence; the Slack client's own timeout normally ends a change well before.
 */
export const USERGROUP_CHANGE_DEADLINE_MS = 25_000;

/**
 * Slack only offers "replace the member list", so a read-modify-write per change; changes to one group are
 * queued one after another (across replicas when `queue` is Redis's), or two overlapping grants would drop each
 * other's user. A change that overruns its deadline fails and frees the queue; its `signal` is aborted so it writes
 * nothing late (as it is when the queue's lock is lost).
 */
const processQueue = new KeyedQueue();
function serialized<T>(queue: KeyedSerializer, usergroup: string, deadlineMs: number, change: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const bounded = (held: AbortSignal) =>
    new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const timer = setTimeout(() => {
        controller.abort();
        reject(new ProviderError(`changing Slack user group ${usergroup} took longer than ${deadlineMs / 1000} s; it will be tried again`, true));
      }, deadlineMs);
      change(AbortSignal.any([controller.signal, held]))
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  return queue.run(`slack_usergroup_members:${usergroup}`, bounded);
}

/** Refuses to write once the change's deadline passed: a later change may already have read the group. */
function writable(signal: AbortSignal, usergroup: string): void {
  if (signal.aborted) throw new ProviderError(`changing Slack user group ${usergroup} was abandoned after its deadline`, true);
}

const wasStanding = (subject: GrantSubject): boolean => stateSchema.safeParse(subject.providerState).data?.standing === true;

export function createUsergroupProvider(usergroup: string, api: UsergroupApi, deadlineMs: number = USERGROUP_CHANGE_DEADLINE_MS, queue: KeyedSerializer = processQueue) {
  return {
    /** One membership per person and group, however many grants give it: the core counts them and revokes at the last end. */
    accessKey: (subject: Pick<GrantSubject, 'user'>) => `slack_usergroup:${usergroup}:${subject.user.slackId}`,
    grant: (subject: GrantSubject) =>
      serialized(queue, usergroup, deadlineMs, async (signal) => {
        const members = await api.members(usergroup);
        const standing = members.includes(subject.user.slackId);
        writable(signal, usergroup);
        if (!standing) await api.setMembers(usergroup, [...members, subject.user.slackId]);
        return { state: { standing } };
      }),
    revoke: (subject: GrantSubject) =>
      serialized(queue, usergroup, deadlineMs, async (signal) => {
        // Without a record (a grant interrupted before it was stored) removal is the safe side.
        if (wasStanding(subject)) return;
        const members = await api.members(usergroup);
        writable(signal, usergroup);
        if (members.includes(subject.user.slackId)) await api.setMembers(usergroup, members.filter((m) => m !== subject.user.slackId));
      }),
    /** "Present" means the membership this grant added is still there; a standing member's is not the grant's. */
    check: (subject: GrantSubject) =>
      serialized(queue, usergroup, deadlineMs, async () =>
        !wasStanding(subject) && (await api.members(usergroup)).includes(subject.user.slackId) ? ('present' as const) : ('absent' as const),
      ),
  };
}

export const slackUsergroupProvider = defineProvider({
  schema,
  create: (config, { usergroups, serializer }) => createUsergroupProvider(config.usergroup, usergroups, USERGROUP_CHANGE_DEADLINE_MS, serializer),
  async doctor(config, { usergroupIds }) {
    try {
      return (await usergroupIds()).has(config.usergroup)
        ? [passed(`Slack user group ${config.usergroup} exists`)]
        : [failed(`Slack user group ${config.usergroup} does not exist in this workspace`, 'fix provider.usergroup (the ID in the group\'s link, S…)')];
    } catch (error) {
      return [failed(`Slack user group ${config.usergroup} ${errorText(error)}`)];
    }
  },
});
