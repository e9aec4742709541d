// Prometheus metrics of SPEC §9, on a registry per app instance (tests run several apps in one process).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AccessEvent, Notifier } from './core/ports.ts';

export interface Metrics {
  registry: Registry;
  requests: Counter<'tier' | 'outcome'>;
  timeToGrant: Histogram;
  revocationLateness: Histogram;
  activeGrants: Gauge;
  reviewsPending: Gauge;
  revokeFailures: Counter;
  slackApiErrors: Counter<'method'>;
  auditStreamLag: Gauge;
}

/**
 * @param countActiveGrants read at every scrape, so the gauge is the database's truth, not a running tally (so are the others).
 * @param auditStreamLag entries settings.audit_stream has not acknowledged yet (0 when there is no stream).
 * @param countPendingReviews reviews not yet done: break-glass uses and ended grants of tiers with review.
 */
type Count = () => number | Promise<number>;

export function createMetrics(countActiveGrants: Count = () => 0, auditStreamLag: Count = () => 0, countPendingReviews: Count = () => 0): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'sesame_requests_total', help: 'Access requests by tier and outcome', labelNames: ['tier', 'outcome'], registers }),
    timeToGrant: new Histogram({ name: 'sesame_time_to_grant_seconds', help: 'From request to active grant', buckets: [0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600], registers }),
    revocationLateness: new Histogram({ name: 'sesame_revocation_lateness_seconds', help: 'Actual revoke time minus expires_at', buckets: [0.01, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 5, 30, 60, 300], registers }),
    activeGrants: new Gauge({
      name: 'sesame_active_grants',
      help: 'Grants currently active',
      registers,
      async collect() {
        this.set(await countActiveGrants());
      },
    }),
    reviewsPending: new Gauge({
      name: 'sesame_reviews_pending',
      help: 'Reviews not yet done: break-glass uses and ended grants of tiers with review',
      registers,
      async collect() {
        this.set(await countPendingReviews());
      },
    }),
    revokeFailures: new Counter({ name: 'sesame_revoke_failures_total', help: 'Revocations that failed after their retries', registers }),
    slackApiErrors: new Counter({ name: 'sesame_slack_api_errors_total', help: 'Slack Web API calls that failed, by method', labelNames: ['method'], registers }),
    auditStreamLag: new Gauge({
      name: 'sesame_audit_stream_lag_entries',
      help: 'Audit entries not yet acknowledged by the audit_stream receiver',
      registers,
      async collect() {
        this.set(await auditStreamLag());
      },
    }),
  };
}

/** The request events that end (or park) a request, as the `outcome` label. */
const REQUEST_OUTCOMES: Partial<Record<AccessEvent['type'], string>> = {
  request_pending: 'pending',
  request_approved: 'approved',
  request_scheduled: 'scheduled',
  request_denied: 'denied',
  request_cancelled: 'cancelled',
  request_timed_out: 'timed_out',
  request_failed: 'failed',
};

/** Observes the core's events into the metrics; sits beside the Slack notifier. */
export function metricsObserver(metrics: Metrics): Notifier {
  const count = (tier: string | null, outcome: string) => metrics.requests.inc({ tier: tier ?? 'none', outcome });
  const observe = (event: AccessEvent): void => {
    if (event.type === 'request_refused') return count(event.tier, 'refused');
    const outcome = REQUEST_OUTCOMES[event.type];
    if (outcome !== undefined && 'request' in event) return count(event.request.tier, outcome);
    switch (event.type) {
      case 'grant_activated':
        if (event.request.breakglass) count(event.request.tier, 'breakglass');
        else if (event.request.decidedBy === 'policy') count(event.request.tier, 'auto_approved');
        // A scheduled window waits for its start by choice: that is no time spent waiting for Sesame.
        if (event.request.startsAt === null) metrics.timeToGrant.observe(((event.grant.startsAt ?? event.request.createdAt) - event.request.createdAt) / 1000);
        return;
      case 'grant_ended':
        if (event.outcome === 'expired' && event.grant.endedAt !== null && event.grant.expiresAt !== null) {
          metrics.revocationLateness.observe((event.grant.endedAt - event.grant.expiresAt) / 1000);
        }
        return;
      case 'grant_revoke_failed':
        metrics.revokeFailures.inc();
        return;
      default:
        return;
    }
  };
  return { notify: async (event) => observe(event) };
}

/** Tells every notifier, each failure contained, so a Slack outage never hides a metric or the other way round. */
export function fanOut(...notifiers: Notifier[]): Notifier {
  return {
    notify: async (event) => void (await Promise.allSettled(notifiers.map((n) => n.notify(event)))),
    close: async () => void (await Promise.allSettled(notifiers.map((n) => n.close?.()))),
  };
}
