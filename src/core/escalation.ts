// Escalation when nobody answers: at a step's escalate_after its escalate_to group is called in and may decide it too.
import type { Policy } from '../policy/schema.ts';
import { LOST_RACE } from './store-port.ts';
import type { RequestRecord } from './records.ts';
import { escalationGroupOf, isEscalationDue } from './escalation-rules.ts';

export { escalateAtFor } from './escalation-rules.ts';
import type { GrantKeeperDeps } from './grant-model.ts';
import { requestRef } from './ids.ts';
import type { AccessEvent, Directory } from './ports.ts';

export type EscalationDeps = Pick<GrantKeeperDeps, 'store' | 'policy' | 'scheduler' | 'directory' | 'clock' | 'log'>;

/** Everyone in a policy group now: its listed users and its Slack user group's members (none when Slack cannot say). */
export async function membersOf(policy: Policy, groupName: string, directory: Directory): Promise<string[]> {
  const group = policy.groups[groupName];
  if (group === undefined) return [];
  const fromSlack = group.slack_usergroup === undefined ? [] : ((await directory.usergroupMembers(group.slack_usergroup)) ?? []);
  return [...new Set([...(group.users ?? []), ...fromSlack])];
}

export class Escalations {
  constructor(
    private readonly deps: EscalationDeps,
    private readonly notify: (event: AccessEvent) => Promise<void>,
  ) {}

  /** Sets the alarm for the step the request is at now, when that step escalates; the reconciler catches a lost one. */
  async schedule(request: RequestRecord): Promise<void> {
    if (request.state !== 'pending' || request.escalateAt === null) return;
    await this.deps.scheduler.scheduleEscalation(request.id, new Date(request.escalateAt));
  }

  /**
   * Escalates the request's current step if it is due; false when there is nothing to do (decided, timed out, not yet
   * time, already escalated). The check is repeated inside the transaction, so a job and a sweep racing escalate once.
   */
  async escalate(requestId: number): Promise<boolean> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const before = await store.getRequest(requestId);
    if (before === undefined || !isEscalationDue(before, now)) return false;
    const done = await store.transaction(now, async (tx) => {
      const request = await tx.getRequest(requestId);
      if (request === undefined || !isEscalationDue(request, now)) return tx.abort();
      const step = request.currentStep;
      const { from, escalate_to: to, escalate_after: after } = request.steps[step] ?? {};
      if (!await tx.updateRequest(requestId, 'pending', { escalatedStep: step, escalateAt: null }, step)) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'request.escalated', requestId: requestRef(requestId), details: { step, from: from ?? null, to: to ?? null, after_ms: after ?? null } });
    });
    if (done === LOST_RACE) return false;
    const request = await store.getRequest(requestId) as RequestRecord;
    const to = escalationGroupOf(request) as string;
    let members: string[] = [];
    try {
      members = (await membersOf(this.deps.policy().policy, to, this.deps.directory)).filter((m) => m !== request.requester);
    } catch (error) {
      // The escalation stands; the thread still pings the group, only the DMs are missed.
      this.deps.log.warn({ requestId: requestRef(requestId), problem: error instanceof Error ? error.message : String(error) }, 'could not list the escalation group; its members get no DM');
    }
    await this.notify({ type: 'request_escalated', request, to, members });
    return true;
  }
}
