// What the access use cases take and return, apart from the service itself so the front ends can name them cheaply.
import type { AccessQuery, Decision } from '../policy/decide.ts';
import type { Ms } from '../policy/duration.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { FulfilOutcome } from './grant-model.ts';

export interface NewAccessRequest extends AccessQuery {
  requester: string;
  /** Where the command was typed (break-glass checks its name). */
  channelId?: string | null;
}

export type GrantOutcome = FulfilOutcome | { kind: 'extended'; request: RequestRecord; grant: GrantRecord | null };
/** A break-glass duration above the policy's maximum is cut to it, not refused; `cappedFrom` says from what. */
export type GrantedOutcome = GrantOutcome & { cappedFrom?: Ms };
export type RequestOutcome = GrantedOutcome | { kind: 'pending'; request: RequestRecord; decision: Decision & { kind: 'needs_approval' } };

export type ApproveOutcome =
  | { kind: 'recorded'; request: RequestRecord; have: number; need: number }
  | { kind: 'next_step'; request: RequestRecord }
  | { kind: 'approved'; request: RequestRecord; fulfilled: GrantOutcome };
