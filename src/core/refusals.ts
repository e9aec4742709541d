// Audits a refused attempt: whoever tries something and is told no leaves one entry, with the code and the id they named.
import type { Json } from './canonical-json.ts';
import type { Decision } from '../policy/decide.ts';
import type { AuditAction } from './audit-entry.ts';
import type { StorePort } from './store-port.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { ReplayDetails } from './audit-details.ts';
import type { DomainError } from './errors.ts';
import { grantRef, requestRef } from './ids.ts';
import type { AccessEvent, Clock } from './ports.ts';
import { err } from './result.ts';

export type RefusalAction = Extract<AuditAction, `${string}_refused` | `${string}.refused`>;

export interface Refusal {
  actor: string;
  action: RefusalAction;
  requestId?: string | null;
  grantId?: string | null;
  error: DomainError;
  /** More to record, e.g. the state the row was in. */
  details?: { [key: string]: Json | undefined };
}

type Refused = { ok: false; error: DomainError };

/** Writes the refusal's entry and hands the error back, so a caller can `return refuse(...)`. */
export async function auditRefusal(store: StorePort, now: Date, refusal: Refusal): Promise<Refused> {
  await store.audit(now, {
    actor: refusal.actor,
    action: refusal.action,
    requestId: refusal.requestId ?? null,
    grantId: refusal.grantId ?? null,
    details: { code: refusal.error.code, ...refusal.details },
  });
  return err(refusal.error);
}

/** The refusals the access service makes, each audited (and a refused request announced) before the error is returned. */
export class RefusalLog {
  constructor(
    private readonly store: StorePort,
    private readonly clock: Clock,
    private readonly notify: (event: AccessEvent) => Promise<void>,
  ) {}

  refuse(refusal: Refusal): Promise<Refused> {
    return auditRefusal(this.store, this.clock.now(), refusal);
  }

  /** A refused action on a grant, or on an id naming none, with the state the grant was in. */
  onGrant(action: RefusalAction, actor: string, grantId: number, grant: GrantRecord | undefined, error: DomainError): Promise<Refused> {
    return this.refuse({ actor, action, requestId: grant ? requestRef(grant.requestId) : null, grantId: grantRef(grantId), error, details: grant ? { state: grant.state } : {} });
  }

  /** An approve or deny click that may not count. */
  click(request: RequestRecord, clicker: string, error: DomainError): Promise<Refused> {
    return this.refuse({ actor: clicker, action: 'approval.refused', requestId: requestRef(request.id), error, details: { state: request.state, step: request.currentStep } });
  }

  /** A request (or an extension of `extending`) the policy, or a missing scheduler, refuses. */
  /** `replay`: what `policy replay` needs to re-decide the refused request (the requester's groups and standing, the channel name). */
  async request(
    input: { requester: string; resource: string; role?: string | undefined; breakglass?: boolean | undefined; duration?: number | undefined; reason?: string | undefined; startsAt?: number | undefined },
    refusal: { error: DomainError; rule?: Decision['rule'] },
    extending: GrantRecord | null,
    replay: ReplayDetails,
  ): Promise<Refused> {
    const rule = refusal.rule;
    const ids = { requestId: extending ? requestRef(extending.requestId) : null, grantId: extending ? grantRef(extending.id) : null };
    const details = { resource: input.resource, role: input.role ?? null, rule: rule ? `${rule.path.join('.')}: ${rule.why}` : null, breakglass: input.breakglass ?? false, duration_ms: input.duration, reason: input.reason, starts_at: input.startsAt === undefined ? undefined : new Date(input.startsAt).toISOString(), ...replay };
    const refused = await this.refuse({ actor: input.requester, action: extending ? 'grant.extend_refused' : 'request.refused', ...ids, error: refusal.error, details });
    const tier = rule?.path[0] === 'tiers' ? String(rule.path[1]) : null;
    await this.notify({ type: 'request_refused', requester: input.requester, resource: input.resource, tier, code: refusal.error.code });
    return refused;
  }
}
