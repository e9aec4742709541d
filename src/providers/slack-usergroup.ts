// The `slack_usergroup` provider: adds the requester to a Slack user group for the window, keeping everyone else.
import { z } from 'zod';
import { KeyedQueue } from '../core/keyed-queue.ts';
import type { GrantSubject } from '../core/ports.ts';
import { usergroupIdSchema } from '../policy/fields.ts';
import { defineProvider, type UsergroupApi } from './provider-module.ts';

const schema = z.object({ type: z.literal('slack_usergroup'), usergroup: usergroupIdSchema }).strict();

/** What a grant remembers: whether the user was in the group before, so the revoke leaves standing members alone. */
const stateSchema = z.object({ standing: z.boolean() });

/**
 * Slack only offers "replace the member list", so a read-modify-write per change; changes to one group are
 * queued one after another in this process, or two grants for different people would drop each other's user.
 */
const queue = new KeyedQueue();
const serialized = <T>(usergroup: string, change: () => Promise<T>): Promise<T> => queue.run(usergroup, change);

const wasStanding = (subject: GrantSubject): boolean => stateSchema.safeParse(subject.providerState).data?.standing === true;

function createUsergroupProvider(usergroup: string, api: UsergroupApi) {
  return {
    /** One membership per person and group, however many grants give it: the core counts them and revokes at the last end. */
    accessKey: (subject: Pick<GrantSubject, 'user'>) => `slack_usergroup:${usergroup}:${subject.user.slackId}`,
    grant: (subject: GrantSubject) =>
      serialized(usergroup, async () => {
        const members = await api.members(usergroup);
        const standing = members.includes(subject.user.slackId);
        if (!standing) await api.setMembers(usergroup, [...members, subject.user.slackId]);
        return { state: { standing } };
      }),
    revoke: (subject: GrantSubject) =>
      serialized(usergroup, async () => {
        // Without a record (a grant interrupted before it was stored) removal is the safe side.
        if (wasStanding(subject)) return;
        const members = await api.members(usergroup);
        if (members.includes(subject.user.slackId)) await api.setMembers(usergroup, members.filter((m) => m !== subject.user.slackId));
      }),
    /** "Present" means the membership this grant added is still there; a standing member's is not the grant's. */
    check: (subject: GrantSubject) =>
      serialized(usergroup, async () =>
        !wasStanding(subject) && (await api.members(usergroup)).includes(subject.user.slackId) ? ('present' as const) : ('absent' as const),
      ),
  };
}

export const slackUsergroupProvider = defineProvider({
  schema,
  create: (config, { usergroups }) => createUsergroupProvider(config.usergroup, usergroups),
});
