// The records the core reads and writes through the store port: plain types, the same for every database.
import type { BundleMember } from '../policy/bundles.ts';
import type { ProviderConfig } from '../policy/schema.ts';
import type { RoutedStep } from '../policy/teams.ts';
import type { GrantState, RequestState } from './errors.ts';
import type { ProviderState } from './ports.ts';

// Times are integer milliseconds since the epoch (UTC), except the audit log's ISO `at`. Each store checks at compile
// time that its rows are exactly these types (src/store/record-types.ts for SQLite), so they cannot drift apart.

export type ReviewVerdict = 'looks_right' | 'flagged';

export interface RequestRecord {
  id: number;
  requester: string;
  resource: string;
  role: string;
  tier: string;
  durationMs: number;
  reason: string;
  tickets: string[];
  breakglass: boolean;
  state: RequestState;
  /** Approval steps as decided when the request was made, with `leads` for a team-lead step. */
  steps: RoutedStep[];
  currentStep: number;
  /** When the current step escalates if still undecided; null when it never does or already has. */
  escalateAt: number | null;
  /** The step that escalated (its escalate_to group may then decide it too); null while none has. */
  escalatedStep: number | null;
  selfApproval: boolean;
  /** Set when this request asks for more time on an existing grant. */
  extendsGrantId: number | null;
  channelId: string | null;
  rule: string;
  createdAt: number;
  timeoutAt: number | null;
  /** Set for a scheduled window: when the grant starts (it ends at startsAt + durationMs). Null: at once. */
  startsAt: number | null;
  decidedAt: number | null;
  /** When it last became `approved`: its decision, or for a window the moment its grant began. */
  approvedAt: number | null;
  decidedBy: string | null;
  decisionNote: string | null;
  /** Where the approval card was posted, so it can be updated in place. */
  cardChannel: string | null;
  cardTs: string | null;
  /** The policy group(s) whose membership auto-approved this request, comma-separated for a bundle. */
  autoGroup: string | null;
  /** Set for a bundle request (`resource` is the bundle's name): its members as decided. */
  bundleMembers: BundleMember[] | null;
}

export interface ApprovalRecord {
  id: number;
  requestId: number;
  step: number;
  approver: string;
  at: number;
}

export interface GrantRecord {
  id: number;
  requestId: number;
  user: string;
  resource: string;
  role: string;
  /** The provider block in force at grant time, so a later policy edit cannot prevent the revoke. */
  provider: ProviderConfig;
  /** What the provider needs to undo exactly this grant; never secrets. */
  providerState: ProviderState | null;
  reason: string;
  breakglass: boolean;
  state: GrantState;
  createdAt: number;
  startsAt: number | null;
  expiresAt: number | null;
  endedAt: number | null;
  endedBy: string | null;
  revokeAttempts: number;
  reviewedBy: string | null;
  reviewedAt: number | null;
  /** Set while the access is gone but the provider still has leftovers to remove. */
  cleanupPending: string | null;
  /** The DM that carried the provider's message, deleted when the grant ends. */
  dmChannel: string | null;
  dmTs: string | null;
  /** The account the provider granted to, fixed at grant time. */
  identity: string | null;
  /** What the provider grants (`Provider.accessKey`); live grants sharing one are counted. */
  accessKey: string | null;
  /** Set when a grant of a tier with `review:` ends: the reviewing group, or `team_lead` (then `reviewLeads`). */
  reviewFrom: string | null;
  reviewLeads: string[] | null;
  reviewVerdict: ReviewVerdict | null;
  reviewNote: string | null;
  reviewCardChannel: string | null;
  reviewCardTs: string | null;
}

/** One audit entry as stored: details are canonical JSON text, the hash chains it to the entry before. */
export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  requestId: string | null;
  grantId: string | null;
  details: string;
  policySha256: string;
  prevHash: string;
  hash: string;
}

/** A person an admin blocked with `/access revoke-all`. */
export interface BlockedUserRecord {
  user: string;
  blockedBy: string;
  reason: string;
  blockedAt: number;
}

/** Columns a new row may leave out: the id, the nullable ones (null) and those with a default. */
type Insert<R, Defaulted extends keyof R> = { [K in keyof R as K extends 'id' | Defaulted ? never : null extends R[K] ? never : K]: R[K] } & {
  [K in keyof R as K extends 'id' | Defaulted ? K : null extends R[K] ? K : never]?: R[K] | undefined;
};

export type NewRequest = Insert<RequestRecord, 'breakglass' | 'currentStep' | 'selfApproval'>;
export type NewGrant = Insert<GrantRecord, 'breakglass' | 'revokeAttempts'>;
export type RequestPatch = Partial<Omit<NewRequest, 'id'>>;
export type GrantPatch = Partial<Omit<NewGrant, 'id'>>;

/** The newest audit entries, for the playground's live side panel. */
export type RecentAudit = Pick<AuditRecord, 'id' | 'at' | 'actor' | 'action' | 'requestId' | 'grantId'>;

/** The newest grants, for the playground's live side panel. */
export interface RecentGrant {
  id: number;
  user: string;
  resource: string;
  role: string;
  state: string;
  breakglass: boolean;
  expiresAt: number | null;
}

/** A live grant auto-approved because its holder was in `group`. */
export interface GroupApprovedGrant {
  grantId: number;
  user: string;
  group: string;
}

/** An active grant's schedule, for re-scheduling its jobs. */
export interface GrantSchedule {
  id: number;
  startsAt: number | null;
  expiresAt: number | null;
}
