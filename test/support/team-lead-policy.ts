// A policy whose tiers start with a team-lead step (one team, one lead) and a bundle of two of its resources.
import type { LoadedPolicy } from '../../src/policy/load.ts';
import { PEOPLE } from './access-harness.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';

export function teamLeadBundlePolicy(): LoadedPolicy {
  const LEAD_STEP = { from: 'team_lead', count: 1, fallback: 'security' };
  return aLoadedPolicy({
    teams: { payments: { members: [PEOPLE.engineer], leads: [PEOPLE.lead1] } },
    tiers: {
      high: { approvals: [LEAD_STEP, { from: 'sre-leads', count: 1 }] },
      low: { auto_approve: undefined, approvals: [LEAD_STEP] },
    },
    bundles: { kit: ['prod-db:write', 'sandbox:admin'] },
  } as Parameters<typeof aLoadedPolicy>[0]);
}
