// The audit log's vocabulary: every action Sesame audits, and what the core hands the store to append one entry.
import type { Json } from './canonical-json.ts';

export const AUDIT_ACTIONS = [
  'request.created',
  'request.refused',
  'request.auto_approved',
  'request.approval_recorded',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.timed_out',
  'request.escalated',
  'request.scheduled',
  'request.schedule_started',
  'request.cancel_refused',
  'approval.refused',
  'grant.activated',
  'grant.failed',
  'grant.extended',
  'grant.revoked',
  'grant.expired',
  'grant.revoke_failed',
  'grant.verified_absent',
  'grant.cleanup_pending',
  'grant.cleanup_done',
  'grant.revoke_refused',
  'grant.extend_refused',
  'grant.review_requested',
  'grant.reviewed',
  'grant.flagged',
  'grant.review_refused',
  'grant.review_reminded',
  'grant.review_reopened',
  'breakglass.used',
  'breakglass.reviewed',
  'breakglass.review_refused',
  'breakglass.review_reminded',
  'user.blocked',
  'user.unblocked',
  'user.block_refused',
  'policy.loaded',
  'policy.rejected',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntryInput {
  actor: string;
  action: AuditAction;
  requestId?: string | null;
  grantId?: string | null;
  details?: { [key: string]: Json | undefined };
}
