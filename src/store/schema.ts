// SQLite tables as drizzle sees them; `npm run db:generate` turns changes here into a migration in migrations/sqlite/ (and src/store/pg/schema.ts must follow).
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { GrantState, RequestState } from '../core/errors.ts';
import type { ProviderState } from '../core/ports.ts';
import type { BundleMember } from '../policy/bundles.ts';
import type { ProviderConfig } from '../policy/schema.ts';
import type { RoutedStep } from '../policy/teams.ts';
import type { ReviewVerdict } from '../core/records.ts';

export type { ReviewVerdict };

/** Times are integer milliseconds since the epoch (UTC). */
export const requests = sqliteTable(
  'requests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    requester: text('requester').notNull(),
    resource: text('resource').notNull(),
    role: text('role').notNull(),
    tier: text('tier').notNull(),
    durationMs: integer('duration_ms').notNull(),
    reason: text('reason').notNull(),
    tickets: text('tickets', { mode: 'json' }).$type<string[]>().notNull(),
    breakglass: integer('breakglass', { mode: 'boolean' }).notNull().default(false),
    state: text('state').$type<RequestState>().notNull(),
    /** Approval steps as decided when the request was made: [{ from, count, escalate_after?, escalate_to? }], with `leads` for a team-lead step. */
    steps: text('steps', { mode: 'json' }).$type<RoutedStep[]>().notNull(),
    currentStep: integer('current_step').notNull().default(0),
    /** When the current step escalates if still undecided; null when it never does or already has. */
    escalateAt: integer('escalate_at'),
    /** The step that escalated (its escalate_to group may then decide it too); null while none has. */
    escalatedStep: integer('escalated_step'),
    selfApproval: integer('self_approval', { mode: 'boolean' }).notNull().default(false),
    /** Set when this request asks for more time on an existing grant. */
    extendsGrantId: integer('extends_grant_id'),
    channelId: text('channel_id'),
    rule: text('rule').notNull(),
    createdAt: integer('created_at').notNull(),
    timeoutAt: integer('timeout_at'),
    /** Set for a scheduled window: when the grant starts (it ends at startsAt + durationMs). Null: at once. */
    startsAt: integer('starts_at'),
    decidedAt: integer('decided_at'),
    /** When it last became `approved`: its decision, or for a window the moment its grant began (its activation). */
    approvedAt: integer('approved_at'),
    decidedBy: text('decided_by'),
    decisionNote: text('decision_note'),
    /** Where the approval card was posted, so it can be updated in place. */
    cardChannel: text('card_channel'),
    cardTs: text('card_ts'),
    /** The policy group whose membership auto-approved this request; its grant ends when the requester leaves it. */
    autoGroup: text('auto_group'),
    /** Set for a bundle request (`resource` is the bundle's name): its members as decided, each granted as its own grant. */
    bundleMembers: text('bundle_members', { mode: 'json' }).$type<BundleMember[]>(),
  },
  (t) => [
    index('requests_state_idx').on(t.state, t.timeoutAt),
    index('requests_requester_idx').on(t.requester, t.state),
    index('requests_channel_idx').on(t.channelId).where(sql`${t.breakglass} = 1`),
    // Only requests still to escalate are indexed, for the reconciler's sweep.
    index('requests_escalate_idx').on(t.escalateAt).where(sql`${t.escalateAt} IS NOT NULL`),
    // The reconciler's sweep for approved requests a stop left without a grant reads the recent ones only.
    index('requests_approved_idx').on(t.state, t.approvedAt),
  ],
);

export const approvals = sqliteTable(
  'approvals',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    step: integer('step').notNull(),
    approver: text('approver').notNull(),
    at: integer('at').notNull(),
  },
  // The database itself refuses a second approval of one step by one person.
  (t) => [uniqueIndex('approvals_once_idx').on(t.requestId, t.step, t.approver)],
);

