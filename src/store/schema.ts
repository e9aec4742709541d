// SQLite tables as drizzle sees them; `npm run db:generate` turns changes here into a migration in migrations/.
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { GrantState, RequestState } from '../core/errors.ts';
import type { ProviderState } from '../core/ports.ts';
import type { BundleMember } from '../policy/bundles.ts';
import type { ProviderConfig } from '../policy/schema.ts';

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
    /** Approval steps as decided when the request was made: [{ from, count }]. */
    steps: text('steps', { mode: 'json' }).$type<{ from: string; count: number }[]>().notNull(),
    currentStep: integer('current_step').notNull().default(0),
    selfApproval: integer('self_approval', { mode: 'boolean' }).notNull().default(false),
    /** Set when this request asks for more time on an existing grant. */
    extendsGrantId: integer('extends_grant_id'),
    channelId: text('channel_id'),
    rule: text('rule').notNull(),
    createdAt: integer('created_at').notNull(),
    timeoutAt: integer('timeout_at'),
    decidedAt: integer('decided_at'),
    decidedBy: text('decided_by'),
    decisionNote: text('decision_note'),
    /** Where the approval card was posted, so it can be updated in place. */
    cardChannel: text('card_channel'),
    cardTs: text('card_ts'),
    /** Set for a bundle request (`resource` is the bundle's name): its members as decided, each granted as its own grant. */
    bundleMembers: text('bundle_members', { mode: 'json' }).$type<BundleMember[]>(),
  },
  (t) => [index('requests_state_idx').on(t.state, t.timeoutAt), index('requests_requester_idx').on(t.requester, t.state)],
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

export type RequestRow = typeof requests.$inferSelect;
export type GrantRow = typeof grants.$inferSelect;
export type ApprovalRow = typeof approvals.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
