// One structured log line per state change, with the request and grant ids; beside the Slack notifier and metrics.
import { grantRef, requestRef } from './core/ids.ts';
import type { AccessEvent, Logger, Notifier } from './core/ports.ts';

/** Ids and names only: reasons are free text, and a provider message may hold credentials. */
function fieldsOf(event: AccessEvent): Record<string, unknown> {
  switch (event.type) {
    case 'request_refused':
      return { user: event.requester, resource: event.resource, tier: event.tier, code: event.code };
    case 'breakglass_review_reminder':
    case 'grant_review_reminder':
      return { grantIds: event.grants.map((g) => grantRef(g.id)) };
    case 'grant_extended':
    case 'grant_expiring':
    case 'grant_ended':
    case 'grant_revoke_failed':
    case 'grant_cleanup_pending':
    case 'grant_cleaned_up':
    case 'breakglass_reviewed':
    case 'grant_review_requested':
    case 'grant_reviewed':
    case 'review_reopened': {
      const g = event.grant;
      return { requestId: requestRef(g.requestId), grantId: grantRef(g.id), user: g.user, resource: g.resource, role: g.role, ...('by' in event ? { by: event.by } : {}), ...('reviewer' in event ? { reviewer: event.reviewer } : {}), ...('outcome' in event ? { outcome: event.outcome } : {}) };
    }
    case 'grant_activated':
      return { requestId: requestRef(event.request.id), grantId: grantRef(event.grant.id), user: event.grant.user, resource: event.grant.resource, role: event.grant.role, breakglass: event.grant.breakglass, expiresAt: new Date(event.grant.expiresAt ?? 0).toISOString() };
    default: {
      const r = event.request;
      return { requestId: requestRef(r.id), user: r.requester, resource: r.resource, role: r.role, tier: r.tier, state: r.state, ...('by' in event ? { by: event.by } : {}) };
    }
  }
}

export function logObserver(log: Logger): Notifier {
  return {
    notify: async (event) => {
      const fields = { event: event.type, ...fieldsOf(event) };
      if (event.type === 'grant_revoke_failed') log.error({ ...fields, problem: event.problem }, event.type);
      else if (event.type === 'grant_cleanup_pending') log.warn({ ...fields, problem: event.problem }, event.type);
      else log.info(fields, event.type);
    },
  };
}