export const grants = sqliteTable(
  'grants',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    user: text('user').notNull(),
    resource: text('resource').notNull(),
    role: text('role').notNull(),
    /** The provider block in force at grant time, so a later policy edit cannot prevent the revoke. */
    provider: text('provider', { mode: 'json' }).$type<ProviderConfig>().notNull(),
    /** What the provider needs to undo exactly this grant (e.g. "was already a member"); never secrets. */
    providerState: text('provider_state', { mode: 'json' }).$type<ProviderState>(),
    reason: text('reason').notNull(),
    breakglass: integer('breakglass', { mode: 'boolean' }).notNull().default(false),
    state: text('state').$type<GrantState>().notNull(),
    createdAt: integer('created_at').notNull(),
    startsAt: integer('starts_at'),
    expiresAt: integer('expires_at'),
    endedAt: integer('ended_at'),
    endedBy: text('ended_by'),
    revokeAttempts: integer('revoke_attempts').notNull().default(0),
    reviewedBy: text('reviewed_by'),
    reviewedAt: integer('reviewed_at'),
    /** Set while the access is gone but the provider still has leftovers to remove; the reconciler retries until done. */
    cleanupPending: text('cleanup_pending'),
    /** The DM that carried the provider's message (credentials, perhaps), deleted when the grant ends. */
    dmChannel: text('dm_channel'),
    dmTs: text('dm_ts'),
    /** The account the provider granted to (settings.identities, email, …), fixed at grant time so a later profile change cannot redirect the revoke. */
    identity: text('identity'),
    /** What the provider grants, named by the provider (`Provider.accessKey`); live grants sharing one are counted, and only the last one's end revokes. */
    accessKey: text('access_key'),
    /** Set when a grant of a tier with `review:` ends: the reviewing group, or `team_lead` (then `reviewLeads` names them). */
    reviewFrom: text('review_from'),
    reviewLeads: text('review_leads', { mode: 'json' }).$type<string[]>(),
    /** `looks_right` or `flagged` once reviewed (`reviewedBy`, `reviewedAt`); `reviewNote` is the flag's reason. */
    reviewVerdict: text('review_verdict').$type<ReviewVerdict>(),
    reviewNote: text('review_note'),
    /** Where the review card was posted, so it can be updated in place. */
    reviewCardChannel: text('review_card_channel'),
    reviewCardTs: text('review_card_ts'),
  },
  (t) => [
    // One grant per request and member: a bundle request has one for each of its resource/role pairs, never two for one.
    uniqueIndex('grants_request_idx').on(t.requestId, t.resource, t.role),
    index('grants_state_idx').on(t.state, t.expiresAt),
    // The reconciler pages through grants of one state by id; (state) alone keeps them in id order, so no page sorts them all.
    index('grants_state_id_idx').on(t.state),
    index('grants_user_idx').on(t.user, t.state),
    // Every reconcile sweep asks for unreviewed break-glass grants; without this it would scan every grant ever made.
    index('grants_review_idx').on(t.breakglass, t.reviewedBy),
    // Almost no grant ever waits for a clean-up, so only those are indexed.
    index('grants_cleanup_idx').on(t.id).where(sql`${t.cleanupPending} IS NOT NULL`),
    index('grants_access_key_idx').on(t.accessKey, t.state),
    // Reviews waiting are few among all grants ever made; every sweep, App Home and scrape asks for them.
    index('grants_post_review_idx').on(t.id).where(sql`${t.reviewFrom} IS NOT NULL AND ${t.reviewedBy} IS NULL`),
  ],
);

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey(),
    at: text('at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    requestId: text('request_id'),
    grantId: text('grant_id'),
    details: text('details').notNull().default(sql`'{}'`),
    policySha256: text('policy_sha256').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_action_idx').on(t.action, t.at)],
);

/** The last audit entry each audit_stream destination acknowledged; written only by the stream's shipper. */
export const auditStreamCursor = sqliteTable('audit_stream_cursor', {
  destination: text('destination').primaryKey(),
  lastId: integer('last_id').notNull(),
  lastHash: text('last_hash').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** People an admin blocked with `/access revoke-all`; their requests are refused until `/access unblock`. */
export const blockedUsers = sqliteTable('blocked_users', {
  user: text('user').primaryKey(),
  blockedBy: text('blocked_by').notNull(),
  reason: text('reason').notNull(),
  blockedAt: integer('blocked_at').notNull(),
});

export type RequestRow = typeof requests.$inferSelect;
export type GrantRow = typeof grants.$inferSelect;
export type ApprovalRow = typeof approvals.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
export type BlockedUserRow = typeof blockedUsers.$inferSelect;
