// Every expected failure the core can report, keyed by a snake_case code; src/cli and src/slack turn them into sentences.
import type { DurationError, Ms } from '../policy/duration.ts';

/** `scheduled`: approved, waiting for the start of its window (then `approved` again while it is granted). */
export type RequestState = 'pending' | 'approved' | 'scheduled' | 'denied' | 'cancelled' | 'timed_out' | 'failed';
export type GrantState = 'pending' | 'active' | 'expired' | 'revoked' | 'revoke_failed' | 'failed';

export type DomainError =
  | DurationError
  | { code: 'unknown_resource'; input: string; closest: string[] }
  | { code: 'unknown_role'; resource: string; input: string; roles: string[] }
  | { code: 'role_required'; resource: string; roles: string[] }
  | { code: 'not_eligible'; resource: string; eligible: string[] }
  | { code: 'duration_too_long'; requested: Ms; max: Ms; tier: string }
  | { code: 'extension_too_long'; grantId: string; by: Ms; total: Ms; max: Ms; tier: string; allowance: Ms; endsIn: Ms }
  | { code: 'conditions_unmet'; resource: string; tier: string; unmet: string[] }
  | { code: 'outsider_refused'; standing: 'guest' | 'external' }
  | { code: 'approvals_changed'; tier: string }
  | { code: 'bundle_member_refused'; bundle: string; member: string; cause: DomainError }
  | { code: 'bundle_changed'; bundle: string }
  | { code: 'no_longer_allowed'; requestId: string; cause: DomainError }
  | { code: 'reason_required' }
  | { code: 'breakglass_not_configured' }
  | { code: 'breakglass_wrong_channel'; channel: string | null; allowed: string[] }
  | { code: 'breakglass_not_in_group'; groups: string[] }
  | { code: 'breakglass_rate_limited'; max: number }
  | { code: 'not_breakglass'; grantId: string }
  | { code: 'already_reviewed'; grantId: string; by: string }
  | { code: 'review_not_configured' }
  | { code: 'review_own'; grantId: string }
  | { code: 'review_not_in_group'; grantId: string; group: string }
  | { code: 'request_not_found'; requestId: string }
  | { code: 'grant_not_found'; grantId: string }
  | { code: 'not_pending'; requestId: string; state: RequestState }
  | { code: 'not_active'; grantId: string; state: GrantState }
  | { code: 'not_requester'; requestId: string }
  | { code: 'not_grant_owner'; grantId: string }
  | { code: 'not_in_step_group'; requestId: string; group: string; step: number; escalation?: { to: string; done: boolean } }
  | { code: 'not_team_lead'; requestId: string; leads: string[]; step: number }
  | { code: 'review_not_pending'; grantId: string }
  | { code: 'review_own_grant'; grantId: string }
  | { code: 'flag_reason_required' }
  | { code: 'not_reviewer'; grantId: string; group: string | null; leads: string[] }
  | { code: 'self_approval'; requestId: string }
  | { code: 'already_approved'; requestId: string; step: number }
  | { code: 'approved_earlier_step'; requestId: string; step: number }
  | { code: 'scheduler_unavailable' }
  | { code: 'expiry_in_past'; grantId: string }
  | { code: 'user_blocked' }
  | { code: 'blocked_decider' }
  | { code: 'approval_by_blocked'; requestId: string; approver: string; step: number }
  | { code: 'not_admin'; action: 'revoke-all' | 'unblock' }
  | { code: 'not_blocked'; user: string }
  | { code: 'self_block' }
  | { code: 'start_in_past'; startsAt: number }
  | { code: 'start_too_far'; startsAt: number; max: Ms }
  | { code: 'breakglass_scheduled' };
