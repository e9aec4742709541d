// Past decisions re-decided under another policy: what would change, one row per changed request, and a summary.
import { evaluate, type Outcome, type OutcomeKind } from './evaluate.ts';
import type { Policy } from './schema.ts';
import type { Standing } from '../core/ports.ts';

export interface PastDecision {
  /** `R12`; null for a refusal, which creates no request. */
  requestId: string | null;
  at: Date;
  user: string;
  resource: string;
  role: string | undefined;
  /** As asked for (before a break-glass cap); undefined when the requester named none. */
  durationMs: number | undefined;
  reason: string;
  breakglass: boolean;
  /** The channel's name as break-glass saw it; null when the audit entry predates its recording. */
  channelName: string | null;
  /** The requester's groups when it was decided; null when the audit entry predates their recording. */
  groups: string[] | null;
  /** Set for a window that started later (ms since the epoch): it was judged as at its start. */
  startsAt: number | undefined;
  /** A guest or someone from another workspace; undefined for a full member (and for entries from before it was recorded). */
  standing: Exclude<Standing, 'member'> | undefined;
  /** Refused because an admin had blocked the requester. */
  blocked: boolean;
  /**
   * Set for an extension: the grant it extends (`G5`) and that grant's start and end when the extension was decided
   * (`span`), on which the tier's max_duration is judged; `span` is null when the audit does not show them.
   */
  extending: { grantId: string; span: { startsAt: number; expiresAt: number } | null } | undefined;
  before: { decision: OutcomeKind; tier: string | null; error: string | null };
}

export interface ReplayChange {
  past: PastDecision;
  after: Outcome;
}

export interface ReplayReport {
  total: number;
  unchanged: number;
  nowNeedApproval: number;
  nowRefused: number;
  nowAutoApproved: number;
  /** Same kind of decision, another tier or refusal reason. */
  otherwise: number;
  /** Decisions replayed with today's groups because the audit entry did not record them. */
  withTodaysGroups: number;
  /** Extensions replayed without the total-length limit because the audit does not show their grant's start and end. */
  extensionsWithoutSpan: number;
  changes: ReplayChange[];
}

export const HOUR_MS = 3_600_000;

/** Decisions before `from` are re-decided only to count the break-glass grants that the rate limit of later ones sees. */
export function replay(policy: Policy, past: readonly PastDecision[], todaysGroups: (user: string) => ReadonlySet<string>, from = new Date(0)): ReplayReport {
  const report: ReplayReport = { total: 0, unchanged: 0, nowNeedApproval: 0, nowRefused: 0, nowAutoApproved: 0, otherwise: 0, withTodaysGroups: 0, extensionsWithoutSpan: 0, changes: [] };
  const breakglassGrants = new Map<string, number[]>();
  for (const decision of past) {
    const counted = decision.at >= from;
    if (counted) report.total++;
    if (counted && decision.groups === null) report.withTodaysGroups++;
    const { extending } = decision;
    if (counted && extending !== undefined && extending.span === null) report.extensionsWithoutSpan++;
    // An extension is judged against its grant as it stood then, not as re-decided earlier extensions would have left it.
    const extent = extending?.span ? { grantId: extending.grantId, ...extending.span } : undefined;
    const groups = decision.groups === null ? todaysGroups(decision.user) : new Set(decision.groups);
    // The rate limit counts the break-glass grants this history itself shows in the hour before.
    const earlier = (breakglassGrants.get(decision.user) ?? []).filter((at) => at > decision.at.getTime() - HOUR_MS).length;
    const { outcome: after } = evaluate(
      policy,
      { user: decision.user, resource: decision.resource, role: decision.role, duration: decision.durationMs, reason: decision.reason, breakglass: decision.breakglass, channelName: decision.channelName, at: decision.at, startsAt: decision.startsAt, standing: decision.standing, blocked: decision.blocked, extending: extent },
      groups,
      earlier,
    );
    if (decision.breakglass && after.decision === 'auto-approve') breakglassGrants.set(decision.user, [...(breakglassGrants.get(decision.user) ?? []), decision.at.getTime()]);
    if (!counted) continue;

    const { before } = decision;
    if (before.decision !== after.decision) {
      if (after.decision === 'needs-approval') report.nowNeedApproval++;
      else if (after.decision === 'refuse') report.nowRefused++;
      else report.nowAutoApproved++;
      report.changes.push({ past: decision, after });
    } else if (before.decision === 'refuse' ? before.error !== after.error : before.tier !== after.tier) {
      report.otherwise++;
      report.changes.push({ past: decision, after });
    } else {
      report.unchanged++;
    }
  }
  return report;
}

export function summarizeReplay(report: ReplayReport): string {
  const otherwise = report.otherwise > 0 ? `, ${report.otherwise} changed tier or refusal reason` : '';
  return `${report.total} request${report.total === 1 ? '' : 's'} replayed: ${report.unchanged} unchanged, ${report.nowNeedApproval} now need approval, ${report.nowRefused} now refused, ${report.nowAutoApproved} now auto-approved${otherwise}`;
}
