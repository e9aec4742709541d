// Pure: what the requests and grants tables must hold, rebuilt from the audit log alone, and where the tables differ.
import { createHash } from 'node:crypto';
import { parseRef } from './ids.ts';

/** One audit entry as verify reads it. */
export interface ReplayEntry {
  at: string;
  actor: string;
  action: string;
  request_id: string | null;
  grant_id: string | null;
  details: unknown;
}

type Value = string | number | boolean | null;
/**
 * A row's checked columns by their SQL names. `undefined` means the log does not say (an entry written before
 * Sesame recorded that detail); such a column is not checked, every other one must match.
 */
export type Fields = Record<string, Value | undefined>;

export interface Replayed {
  requests: Map<number, Fields>;
  grants: Map<number, Fields>;
  /** Who is blocked (`/access revoke-all`, lifted by `/access unblock`), by user id, with who blocked them, why and when. */
  blocks: Map<string, Fields>;
  /** Who approved each step, by `R<id>:<step>`, from the approvals the log recorded. */
  approvals: Map<string, Set<string>>;
  /** What the log contradicts within itself, e.g. an approval count that includes approvals it never recorded. */
  problems: Mismatch[];
}

export const approvalKey = (requestId: number, step: number): string => `R${requestId}:${step}`;

export interface Mismatch {
  /** `request R5` or `grant G3`. */
  row: string;
  /** A sentence naming what differs. */
  problem: string;
}

const TIME_COLUMNS = new Set(['created_at', 'timeout_at', 'decided_at', 'starts_at', 'expires_at', 'ended_at', 'reviewed_at', 'blocked_at', 'escalate_at']);
/** A grant as it starts: no review asked for or given (`grant.review_requested` and the verdicts change that). */
const NOT_REVIEWED: Fields = { review_from: null, review_leads: null, review_verdict: null, review_note: null };
const DECISIONS: Record<string, string> = { 'request.approved': 'approved', 'request.denied': 'denied', 'request.cancelled': 'cancelled', 'request.timed_out': 'timed_out' };

