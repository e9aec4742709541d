// Which policy groups a person is in right now: fixed user lists, plus Slack user groups via the Directory.
import { outsiderOf, type Facts } from '../policy/decide.ts';
import type { Policy } from '../policy/schema.ts';
import { leadsOf } from '../policy/teams.ts';
import type { ApproverFacts } from './lifecycle.ts';
import type { GrantKeeperDeps } from './grant-model.ts';
import type { Directory, Standing } from './ports.ts';
import type { StorePort } from './store-port.ts';

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

/** The teams a person is in right now, as member or lead: fixed lists, plus a team's Slack user group via the Directory. */
export async function teamsOf(policy: Policy, user: string, directory: Directory): Promise<Set<string>> {
  const entries = await Promise.all(
    Object.entries(policy.teams).map(async ([name, team]) => {
      if (team.leads.includes(user) || team.members?.includes(user)) return name;
      if (team.slack_usergroup === undefined) return null;
      const members = await directory.usergroupMembers(team.slack_usergroup);
      return members?.includes(user) ? name : null;
    }),
  );
  return new Set(entries.filter((name): name is string => name !== null));
}

export function isAdmin(policy: Policy, groups: ReadonlySet<string>): boolean {
  return policy.settings.admins !== undefined && groups.has(policy.settings.admins);
}

/** A person as the policy sees them now: their groups, their teams, their place in Slack (guest, other workspace) and whether an admin blocked them. */
async function personFacts(policy: Policy, user: string, directory: Directory, store?: StorePort): Promise<{ groups: Set<string>; teams: Set<string>; user: string; standing: Standing; blocked: boolean }> {
  const [groups, teams, standing, blocked] = await Promise.all([groupsOf(policy, user, directory), teamsOf(policy, user, directory), directory.standing(user), store?.isBlocked(user) ?? false]);
  return { groups, teams, user, standing, blocked };
}

/** A requester as the policy sees them now: who they are (personFacts), and which of their leads an admin blocked (team-lead routing). */
export async function requesterFacts(
  policy: Policy,
  user: string,
  directory: Directory,
  store?: StorePort,
): Promise<{ groups: Set<string>; teams: Set<string>; user: string; standing: Standing; blocked: boolean; blockedLeads: Set<string> }> {
  const facts = await personFacts(policy, user, directory, store);
  return { ...facts, blockedLeads: await blockedLeadsOf(policy, facts.teams, store) };
}

/** The leads of these teams whom an admin has blocked; none asked for when the person is in no team. */
export async function blockedLeadsOf(policy: Policy, teams: ReadonlySet<string>, store: Pick<StorePort, 'blockedAmong'> | undefined): Promise<Set<string>> {
  const leads = teams.size === 0 ? [] : leadsOf(policy, teams);
  return leads.length === 0 || store === undefined ? new Set() : store.blockedAmong(leads);
}

export async function approverFacts(policy: Policy, user: string, directory: Directory, store?: StorePort): Promise<ApproverFacts> {
  // Only who they are: an approver's own leads play no part in what they may decide.
  const { groups, standing, blocked } = await personFacts(policy, user, directory, store);
  const outsider = outsiderOf(policy, standing);
  // An outsider holds no group's powers, even where a Slack user group lists them; nor does a blocked (perhaps stolen) account.
  const powers = outsider === null && !blocked;
  return { user, groups: powers ? groups : new Set(), isAdmin: powers && isAdmin(policy, groups), outsider, blocked };
}

const HOUR_MS = 3_600_000;

/** Everything the policy looks at for one request: the requester, and for break-glass the channel and recent uses. */
export async function decisionFacts(deps: Pick<GrantKeeperDeps, 'policy' | 'directory' | 'store' | 'clock'>, input: { requester: string; breakglass?: boolean | undefined; channelId?: string | null | undefined }): Promise<Facts> {
  const now = deps.clock.now();
  const channelName = input.breakglass && input.channelId ? await deps.directory.channelName(input.channelId, { fresh: true }) : null;
  const breakglassUsesLastHour = input.breakglass ? await deps.store.breakglassGrantsSince(input.requester, now.getTime() - HOUR_MS) : 0;
  return { ...(await requesterFacts(deps.policy().policy, input.requester, deps.directory, deps.store)), channelName, breakglassUsesLastHour };
}
