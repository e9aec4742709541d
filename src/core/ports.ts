// The core's only windows to the outside world; adapters implement them and main.ts plugs them in.
import type { ProviderConfig } from '../policy/schema.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { IdentityNeed } from './identity.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a provider remembers about one grant between granting and revoking it (stored with the grant). */
export type ProviderState = { [key: string]: JsonValue };

/** Everything a provider needs to grant or undo one grant. */
export interface GrantSubject {
  grantId: string;
  requestId: string;
  user: { slackId: string; email: string | null };
  /** The account at the provider (see `Provider.identity`), fixed when the grant was made; null for providers that need none. */
  identity: string | null;
  resource: string;
  role: string;
  reason: string;
  startsAt: Date;
  expiresAt: Date;
  breakglass: boolean;
  provider: ProviderConfig;
  /** What the provider's `grant` returned as `state`; null before the grant or when it returned none. */
  providerState: ProviderState | null;
}

/**
 * What `revoke` returns when the access is gone (`check` says absent) but something the grant left behind could
 * not be cleaned up yet (e.g. objects a database login created). The grant still ends; Sesame calls `revoke`
 * again on later sweeps until it returns nothing, so a provider's revoke must be safe to repeat.
 */
export interface RevokeResult {
  /** A sentence naming what was left and why, for the audit log and the admins. */
  cleanupPending: string;
}

/**
 * Grants and revokes access somewhere outside Sesame. Implementations throw `ProviderError`
 * (with `retryable`) on failure; any other thrown error is treated as retryable.
 */
export interface Provider {
  /** Which account this provider grants to; the core resolves it before granting and refuses the grant when it cannot. */
  readonly identity?: IdentityNeed;
  /**
   * Names what a grant gives, the same for every grant giving the same person the same access (one group membership,
   * one account assignment). Live grants sharing a key are counted: the access is granted once and revoked when the
   * last of them ends. Leave out when each grant makes its own thing (a login role, a binding named after the grant).
   */
  accessKey?(subject: Pick<GrantSubject, 'user' | 'identity'>): string;
  /** `message` is shown to the requester only (it may hold credentials); `state` is kept for `revoke` and `check`. */
  grant(subject: GrantSubject): Promise<{ message?: string; state?: ProviderState }>;
  revoke(subject: GrantSubject): Promise<void | RevokeResult>;
  /** Whether the access is still in place; providers that cannot tell leave this out. */
  check?(subject: GrantSubject): Promise<'present' | 'absent'>;
  /** Moves the end of an active grant (e.g. a database role's VALID UNTIL); leave out when nothing outside needs to know. */
  extend?(subject: GrantSubject): Promise<void>;
  /**
   * Deletes what this provider made for grants that are not live (`isLive` is false for ended, failed and unknown
   * grants; pending ones count as live, they may be mid-grant): leftovers of a crash between the provider's grant
   * and Sesame's record. Returns the names of what it deleted. Providers whose grants leave no named object leave this out.
   */
  sweep?(isLive: (grantId: string) => Promise<boolean>): Promise<string[]>;
  /** Releases connections at shutdown. */
  close?(): Promise<void>;
}

/** Finds the provider for a stored provider block. */
export interface Providers {
  for(config: ProviderConfig): Provider;
  close?(): Promise<void>;
}

/** One grant's revocation and optional "expiring soon" warning, for bulk scheduling. */
export interface RevokeSchedule {
  grantId: number;
  at: Date;
  warnAt: Date | null;
}

/** Wakes the core at the right time. SQLite stays the source of truth; a lost job only makes an action late. */
export interface Scheduler {
  /** False when jobs cannot be stored now; routine grants are then refused (fail closed). */
  available(): Promise<boolean>;
  /**
   * Schedules (or moves) the one revocation of a grant, and its "expiring soon" warning when `warnAt` is set. `first`:
   * the grant has just gone live and has no jobs yet, so there is nothing to move out of the way first.
   */
  scheduleRevoke(grantId: number, at: Date, warnAt: Date | null, first?: boolean): Promise<void>;
  /** Schedules those of these grants that have no revocation job (after a Redis flush, say); returns how many. */
  ensureRevokes(schedules: RevokeSchedule[]): Promise<number>;
  /** Cancels both the revocation and the warning. */
  cancelRevoke(grantId: number): Promise<void>;
  scheduleRequestTimeout(requestId: number, timeoutAt: Date, remindAt: Date | null): Promise<void>;
  /** Schedules (or moves) the escalation of the step a request is at; `cancelRequestJobs` cancels it too. */
  scheduleEscalation(requestId: number, at: Date): Promise<void>;
  /** Cancels a request's timeout, reminder and escalation, and the activation of a scheduled window. */
  cancelRequestJobs(requestId: number): Promise<void>;
  /** Wakes the core at the start of a scheduled window (a lost job: the reconciler activates it late). */
  scheduleActivation(requestId: number, at: Date): Promise<void>;
}

