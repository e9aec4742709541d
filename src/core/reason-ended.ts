// Grants end when the reason they were given for ends: the incident channel is archived, the person leaves the group
// that auto-approved them, or an admin blocked the person. The access service's revoke, with the reason on record.
import type { Policy } from '../policy/schema.ts';
import type { GrantKeeper } from './grant-keeper.ts';
import type { GrantKeeperDeps } from './grant-model.ts';
import { grantRef } from './ids.ts';
import { LIVE_GRANT_STATES } from './lifecycle.ts';
import type { Directory } from './ports.ts';
import { errorMessage } from './retry.ts';

export interface ReasonSweepReport {
  /** Grants ended because their incident channel was archived. */
  archived: number;
  /** Grants ended because their holder left the group that auto-approved them. */
  leftGroup: number;
  /** Grants of blocked people ended (made while `/access revoke-all` ran). */
  blocked: number;
}

export const archivedReason = (channelId: string): string => `the incident channel ${channelId} was archived`;
export const leftGroupReason = (group: string): string => `left group ${group}`;

/** Whether `user` is in policy group `name` now; null when Slack could not say (an outage must not end anyone's access). */
export async function inGroup(policy: Policy, name: string, user: string, directory: Directory): Promise<boolean | null> {
  const group = Object.hasOwn(policy.groups, name) ? policy.groups[name] : undefined;
  // A group taken out of the policy no longer vouches for anyone.
  if (group === undefined) return false;
  if (group.users?.includes(user)) return true;
  if (group.slack_usergroup === undefined) return false;
  const members = await directory.usergroupMembers(group.slack_usergroup).catch(() => null);
  return members === null ? null : members.includes(user);
}

export class ReasonEnds {
  /** `announceCleared` tells the admins (the audit channel) when a blocked person's last grant, failing until now, is gone. */
  constructor(
    private readonly deps: Pick<GrantKeeperDeps, 'store' | 'policy' | 'directory' | 'log'>,
    private readonly grants: GrantKeeper,
    private readonly announceCleared: (user: string, grantIds: string[]) => Promise<void> = async () => {},
  ) {}

  /** The `channel_archive` event (or the sweep noticing one): every live break-glass grant made there ends. Returns how many ended. */
  async channelArchived(channelId: string): Promise<number> {
    return this.endAll(await this.deps.store.reasons.liveBreakglassGrantIdsIn(channelId), archivedReason(channelId));
  }

  /**
   * What a reconcile sweep checks: channels of live break-glass grants that were archived while the event was
   * missed, holders no longer in their auto-approving group (membership is cached for the directory's minute), and
   * live grants of blocked people.
   */
  async sweep(): Promise<ReasonSweepReport> {
    const { store, directory, policy } = this.deps;
    const report: ReasonSweepReport = { archived: 0, leftGroup: 0, blocked: 0 };
    if (directory.channelArchived) {
      for (const channel of await store.reasons.channelsWithLiveBreakglass()) {
        const archived = await directory.channelArchived(channel).catch(() => null);
        if (archived === true) report.archived += await this.channelArchived(channel);
      }
    }
    const endedForGroup = new Set<number>(); // a grant may rest on several groups; it ends once
    for (const held of await store.reasons.liveGroupApprovedGrants()) {
      if (endedForGroup.has(held.grantId) || (await inGroup(policy().policy, held.group, held.user, directory)) !== false) continue;
      endedForGroup.add(held.grantId);
      report.leftGroup += await this.endAll([held.grantId], leftGroupReason(held.group));
    }
    // Also retries revoke-all's failed revokes every sweep, rather than only when each grant was due to end anyway.
    const ofBlocked = (await Promise.all((await store.reasons.liveGrantIdsOfBlocked()).map((id) => store.getGrant(id)))).filter((g) => g !== undefined);
    report.blocked = await this.endAll(ofBlocked.map((g) => g.id), 'an admin blocked the holder (/access revoke-all)');
    // And what rests on a blocked approver's approval, which a revoke-all cut short (its replica died) left live.
    report.blocked += await this.endAll(await store.reasons.liveGrantIdsApprovedByBlocked(), 'an admin blocked an approver of it (/access revoke-all)');
    for (const user of new Set(ofBlocked.map((g) => g.user))) {
      if ((await store.grantsOf(user, LIVE_GRANT_STATES)).length > 0) continue;
      const ended = ofBlocked.filter((g) => g.user === user).map((g) => grantRef(g.id));
      await this.announceCleared(user, ended).catch(() => undefined);
    }
    return report;
  }

  private async endAll(grantIds: number[], reason: string): Promise<number> {
    let ended = 0;
    for (const id of grantIds) {
      try {
        if ((await this.grants.end(id, 'revoked', 'sesame', reason)).kind === 'ended') ended++;
      } catch (error) {
        this.deps.log.error({ grantId: grantRef(id), problem: errorMessage(error) }, 'could not end a grant whose reason has gone; the next sweep retries');
      }
    }
    return ended;
  }
}
