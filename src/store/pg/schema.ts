// PostgreSQL tables as drizzle sees them, column for column those of ../schema.ts; `npm run db:generate` writes migrations/postgres/.
import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { GrantState, RequestState } from '../../core/errors.ts';
import type { ProviderState } from '../../core/ports.ts';
import type { BundleMember } from '../../policy/bundles.ts';
import type { ProviderConfig } from '../../policy/schema.ts';
import type { RoutedStep } from '../../policy/teams.ts';
import type { ReviewVerdict } from '../../core/records.ts';

/**
 * JSON kept as text, as SQLite keeps it (drizzle's `text({ mode: 'json' })` there), rather than jsonb: the stored
 * text is then byte for byte what SQLite holds, so a database copied between the two compares and replays alike.
 */
const jsonText = <T>(name: string) =>
  customType<{ data: T; driverData: string }>({
    dataType: () => 'text',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => JSON.parse(value) as T,
  })(name);

/** Epoch milliseconds (and durations in ms) outgrow a 32-bit integer, so they are bigint, read as JS numbers. */
const millis = (name: string) => bigint(name, { mode: 'number' });

/** Times are integer milliseconds since the epoch (UTC). */
export const requests = pgTable(
  'requests',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    requester: text('requester').notNull(),
    resource: text('resource').notNull(),
    role: text('role').notNull(),
    tier: text('tier').notNull(),
    durationMs: millis('duration_ms').notNull(),
    reason: text('reason').notNull(),
    tickets: jsonText<string[]>('tickets').notNull(),
    breakglass: boolean('breakglass').notNull().default(false),
    state: text('state').$type<RequestState>().notNull(),
    steps: jsonText<RoutedStep[]>('steps').notNull(),
    currentStep: integer('current_step').notNull().default(0),
    escalateAt: millis('escalate_at'),
    escalatedStep: integer('escalated_step'),
    selfApproval: boolean('self_approval').notNull().default(false),
    extendsGrantId: integer('extends_grant_id'),
    channelId: text('channel_id'),
    rule: text('rule').notNull(),
    createdAt: millis('created_at').notNull(),
    timeoutAt: millis('timeout_at'),
    startsAt: millis('starts_at'),
    decidedAt: millis('decided_at'),
    approvedAt: millis('approved_at'),
    decidedBy: text('decided_by'),
    decisionNote: text('decision_note'),
    cardChannel: text('card_channel'),
    cardTs: text('card_ts'),
    autoGroup: text('auto_group'),
    bundleMembers: jsonText<BundleMember[]>('bundle_members'),
  },
  (t) => [
    index('requests_state_idx').on(t.state, t.timeoutAt),
    index('requests_requester_idx').on(t.requester, t.state),
    index('requests_channel_idx').on(t.channelId).where(sql`${t.breakglass} = true`),
    index('requests_escalate_idx').on(t.escalateAt).where(sql`${t.escalateAt} IS NOT NULL`),
    index('requests_approved_idx').on(t.state, t.approvedAt),
  ],
);

export const approvals = pgTable(
  'approvals',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    step: integer('step').notNull(),
    approver: text('approver').notNull(),
    at: millis('at').notNull(),
  },
  (t) => [uniqueIndex('approvals_once_idx').on(t.requestId, t.step, t.approver)],
);

export const grants = pgTable(
  'grants',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    requestId: integer('request_id')
      .notNull()
      .references(() => requests.id),
    user: text('user').notNull(),
    resource: text('resource').notNull(),
    role: text('role').notNull(),
    provider: jsonText<ProviderConfig>('provider').notNull(),
    providerState: jsonText<ProviderState>('provider_state'),
    reason: text('reason').notNull(),
    breakglass: boolean('breakglass').notNull().default(false),
    state: text('state').$type<GrantState>().notNull(),
    createdAt: millis('created_at').notNull(),
    startsAt: millis('starts_at'),
    expiresAt: millis('expires_at'),
    endedAt: millis('ended_at'),
    endedBy: text('ended_by'),
    revokeAttempts: integer('revoke_attempts').notNull().default(0),
    reviewedBy: text('reviewed_by'),
    reviewedAt: millis('reviewed_at'),
    cleanupPending: text('cleanup_pending'),
    dmChannel: text('dm_channel'),
    dmTs: text('dm_ts'),
    identity: text('identity'),
    accessKey: text('access_key'),
    reviewFrom: text('review_from'),
    reviewLeads: jsonText<string[]>('review_leads'),
    reviewVerdict: text('review_verdict').$type<ReviewVerdict>(),
    reviewNote: text('review_note'),
    reviewCardChannel: text('review_card_channel'),
    reviewCardTs: text('review_card_ts'),
  },
  (t) => [
    uniqueIndex('grants_request_idx').on(t.requestId, t.resource, t.role),
    index('grants_state_idx').on(t.state, t.expiresAt),
    index('grants_state_id_idx').on(t.state),
    index('grants_user_idx').on(t.user, t.state),
    index('grants_review_idx').on(t.breakglass, t.reviewedBy),
    index('grants_cleanup_idx').on(t.id).where(sql`${t.cleanupPending} IS NOT NULL`),
    index('grants_access_key_idx').on(t.accessKey, t.state),
    index('grants_post_review_idx').on(t.id).where(sql`${t.reviewFrom} IS NOT NULL AND ${t.reviewedBy} IS NULL`),
  ],
);

/** Ids are given by the appender (head + 1), never by the database, exactly as in SQLite. */
export const auditLog = pgTable(
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

export const auditStreamCursor = pgTable('audit_stream_cursor', {
  destination: text('destination').primaryKey(),
  lastId: integer('last_id').notNull(),
  lastHash: text('last_hash').notNull(),
  updatedAt: millis('updated_at').notNull(),
});

export const blockedUsers = pgTable('blocked_users', {
  user: text('user').primaryKey(),
  blockedBy: text('blocked_by').notNull(),
  reason: text('reason').notNull(),
  blockedAt: millis('blocked_at').notNull(),
});
