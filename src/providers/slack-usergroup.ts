// The `slack_usergroup` provider: adds the requester to a Slack user group for the window, keeping everyone else.
import { z } from 'zod';
import type { GrantSubject } from '../core/ports.ts';
import { errorText, failed, passed } from '../doctor/finding.ts';
import { usergroupIdSchema } from '../policy/fields.ts';
import { defineProvider, type UsergroupApi } from './provider-module.ts';

const schema = z.object({ type: z.literal('slack_usergroup'), usergroup: usergroupIdSchema }).strict();

/** What a grant remembers: whether the user was in the group before, so the revoke leaves standing members alone. */
const stateSchema = z.object({ standing: z.boolean() });

/**
 * Slack only offers "replace the member list", so a read-modify-write per change; changes to one group are
 * queued one after another in this process, or two overlapping grants would drop each other's user.
 */
const queues = new Map<string, Promise<unknown>>();
function serialized<T>(usergroup: string, change: () => Promise<T>): Promise<T> {
  const previous = queues.get(usergroup) ?? Promise.resolve();
  const next = previous.then(change, change);
  const settled = next.catch(() => undefined);
  queues.set(usergroup, settled);
  void settled.then(() => queues.get(usergroup) === settled && queues.delete(usergroup));
  return next;
}

const wasStanding = (subject: GrantSubject): boolean => stateSchema.safeParse(subject.providerState).data?.standing === true;

function createUsergroupProvider(usergroup: string, api: UsergroupApi) {
  return {
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