/** Whether a person is a full member of the app's own workspace, a guest there, or from another workspace. */
export type Standing = 'member' | 'guest' | 'external';

/** Who is in a Slack user group, what a channel is called, a user's email. Null when it cannot be found out. */
export interface Directory {
  usergroupMembers(usergroupId: string): Promise<string[] | null>;
  /** `fresh` skips the cache: break-glass must see a rename at once. */
  channelName(channelId: string, options?: { fresh?: boolean }): Promise<string | null>;
  /** Whether a channel is archived, asked afresh; null when Slack does not know it. Directories that cannot tell leave this out. */
  channelArchived?(channelId: string): Promise<boolean | null>;
  userEmail(userId: string): Promise<string | null>;
  /** Throws when Slack cannot be asked: guessing "member" would let guests in. Someone Slack does not know is `external`. */
  standing(userId: string): Promise<Standing>;
}

export type AccessEvent =
  | { type: 'request_refused'; requester: string; resource: string; tier: string | null; code: string }
  | { type: 'request_pending'; request: RequestRecord }
  | { type: 'request_reminder'; request: RequestRecord }
  /** `members`: who is in the `to` group now (to DM), without the requester; empty when Slack could not say. */
  | { type: 'request_escalated'; request: RequestRecord; to: string; members: string[] }
  | { type: 'request_step_advanced'; request: RequestRecord; by: string }
  | { type: 'request_approval_recorded'; request: RequestRecord; by: string }
  | { type: 'request_approved'; request: RequestRecord; by: string }
  | { type: 'request_scheduled'; request: RequestRecord }
  | { type: 'request_denied'; request: RequestRecord; by: string; note: string | null }
  /** `approverBlocked`: cancelled because an admin blocked someone who approved a step of it (revoke-all). */
  | { type: 'request_cancelled'; request: RequestRecord; approverBlocked?: true }
  | { type: 'request_timed_out'; request: RequestRecord }
  | { type: 'request_failed'; request: RequestRecord; problem: string }
  | { type: 'grant_activated'; request: RequestRecord; grant: GrantRecord; providerMessage: string | null }
  | { type: 'grant_extended'; grant: GrantRecord; request: RequestRecord }
  | { type: 'grant_expiring'; grant: GrantRecord }
  | { type: 'grant_ended'; grant: GrantRecord; outcome: 'revoked' | 'expired'; by: string }
  | { type: 'grant_revoke_failed'; grant: GrantRecord; problem: string }
  | { type: 'grant_cleanup_pending'; grant: GrantRecord; problem: string }
  | { type: 'grant_cleaned_up'; grant: GrantRecord }
  | { type: 'breakglass_reviewed'; grant: GrantRecord; by: string }
  | { type: 'breakglass_review_reminder'; grants: GrantRecord[] }
  | { type: 'grant_review_requested'; grant: GrantRecord; request: RequestRecord }
  | { type: 'grant_reviewed'; grant: GrantRecord; by: string }
  /** A review (`breakglass_reviewed` or `grant_reviewed`) taken back because an admin blocked its reviewer: it waits again. */
  | { type: 'review_reopened'; grant: GrantRecord; reviewer: string }
  | { type: 'grant_review_reminder'; grants: GrantRecord[] };

/** Tells people what happened. Failures to notify never undo a state change. */
export interface Notifier {
  notify(event: AccessEvent): Promise<void>;
  /** Sends whatever is still buffered; called at shutdown. */
  close?(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** The subset of pino the core logs through. */
export interface Logger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * Runs work one at a time per key (a null key is not queued): in this process, or across every replica through
 * Redis. `work`'s signal is aborted once it may no longer count on being alone (a deadline passed, the lock was
 * lost); work that reads, then writes, checks it before writing.
 */
export interface KeyedSerializer {
  run<T>(key: string | null, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
}
