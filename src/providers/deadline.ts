// Every provider call ends: one that has not answered within the deadline fails (retryably), whatever the provider does.
import type { Provider, Providers } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';

/**
 * Per call, not per grant: the core retries a timed-out call, so a grant whose provider never answers becomes
 * `revoke_failed` (admins alerted) after attempts × deadline. Longer than the webhook's own 5 s timeout, so a
 * provider's own, more precise message wins where it has one.
 */
export const DEFAULT_PROVIDER_DEADLINE_MS = 30_000;

type Operation = 'grant' | 'revoke' | 'check' | 'extend' | 'sweep';

/** The call's own promise is left to settle; its late result is ignored, since the core has moved on. */
function bounded<T>(call: () => Promise<T>, what: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ProviderError(`${what} did not answer within ${ms / 1000} s; it will be tried again`, true)), ms);
    Promise.resolve().then(call).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function withDeadline(provider: Provider, type: string, ms: number): Provider {
  const run = <T>(op: Operation, call: () => Promise<T>) => bounded(call, `the ${type} provider's ${op}`, ms);
  const { check, extend, accessKey, sweep } = provider;
  return {
    // What the core asks before any call (whose account, which shared access) passes through unchanged.
    ...(provider.identity !== undefined ? { identity: provider.identity } : {}),
    ...(accessKey ? { accessKey: (subject) => accessKey.call(provider, subject) } : {}),
    ...(sweep ? { sweep: (isLive) => run('sweep', () => sweep.call(provider, isLive)) } : {}),
    grant: (subject) => run('grant', () => provider.grant(subject)),
    revoke: (subject) => run('revoke', () => provider.revoke(subject)),
    ...(check ? { check: (subject) => run('check', () => check.call(provider, subject)) } : {}),
    ...(extend ? { extend: (subject) => run('extend', () => extend.call(provider, subject)) } : {}),
    ...(provider.close ? { close: () => provider.close?.() ?? Promise.resolve() } : {}),
  };
}

/** The same providers, each call bounded by `ms`. */
export function withDeadlines(providers: Providers, ms: number = DEFAULT_PROVIDER_DEADLINE_MS): Providers {
  const wrapped = new WeakMap<Provider, Provider>();
  return {
    for(config) {
      const provider = providers.for(config);
      let bound = wrapped.get(provider);
      if (!bound) {
        bound = withDeadline(provider, config.type, ms);
        wrapped.set(provider, bound);
      }
      return bound;
    },
    ...(providers.close ? { close: () => providers.close?.() ?? Promise.resolve() } : {}),
  };
}
