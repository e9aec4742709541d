// The playground's people, channels and user groups, and how the stand-in is filled from whichever policy runs.
import type { Policy } from '../policy/schema.ts';
import type { FakeSlack, Person } from './fake-slack.ts';

/** The people policies/playground.yaml names, with the names the page shows. */
export const PLAYGROUND_PEOPLE: Readonly<Record<string, Person>> = {
  U0ALICE: { name: 'alice', realName: 'Alice Adams', email: 'alice@example.com' },
  U0BOB: { name: 'bob', realName: 'Bob Brown', email: 'bob@example.com' },
  U0CAROL: { name: 'carol', realName: 'Carol Chen (on call)', email: 'carol@example.com' },
  U0DAN: { name: 'dan', realName: 'Dan Diaz (SRE lead)', email: 'dan@example.com' },
  U0ERIN: { name: 'erin', realName: 'Erin Evans (SRE lead)', email: 'erin@example.com' },
  U0FRANK: { name: 'frank', realName: 'Frank Fischer (security)', email: 'frank@example.com' },
};

export const GENERAL_CHANNEL = 'C0GENERAL';
export const INCIDENT_CHANNEL = 'C0INC42';

const CHANNEL_NAMES: Readonly<Record<string, string>> = {
  [GENERAL_CHANNEL]: 'general',
  C0APPROVALS: 'access-approvals',
  C0AUDIT: 'sesame-audit',
  [INCIDENT_CHANNEL]: 'inc-42-db-down',
};

const USERGROUPS: Readonly<Record<string, { handle: string; users: string[] }>> = {
  S0ONCALL: { handle: 'oncall', users: ['U0CAROL'] },
};

/** Handles of the user groups, for showing `<!subteam^S…>` as `@oncall`. */
export const usergroupHandle = (id: string): string => USERGROUPS[id]?.handle ?? id.toLowerCase();

/**
 * Fills the stand-in from the policy: every channel it names (plus #general and an incident channel), every
 * user group it names, and everyone in its groups, so any policy can be tried and everyone in it acted as.
 */
export function seedWorkspace(slack: FakeSlack, policy: Policy): void {
  const channels = [
    GENERAL_CHANNEL,
    policy.settings.approvals_channel,
    ...Object.values(policy.resources).flatMap((r) => (r.approvals_channel ? [r.approvals_channel] : [])),
    INCIDENT_CHANNEL,
    ...(policy.breakglass?.notify ?? []),
    ...(policy.settings.audit_channel ? [policy.settings.audit_channel] : []),
  ];
  for (const id of channels) if (!slack.channels.has(id)) slack.channels.set(id, { name: CHANNEL_NAMES[id] ?? id.toLowerCase() });

  const people = new Set<string>();
  for (const group of Object.values(policy.groups)) {
    for (const user of group.users ?? []) people.add(user);
    if (group.slack_usergroup) {
      const members = USERGROUPS[group.slack_usergroup]?.users ?? [];
      slack.usergroups.set(group.slack_usergroup, [...members]);
      for (const user of members) people.add(user);
    }
  }
  for (const id of people) slack.people.set(id, PLAYGROUND_PEOPLE[id] ?? { name: id.toLowerCase() });
}