const ms = (iso: unknown): number | undefined => (typeof iso === 'string' ? new Date(iso).getTime() : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
/** JSON with object keys sorted, so a value read from the table and one from an entry compare equal. */
export const stableJson = (v: unknown): string =>
  JSON.stringify(v, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : value,
  );
/**
 * Names a grant's provider block in its activation entry: a block edited in the table (say, pointed at a no-op
 * provider so the revoke does nothing) no longer matches.
 */
export const providerDigest = (provider: unknown): string => createHash('sha256').update(stableJson(provider)).digest('hex');
const json = (v: unknown): string | undefined => (v === undefined ? undefined : stableJson(v));
/** When step `index` of these steps (as recorded) escalates if it begins `at`: null when it never does, undefined when the log does not say. */
function escalateAtOf(steps: unknown, index: number, at: number): number | null | undefined {
  if (!Array.isArray(steps)) return undefined;
  const step = steps[index] as { escalate_after?: unknown; escalate_to?: unknown } | undefined;
  return typeof step?.escalate_after === 'number' && typeof step.escalate_to === 'string' ? at + step.escalate_after : null;
}
/** A time the entry may give as an ISO string, explicitly null, or not at all. */
const maybeMs = (v: unknown): number | null | undefined => (v === null ? null : ms(v));

function detailsOf(entry: ReplayEntry): Record<string, unknown> {
  return typeof entry.details === 'object' && entry.details !== null && !Array.isArray(entry.details) ? (entry.details as Record<string, unknown>) : {};
}

function patch(map: Map<number, Fields>, id: number | null, fields: Fields): void {
  if (id === null) return;
  const row = map.get(id) ?? {};
  // A later entry that does not say leaves what an earlier one said.
  for (const [key, value] of Object.entries(fields)) if (value !== undefined || !(key in row)) row[key] = value;
  map.set(id, row);
}

/** Folds the log, in chain order, into the rows it implies. Refusals and other entries that change no row are skipped. */
export function replayAudit(entries: Iterable<ReplayEntry>): Replayed {
  const replayer = auditReplayer();
  for (const entry of entries) replayer.add(entry);
  return replayer.result();
}

/** `replayAudit` fed one entry at a time, for a log read page by page (asynchronously, from PostgreSQL). */
export function auditReplayer(): { add(entry: ReplayEntry): void; result(): Replayed } {
  const requests = new Map<number, Fields>();
  const grants = new Map<number, Fields>();
  const blocks = new Map<string, Fields>();
  const approvals = new Map<string, Set<string>>();
  const problems: Mismatch[] = [];
  const add = (entry: ReplayEntry): void => {
    const d = detailsOf(entry);
    const at = ms(entry.at) as number;
    const requestId = entry.request_id === null ? null : parseRef('R', entry.request_id);
    const grantId = entry.grant_id === null ? null : parseRef('G', entry.grant_id);
    switch (entry.action) {
      case 'request.created':
        patch(requests, requestId, {
          requester: entry.actor,
          resource: str(d.resource),
          role: str(d.role),
          tier: str(d.tier),
          duration_ms: num(d.duration_ms),
          // What the approvers read and the tickets the policy matched: rewritten in the table alone, the record lies.
          reason: str(d.reason),
          tickets: json(d.tickets),
          state: 'pending',
          created_at: at,
          timeout_at: maybeMs(d.timeout_at),
          starts_at: maybeMs(d.starts_at),
          decided_at: null,
          decided_by: null,
          current_step: 0,
          escalated_step: null,
          // When the escalate_to group may decide too: moved earlier in the table alone, it could decide at once.
          escalate_at: escalateAtOf(d.steps, 0, at),
          steps: json(d.steps),
          self_approval: bool(d.self_approval),
          extends_grant_id: grantId,
          bundle_members: d.bundle_members === null ? null : json(d.bundle_members),
          auto_group: null,
        });
        break;
      case 'request.auto_approved':
      case 'breakglass.used':
        // The group a grant rests on: cleared in the table alone, the grant would outlive the person leaving it.
        if (requestId !== null) patch(requests, requestId, { state: 'approved', decided_at: at, decided_by: 'policy', timeout_at: null, ...(entry.action === 'request.auto_approved' ? { auto_group: str(d.group) ?? null } : {}) });
        // The incident channel whose archiving ends a break-glass grant: moved in the table alone, the grant would outlive it.
        if (entry.action === 'breakglass.used' && d.channel !== undefined) patch(requests, requestId, { channel_id: str(d.channel) ?? null });
        break;
      // A window that starts later waits in `scheduled`, and is `approved` again from its start (while it is granted).
      case 'request.scheduled':
      case 'request.schedule_started':
        patch(requests, requestId, { state: entry.action === 'request.scheduled' ? 'scheduled' : 'approved' });
        break;
      case 'request.approval_recorded': {
        const step = num(d.step);
        const have = num(d.have);
        const need = num(d.need);
        if (requestId === null || step === undefined) break;
        const approvers = approvals.get(approvalKey(requestId, step)) ?? new Set<string>();
        approvals.set(approvalKey(requestId, step), approvers.add(entry.actor));
        // `have` was counted from the approvals table: more than the log recorded means rows were added behind Sesame's back.
        if (have !== undefined && have !== approvers.size) {
          problems.push({ row: `request R${requestId}`, problem: `step ${step} counted ${have} approvals at ${entry.at} but the audit log records ${approvers.size} (approvals were added outside Sesame)` });
        }
        if (have !== undefined && need !== undefined && have >= need) {
          const recorded = requests.get(requestId)?.steps;
          const steps: unknown = typeof recorded === 'string' ? JSON.parse(recorded) : undefined;
          // The next step's escalation starts now; the last step's completion leaves the (spent) time as it was.
          const next = Array.isArray(steps) && step + 1 < steps.length ? { escalate_at: escalateAtOf(steps, step + 1, at) } : {};
          patch(requests, requestId, { current_step: step + 1, ...next });
        }
        break;
      }
      case 'request.escalated':
        // Who may decide a step depends on it, so a step marked escalated in the table alone is caught.
        patch(requests, requestId, { escalated_step: num(d.step), escalate_at: null });
        break;
      case 'request.approved':
      case 'request.denied':
      case 'request.cancelled':
      case 'request.timed_out':
        patch(requests, requestId, { state: DECISIONS[entry.action] as string, decided_at: at, decided_by: entry.actor });
        break;
      case 'grant.activated':
        patch(grants, grantId, {
          request_id: requestId,
          user: str(d.user) ?? (requestId === null ? undefined : str(requests.get(requestId)?.requester)),
          resource: str(d.resource),
          role: str(d.role),
          breakglass: bool(d.breakglass),
          provider_sha256: str(d.provider_sha256),
          // What the revoke acts on: whose account, which shared access, what was there before the grant.
          provider_state_sha256: str(d.provider_state_sha256),
          identity: d.identity === undefined ? undefined : (str(d.identity) ?? null),
          access_key: d.access_key === undefined ? undefined : (str(d.access_key) ?? null),
          state: 'active',
          created_at: ms(d.created_at),
          starts_at: ms(d.starts_at),
          expires_at: ms(d.expires_at),
          ended_at: null,
          ended_by: null,
          ...NOT_REVIEWED,
        });
        break;
      case 'grant.failed':
        patch(requests, requestId, { state: 'failed' });
        // A grant that fails never started: it went from pending straight to failed.
        patch(grants, grantId, { request_id: requestId, state: 'failed', created_at: ms(d.created_at), starts_at: null, expires_at: null, ended_at: at, ended_by: null, ...NOT_REVIEWED });
        break;
      case 'grant.extended':
        patch(grants, grantId, { expires_at: ms(d.expires_at) });
        break;
      case 'grant.revoke_failed':
        patch(grants, grantId, { state: 'revoke_failed' });
        break;
      case 'grant.expired':
      case 'grant.revoked':
        patch(grants, grantId, { state: entry.action === 'grant.expired' ? 'expired' : 'revoked', ended_at: at, ended_by: entry.actor });
        break;
      // Who reviews an ended grant, and what they said: changed in the table alone, a friend reviews or a flag vanishes.
      case 'grant.review_requested':
        patch(grants, grantId, { review_from: str(d.reviewers) ?? null, review_leads: Array.isArray(d.leads) ? json(d.leads) : null });
        break;
      // Taken back because its reviewer was blocked: waiting again, a team-lead review for whoever reviews it now.
      case 'grant.review_reopened':
        patch(grants, grantId, { reviewed_by: null, reviewed_at: null, review_verdict: null, review_note: null, ...(typeof d.reviewers === 'string' ? { review_from: d.reviewers, review_leads: Array.isArray(d.leads) ? json(d.leads) : null } : {}) });
        break;
      case 'breakglass.reviewed':
      case 'grant.reviewed':
      case 'grant.flagged': {
        const verdict = entry.action === 'breakglass.reviewed' ? {} : { review_verdict: entry.action === 'grant.flagged' ? 'flagged' : 'looks_right', review_note: entry.action === 'grant.flagged' ? (str(d.note) ?? null) : null };
        patch(grants, grantId, { reviewed_by: entry.actor, reviewed_at: at, ...verdict });
        break;
      }
      case 'user.blocked':
        if (typeof d.user === 'string') blocks.set(d.user, { blocked_by: entry.actor, reason: str(d.reason), blocked_at: at });
        break;
      case 'user.unblocked':
        if (typeof d.user === 'string') blocks.delete(d.user);
        break;
    }
  };
  return { add, result: () => ({ requests, grants, blocks, approvals, problems }) };
}

const show = (column: string, value: Value | undefined): string =>
  value === null || value === undefined ? 'empty' : TIME_COLUMNS.has(column) && typeof value === 'number' ? new Date(value).toISOString() : String(value);

/**
 * Compares one table row with what the log says it must be. `expected` undefined: the log never recorded the row;
 * a grant still `pending` is then being granted right now (its first entry is written when that ends).
 */
export function compareRow(kind: 'request' | 'grant', id: number, actual: Fields, expected: Fields | undefined): Mismatch[] {
  const row = `${kind} ${kind === 'request' ? 'R' : 'G'}${id}`;
  // Later entries alone do not make a row: its first entry (request.created, grant.activated or grant.failed) must be there.
  const created = kind === 'request' ? expected?.requester !== undefined : expected?.request_id !== undefined;
  if (!created) {
    return kind === 'grant' && actual.state === 'pending' ? [] : [{ row, problem: 'is in the table but the audit log never recorded it' }];
  }
  const mismatches: Mismatch[] = [];
  for (const [column, value] of Object.entries(expected ?? {})) {
    if (value === undefined || actual[column] === value) continue;
    mismatches.push({ row, problem: `${column} is ${show(column, actual[column])} in the table but ${show(column, value)} in the audit log` });
  }
  return mismatches;
}

/** Rows the log records that the table no longer has. */
export function missingRows(kind: 'request' | 'grant', expected: Map<number, Fields>, present: ReadonlySet<number>): Mismatch[] {
  return [...expected.keys()].filter((id) => !present.has(id)).map((id) => ({ row: `${kind} ${kind === 'request' ? 'R' : 'G'}${id}`, problem: 'is recorded in the audit log but missing from the table' }));
}

/** The block list against the log: a block deleted (a silent unblock) or added (a lock-out) behind Sesame's back. */
export function compareBlocks(actual: ReadonlyMap<string, Fields>, expected: ReadonlyMap<string, Fields>): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (const [user, fields] of actual) {
    const logged = expected.get(user);
    if (logged === undefined) {
      mismatches.push({ row: `block of ${user}`, problem: 'is in the table but the audit log records no block in force (no user.blocked, or a user.unblocked since)' });
      continue;
    }
    for (const [column, value] of Object.entries(logged)) {
      if (value !== undefined && fields[column] !== value) mismatches.push({ row: `block of ${user}`, problem: `${column} is ${show(column, fields[column])} in the table but ${show(column, value)} in the audit log` });
    }
  }
  for (const user of expected.keys()) {
    if (!actual.has(user)) mismatches.push({ row: `block of ${user}`, problem: 'is in force in the audit log but missing from the table (an unblock the log never recorded)' });
  }
  return mismatches;
}
