// Which policy groups a person is in right now: fixed user lists, plus Slack user groups via the Directory.
import type { Policy } from '../policy/schema.ts';
import type { Directory } from './ports.ts';

export async function groupsOf(policy: Policy, user: string, directory: Directory): Promise<Set<string>> {
  const entries = await Promise.all(
    Object.entries(policy.groups).map(async ([name, group]) => {
      if (group.users?.includes(user)) return name;
      if (group.slack_usergroup === undefined) return null;
      const members = await directory.usergroupMembers(group.slack_usergroup);
      return members?.includes(user) ? name : null;
    }),
  );
  return new Set(entries.filter((name): name is string => name !== null));
}

export function isAdmin(policy: Policy, groups: ReadonlySet<string>): boolean {
  return policy.settings.admins !== undefined && groups.has(policy.settings.admins);
}
