// Audits a refused attempt: whoever tries something and is told no leaves one entry, with the code and the id they named.
import type { Store } from '../store/repositories.ts';
import type { AuditAction } from '../store/audit.ts';
import type { DomainError } from './errors.ts';
import { err } from './result.ts';

export type RefusalAction = Extract<AuditAction, `${string}_refused` | `${string}.refused`>;

export interface Refusal {
  actor: string;
  action: RefusalAction;
  requestId?: string | null;
  grantId?: string | null;
  error: DomainError;
  /** More to record, e.g. the state the row was in. */
  details?: Record<string, string | number | boolean | null>;
}

/** Writes the refusal's entry and hands the error back, so a caller can `return refuse(...)`. */
export function auditRefusal(store: Store, now: Date, refusal: Refusal): { ok: false; error: DomainError } {
  store.audit(now, {
    actor: refusal.actor,
    action: refusal.action,
    requestId: refusal.requestId ?? null,
    grantId: refusal.grantId ?? null,
    details: { code: refusal.error.code, ...refusal.details },
  });
  return err(refusal.error);
}
