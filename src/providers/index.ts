// The provider registry: one factory per policy `provider.type`, built by main.ts and handed to the core.
import type { Provider, Providers } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import type { ProviderConfig, ProviderType } from '../policy/schema.ts';
import { createNoopProvider } from './noop.ts';

export type ProviderFactories = { [T in ProviderType]?: (config: Extract<ProviderConfig, { type: T }>) => Provider };

export function createProviders(factories: ProviderFactories = { noop: createNoopProvider }): Providers {
  const shared = new Map<string, Provider>();
  return {
    for(config) {
      const key = JSON.stringify(config);
      let provider = shared.get(key);
      if (!provider) {
        const factory = factories[config.type] as ((c: ProviderConfig) => Provider) | undefined;
        provider = factory ? factory(config) : unavailable(config.type);
        shared.set(key, provider);
      }
      return provider;
    },
  };
}

/** A type the policy may name whose provider this build does not have yet: its grants fail permanently, saying so. */
function unavailable(type: ProviderType): Provider {
  // TODO(#5): webhook, slack_usergroup and postgres providers.
  const fail = async (): Promise<never> => {
    throw new ProviderError(`the ${type} provider is not available in this version of Sesame; use a noop resource meanwhile`, false);
  };
  return { grant: fail, revoke: fail };
}
