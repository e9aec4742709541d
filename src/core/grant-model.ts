// The grant keeper's shapes: what it needs, what its use cases return, and how a stored grant is shown to a provider.
import type { LoadedPolicy } from '../policy/load.ts';
import type { Store } from '../store/repositories.ts';
import type { GrantRow, RequestRow } from '../store/schema.ts';
import { grantRef, requestRef } from './ids.ts';
import type { Clock, Directory, GrantSubject, KeyedSerializer, Logger, Notifier, Providers, RevokeResult, Scheduler } from './ports.ts';
import type { Attempted, RetryOptions } from './retry.ts';

export interface GrantKeeperDeps {
  store: Store;
  policy: () => LoadedPolicy;
  providers: Providers;
  scheduler: Scheduler;
  notifier: Notifier;
  directory: Directory;
  clock: Clock;
  log: Logger;
  retry: RetryOptions;
  /** Serialises work per access key across replicas (Redis); without it, within this process only. */
  serializer?: KeyedSerializer;
}

export type FulfilOutcome =
  /** `grants`: for a bundle, every member's grant in order (`grant` is the first). */
  | { kind: 'granted'; request: RequestRow; grant: GrantRow; grants?: GrantRow[]; providerMessage: string | null }
  | { kind: 'scheduled'; request: RequestRow }
  | { kind: 'failed'; request: RequestRow; problem: string };

export type EndOutcome =
  | { kind: 'ended'; grant: GrantRow; verified: boolean | null }
  | { kind: 'revoke_failed'; grant: GrantRow; problem: string }
  | { kind: 'not_live'; grant: GrantRow }
  | { kind: 'unknown' }
  | { kind: 'not_due'; grant: GrantRow };

/** What a successful provider revoke left for a later clean-up, if anything. */
export const cleanupLeftBy = (undone: Attempted<void | RevokeResult>): string | null => (undone.ok ? (undone.value?.cleanupPending ?? null) : null);

/** What a provider is told about a stored grant; `email` only decorates (the account is `identity`, fixed at grant time). */
export function subjectFor(grant: GrantRow, email: string | null): GrantSubject {
  return {
    grantId: grantRef(grant.id),
    requestId: requestRef(grant.requestId),
    user: { slackId: grant.user, email },
    identity: grant.identity,
    resource: grant.resource,
    role: grant.role,
    reason: grant.reason,
    startsAt: new Date(grant.startsAt ?? grant.createdAt),
    expiresAt: new Date(grant.expiresAt ?? grant.createdAt),
    breakglass: grant.breakglass,
    provider: grant.provider,
    providerState: grant.providerState,
  };
}
