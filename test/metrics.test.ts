// Metrics observed from the core's events: lateness of expiries, revoke failures, outcomes; fan-out contains failures.
import { describe, expect, it } from 'vitest';
import type { AccessEvent, Notifier } from '../src/core/ports.ts';
import { createMetrics, fanOut, metricsObserver } from '../src/metrics.ts';
import type { GrantRow } from '../src/store/schema.ts';

const aGrant = (overrides: Partial<GrantRow> = {}): GrantRow => ({
  id: 1, requestId: 1, user: 'U1', resource: 'r', role: 'x', provider: { type: 'noop' }, providerState: null, reason: '', breakglass: false, state: 'expired',
  createdAt: 0, startsAt: 0, expiresAt: 10_000, endedAt: 10_120, endedBy: 'sesame', revokeAttempts: 0, reviewedBy: null, reviewedAt: null, cleanupPending: null, dmChannel: null, dmTs: null, identity: null, accessKey: null, reviewFrom: null, reviewLeads: null, reviewVerdict: null, reviewNote: null, reviewCardChannel: null, reviewCardTs: null, ...overrides,
});

describe('metricsObserver', () => {
  it('observes revocation lateness for expiries only, and counts revoke failures', async () => {
    const metrics = createMetrics(() => 7);
    const observer = metricsObserver(metrics);
    await observer.notify({ type: 'grant_ended', grant: aGrant(), outcome: 'expired', by: 'sesame' });
    await observer.notify({ type: 'grant_ended', grant: aGrant({ endedAt: 5_000 }), outcome: 'revoked', by: 'U1' });
    await observer.notify({ type: 'grant_revoke_failed', grant: aGrant({ state: 'revoke_failed' }), problem: 'x' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('sesame_revocation_lateness_seconds_sum 0.12');
    expect(text).toContain('sesame_revocation_lateness_seconds_count 1');
    expect(text).toContain('sesame_revoke_failures_total 1');
    expect(text).toMatch(/^sesame_active_grants 7$/m);
  });
});

describe('fanOut', () => {
  it('tells every notifier even when one fails', async () => {
    const seen: string[] = [];
    const failing: Notifier = { notify: async () => Promise.reject(new Error('slack down')) };
    const recording: Notifier = { notify: async (e: AccessEvent) => void seen.push(e.type) };
    await fanOut(failing, recording).notify({ type: 'request_refused', requester: 'U1', resource: 'r', tier: null, code: 'x' });
    expect(seen).toEqual(['request_refused']);
  });
});
