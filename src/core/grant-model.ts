// The grant keeper's shapes: what it needs, what its use cases return, and how a stored grant is shown to a provider.
import type { LoadedPolicy } from '../policy/load.ts';
import type { StorePort } from './store-port.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import { grantRef, requestRef } from './ids.ts';
import type { Clock, Directory, GrantSubject, KeyedSerializer, Logger, Notifier, Providers, RevokeResult, Scheduler } from './ports.ts';
import type { Attempted, RetryOptions } from './retry.ts';

export interface GrantKeeperDeps {
  store: StorePort;
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
  | { kind: 'granted'; request: RequestRecord; grant: GrantRecord; grants?: GrantRecord[]; providerMessage: string | null }
  | { kind: 'scheduled'; request: RequestRecord }
  | { kind: 'failed'; request: RequestRecord; problem: string };

export type EndOutcome =
  | { kind: 'ended'; grant: GrantRecord; verified: boolean | null }
  | { kind: 'revoke_failed'; grant: GrantRecord; problem: string }
  | { kind: 'not_live'; grant: GrantRecord }
  | { kind: 'unknown' }
  | { kind: 'not_due'; grant: GrantRecord };

/** What a successful provider revoke left for a later clean-up, if anything. */
export const cleanupLeftBy = (undone: Attempted<void | RevokeResult>): string | null => (undone.ok ? (undone.value?.cleanupPending ?? null) : null);

/** What a provider is told about a stored grant; `email` only decorates (the account is `identity`, fixed at grant time). */
export function subjectFor(grant: GrantRecord, email: string | null): GrantSubject {
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
