// Prometheus metrics of SPEC §9, on a registry per app instance (tests run several apps in one process).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'tier' | 'outcome'>;
  timeToGrant: Histogram;
  revocationLateness: Histogram;
  activeGrants: Gauge;
  revokeFailures: Counter;
  slackApiErrors: Counter<'method'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'sesame_requests_total', help: 'Access requests by tier and outcome', labelNames: ['tier', 'outcome'], registers }),
    timeToGrant: new Histogram({ name: 'sesame_time_to_grant_seconds', help: 'From request to active grant', buckets: [0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600], registers }),
    revocationLateness: new Histogram({ name: 'sesame_revocation_lateness_seconds', help: 'Actual revoke time minus expires_at', buckets: [0.01, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 5, 30, 60, 300], registers }),
    activeGrants: new Gauge({ name: 'sesame_active_grants', help: 'Grants currently active', registers }),
    revokeFailures: new Counter({ name: 'sesame_revoke_failures_total', help: 'Revocations that failed after their retries', registers }),
    slackApiErrors: new Counter({ name: 'sesame_slack_api_errors_total', help: 'Slack Web API calls that failed, by method', labelNames: ['method'], registers }),
  };
}
